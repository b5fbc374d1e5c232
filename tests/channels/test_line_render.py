"""LINE rendering at every documented limit: 0, 1, the maximum and one more."""

from __future__ import annotations

from decimal import Decimal

import pytest
from linebot.v3.messaging import FlexContainer, PushMessageRequest

from engine.channels.errors import InvalidMessageError, MessageTooLargeError
from engine.channels.line.render import json_size, render
from engine.channels.messages import Buttons, Carousel, Image, Option, SeeAll, Text
from engine.channels.prices import format_price
from tests.channels.parts import CART_URL, card, carousel

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


def bubbles_of(message: dict) -> list[dict]:
    return message["contents"]["contents"]


def texts_of(bubble: dict) -> list[str]:
    return [item["text"] for item in bubble["body"]["contents"]]


# --- parts per push --------------------------------------------------------------


def test_render_refuses_empty_message() -> None:
    # when / then
    with pytest.raises(InvalidMessageError) as refused:
        render(())
    assert refused.value.limit == 1


@pytest.mark.parametrize("count", [1, 5])
def test_render_accepts_one_to_five_parts(count: int) -> None:
    # when
    messages = render(tuple(Text(f"Line {i}") for i in range(count)))

    # then
    assert [m["text"] for m in messages] == [f"Line {i}" for i in range(count)]


def test_render_refuses_six_parts_rather_than_dropping_one() -> None:
    # when / then
    with pytest.raises(MessageTooLargeError) as refused:
        render(tuple(Text("hi") for _ in range(6)))
    assert refused.value.limit == 5
    assert refused.value.code == "message_too_large"
    assert "6 parts" in refused.value.reason


# --- text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["a" * 5000, "茶" * 5000, "a" * 4998 + "🍎"], ids=["ascii", "cjk", "emoji"]
)
def test_render_text_at_limit(text: str) -> None:
    # when / then
    assert render((Text(text),)) == [{"type": "text", "text": text}]


@pytest.mark.parametrize(
    "text", ["a" * 5001, "a" * 4999 + "🍎"], ids=["ascii", "emoji"]
)
def test_render_text_over_limit_is_refused(text: str) -> None:
    # when / then: a message's text is never cut
    with pytest.raises(MessageTooLargeError) as refused:
        render((Text(text),))
    assert refused.value.part == "part 1 (Text)"
    assert refused.value.limit == 5000


def test_render_blank_text_is_refused() -> None:
    with pytest.raises(InvalidMessageError):
        render((Text("  "),))


# --- carousels ---------------------------------------------------------------------


def test_render_carousel_without_cards_is_refused() -> None:
    with pytest.raises(InvalidMessageError) as refused:
        render((Carousel((), "Your cart"),))
    assert refused.value.part == "part 1 (Carousel)"


def test_render_carousel_of_one_card() -> None:
    # when
    (message,) = render((carousel(1),))

    # then
    assert message["type"] == "flex"
    assert message["altText"] == "Your cart is waiting"
    (bubble,) = bubbles_of(message)
    assert texts_of(bubble) == ["Alishan Oolong 1", "150 g tin", "NT$1,290"]
    assert bubble["hero"]["url"] == (
        "https://cdn.shopify.com/s/files/1/0001/products/oolong.jpg?v=1"
    )
    button = bubble["footer"]["contents"][0]["action"]
    assert button == {"type": "uri", "label": "Check out", "uri": CART_URL}


def test_render_carousel_of_twelve_cards_has_no_see_all() -> None:
    # when
    (message,) = render((carousel(12, see_all_total=12),))

    # then
    titles = [texts_of(b)[0] for b in bubbles_of(message)]
    assert titles == [f"Alishan Oolong {i}" for i in range(1, 13)]


def test_render_thirteen_cards_end_with_see_all_card() -> None:
    # when
    (message,) = render((carousel(13, see_all_total=13),))

    # then 11 products and the see-all card make the 12 bubbles
    bubbles = bubbles_of(message)
    assert len(bubbles) == 12
    assert texts_of(bubbles[10])[0] == "Alishan Oolong 11"
    assert texts_of(bubbles[11]) == ["See all 13 items"]
    assert bubbles[11]["footer"]["contents"][0]["action"]["uri"] == CART_URL


def test_render_cart_larger_than_cards_given_gets_see_all() -> None:
    # given 3 cards of a 30-item cart
    # when
    (message,) = render((carousel(3, see_all_total=30),))

    # then
    assert [texts_of(b)[0] for b in bubbles_of(message)] == [
        "Alishan Oolong 1",
        "Alishan Oolong 2",
        "Alishan Oolong 3",
        "See all 30 items",
    ]


def test_render_thirteen_cards_without_see_all_keeps_twelve() -> None:
    # when
    (message,) = render((carousel(13),))

    # then
    assert len(bubbles_of(message)) == 12
    assert texts_of(bubbles_of(message)[-1])[0] == "Alishan Oolong 12"


def test_render_title_at_limit_is_kept() -> None:
    # given 40 UTF-16 units: 38 CJK characters and one emoji
    title = "烏" * 38 + "🍵"

    # when
    (message,) = render((Carousel((card(title=title),), "Cart"),))

    # then
    assert texts_of(bubbles_of(message)[0])[0] == title


def test_render_title_over_limit_is_cut_with_ellipsis() -> None:
    # given 41 units: the emoji would cross the limit
    title = "烏" * 39 + "🍵"

    # when
    (message,) = render((Carousel((card(title=title),), "Cart"),))

    # then
    assert texts_of(bubbles_of(message)[0])[0] == "烏" * 39 + "…"


def test_render_card_without_image_or_description_gets_placeholder() -> None:
    # given a deleted product's card: no image, no subtitle
    bare = card(title="烏龍茶", subtitle=None, image_url=None)

    # when
    (message,) = render((Carousel((bare,), "Cart"),))

    # then a tile with the first character, and no empty text
    (bubble,) = bubbles_of(message)
    assert bubble["hero"]["type"] == "box"
    assert bubble["hero"]["contents"][0]["text"] == "烏"
    assert texts_of(bubble) == ["烏龍茶", "NT$1,290"]


@pytest.mark.parametrize(
    "image_url",
    [
        "http://cdn.example.com/tea.jpg",
        "https://cdn.example.com/tea.webp",
        "https://cdn.example.com/" + "a" * 2000 + ".png",
    ],
)
def test_render_card_with_unusable_image_gets_placeholder(image_url: str) -> None:
    # when
    (message,) = render((Carousel((card(image_url=image_url),), "Cart"),))

    # then
    assert bubbles_of(message)[0]["hero"]["type"] == "box"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("1290", "TWD", "zh-TW", "NT$1,290"),
        ("1290", "JPY", "ja-JP", "¥1,290"),
        ("12.9", "USD", "en-US", "$12.90"),
    ],
)
def test_render_card_shows_price_in_shop_currency(
    amount: str, currency: str, locale: str, shown: str
) -> None:
    # given
    price = format_price(Decimal(amount), currency, locale)

    # when
    (message,) = render((Carousel((card(price_text=price),), "Cart"),))

    # then
    assert texts_of(bubbles_of(message)[0])[-1] == shown


def test_render_alt_text_at_limit_is_kept() -> None:
    # given 1,500 units ending in an emoji
    alt = "a" * 1498 + "🛒"

    # when
    (message,) = render((Carousel((card(),), alt),))

    # then
    assert message["altText"] == alt


def test_render_alt_text_over_limit_is_cut() -> None:
    # given 1,501 units
    alt = "a" * 1499 + "🛒"

    # when
    (message,) = render((Carousel((card(),), alt),))

    # then
    assert message["altText"] == "a" * 1499 + "…"


def test_render_carousel_without_alt_text_is_refused() -> None:
    with pytest.raises(InvalidMessageError):
        render((Carousel((card(),), " "),))


def test_render_carousel_over_50kb_gives_up_cards_before_see_all() -> None:
    # given 12 cards whose links are 4,000 characters: 12 bubbles > 50 KB
    long_url = CART_URL + "&pad=" + "x" * (4000 - len(CART_URL) - 5)
    heavy = tuple(card(i, button_url=long_url) for i in range(1, 21))
    see_all = SeeAll("See all 20 items", CART_URL, 20)

    # when
    (message,) = render((Carousel(heavy, "Cart", see_all),))

    # then it fits, and still ends with the see-all card
    contents = message["contents"]
    assert json_size(contents) <= 50_000
    assert len(contents["contents"]) == 11
    assert texts_of(contents["contents"][-1]) == ["See all 20 items"]


def test_render_carousel_over_50kb_without_see_all_is_refused() -> None:
    # given
    long_url = CART_URL + "&pad=" + "x" * (4000 - len(CART_URL) - 5)
    heavy = tuple(card(i, button_url=long_url) for i in range(1, 13))

    # when / then
    with pytest.raises(MessageTooLargeError) as refused:
        render((Carousel(heavy, "Cart"),))
    assert refused.value.limit == 50_000


def test_render_link_over_uri_limit_is_refused() -> None:
    # given a checkout link of 10,001 characters
    url = CART_URL + "&pad=" + "x" * (10_001 - len(CART_URL) - 5)

    # when / then: a cut link would lead nowhere
    with pytest.raises(InvalidMessageError) as refused:
        render((Carousel((card(button_url=url),), "Cart"),))
    assert refused.value.limit == 10_000


def test_render_card_output_round_trips_through_sdk_models() -> None:
    # given a full carousel, placeholders and all
    parts = (carousel(13, see_all_total=40),)
    (message,) = render(parts)

    # when the SDK parses and serializes it, as it will when sending
    serialized = FlexContainer.from_dict(message["contents"]).to_dict()

    # then it sends exactly what we measured
    assert serialized == message["contents"]


# --- images ------------------------------------------------------------------------


def test_render_image_uses_url_as_preview_and_encodes_it() -> None:
    # when
    (message,) = render((Image("https://cdn.example.com/茶 葉.png"),))

    # then
    encoded = "https://cdn.example.com/%E8%8C%B6%20%E8%91%89.png"
    assert message == {
        "type": "image",
        "originalContentUrl": encoded,
        "previewImageUrl": encoded,
    }


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://cdn.example.com/" + "a" * (2000 - 28) + ".png", True),
        ("https://cdn.example.com/" + "a" * (2001 - 28) + ".png", False),
        ("http://cdn.example.com/tea.jpg", False),
        ("https://cdn.example.com/tea.gif", False),
    ],
    ids=["2000-chars", "2001-chars", "http", "gif"],
)
def test_render_image_url_rules(url: str, accepted: bool) -> None:
    if accepted:
        assert render((Image(url),))[0]["originalContentUrl"] == url
    else:
        with pytest.raises(InvalidMessageError):
            render((Image(url),))


# --- quick replies ----------------------------------------------------------------


def options(count: int) -> tuple[Option, ...]:
    return tuple(Option(f"Choice {i}", postback=f"choice={i}") for i in range(count))


def test_render_buttons_become_quick_replies_on_last_message() -> None:
    # given
    parts = (
        Buttons("Still thinking?", (Option("No thanks", postback="snooze=30d"),)),
        carousel(1),
    )

    # when
    question, flex = render(parts)

    # then
    assert question == {"type": "text", "text": "Still thinking?"}
    assert flex["quickReply"] == {
        "items": [
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": "No thanks",
                    "data": "snooze=30d",
                    "displayText": "No thanks",
                },
            }
        ]
    }


@pytest.mark.parametrize("count", [1, 13])
def test_render_quick_replies_up_to_thirteen(count: int) -> None:
    # when
    (message,) = render((Buttons("Pick one", options(count)),))

    # then
    assert len(message["quickReply"]["items"]) == count


@pytest.mark.parametrize("count", [0, 14])
def test_render_quick_replies_outside_one_to_thirteen_refused(count: int) -> None:
    with pytest.raises(MessageTooLargeError) as refused:
        render((Buttons("Pick one", options(count)),))
    assert refused.value.limit == 13


def test_render_quick_reply_labels_count_graphemes() -> None:
    # given 20 and 21 family emoji (each 11 UTF-16 units)
    parts = (
        Buttons(
            "Pick",
            (Option(FAMILY * 20, postback="a"), Option(FAMILY * 21, postback="b")),
        ),
    )

    # when
    items = render(parts)[0]["quickReply"]["items"]

    # then
    assert items[0]["action"]["label"] == FAMILY * 20
    assert items[1]["action"]["label"] == FAMILY * 19 + "…"


def test_render_link_option_becomes_uri_quick_reply() -> None:
    # when
    (message,) = render((Buttons("Open?", (Option("Open cart", url=CART_URL),)),))

    # then
    assert message["quickReply"]["items"][0]["action"] == {
        "type": "uri",
        "label": "Open cart",
        "uri": CART_URL,
    }


@pytest.mark.parametrize(("length", "accepted"), [(300, True), (301, False)])
def test_render_postback_data_limit(length: int, accepted: bool) -> None:
    # given
    parts = (Buttons("Pick", (Option("Go", postback="d" * length),)),)

    # when / then: data is read back by our webhook, so it is never cut
    if accepted:
        assert render(parts)[0]["quickReply"]["items"][0]["action"]["data"] == (
            "d" * 300
        )
    else:
        with pytest.raises(MessageTooLargeError):
            render(parts)


def test_render_two_buttons_parts_refused() -> None:
    # given
    question = Buttons("Pick", options(1))

    # when / then: LINE shows one set of quick replies
    with pytest.raises(InvalidMessageError) as refused:
        render((question, question))
    assert refused.value.part == "part 2 (Buttons)"


def test_render_output_passes_sdk_push_request_validation() -> None:
    # given every kind of part at once
    parts = (
        Text("哈囉 👋"),
        carousel(2, see_all_total=5),
        Image("https://cdn.example.com/banner.png"),
        Buttons("Still thinking?", options(13)),
    )

    # when
    request = PushMessageRequest.from_dict(
        {"to": "U" + "0" * 32, "messages": render(parts)}
    )

    # then
    assert len(request.messages) == 4
