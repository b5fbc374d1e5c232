"""Messenger rendering at every documented limit: 0, 1, the maximum and one more."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.channels.errors import InvalidMessageError, MessageTooLargeError
from engine.channels.messages import Buttons, Carousel, Image, Option, Text
from engine.channels.messenger.render import render
from engine.channels.prices import format_price
from tests.channels.parts import CART_URL, IMAGE_URL, card, carousel


def elements_of(message: dict) -> list[dict]:
    return message["attachment"]["payload"]["elements"]


def test_render_refuses_empty_and_six_part_messages() -> None:
    with pytest.raises(InvalidMessageError):
        render(())
    with pytest.raises(MessageTooLargeError) as refused:
        render(tuple(Text("hi") for _ in range(6)))
    assert refused.value.limit == 5


def test_render_one_message_per_part_in_order() -> None:
    # when
    messages = render(
        (Text("one"), Image("https://cdn.example.com/a.jpg"), Text("two"))
    )

    # then
    assert messages == [
        {"text": "one"},
        {
            "attachment": {
                "type": "image",
                "payload": {
                    "url": "https://cdn.example.com/a.jpg",
                    "is_reusable": True,
                },
            }
        },
        {"text": "two"},
    ]


@pytest.mark.parametrize(
    ("text", "accepted"),
    [("a" * 2000, True), ("a" * 1998 + "😀", True), ("a" * 1999 + "😀", False)],
    ids=["2000", "emoji-at-2000", "emoji-over"],
)
def test_render_text_limit(text: str, accepted: bool) -> None:
    if accepted:
        assert render((Text(text),)) == [{"text": text}]
    else:
        with pytest.raises(MessageTooLargeError) as refused:
            render((Text(text),))
        assert refused.value.limit == 2000


def test_render_generic_template_of_one_card() -> None:
    # when
    (message,) = render((carousel(1),))

    # then
    assert message["attachment"]["payload"]["template_type"] == "generic"
    assert elements_of(message) == [
        {
            "title": "Alishan Oolong 1",
            "subtitle": "NT$1,290 · 150 g tin",
            "image_url": IMAGE_URL,
            "default_action": {"type": "web_url", "url": CART_URL},
            "buttons": [{"type": "web_url", "url": CART_URL, "title": "Check out"}],
        }
    ]


def test_render_ten_cards_fill_the_template() -> None:
    # when
    (message,) = render((carousel(10, see_all_total=10),))

    # then
    titles = [element["title"] for element in elements_of(message)]
    assert titles == [f"Alishan Oolong {i}" for i in range(1, 11)]


def test_render_eleven_cards_end_with_see_all_element() -> None:
    # when
    (message,) = render((carousel(11, see_all_total=11),))

    # then
    elements = elements_of(message)
    assert len(elements) == 10
    assert elements[8]["title"] == "Alishan Oolong 9"
    assert elements[9] == {
        "title": "See all 11 items",
        "default_action": {"type": "web_url", "url": CART_URL},
        "buttons": [{"type": "web_url", "url": CART_URL, "title": "See all 11 items"}],
    }


def test_render_carousel_without_cards_is_refused() -> None:
    with pytest.raises(InvalidMessageError):
        render((Carousel((), "Cart"),))


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("茶" * 80, "茶" * 80),
        ("茶" * 81, "茶" * 79 + "…"),
        ("茶" * 79 + "🍵", "茶" * 79 + "…"),
    ],
    ids=["at-limit", "over", "emoji-crossing"],
)
def test_render_element_title_limit(title: str, shown: str) -> None:
    # when
    (message,) = render((Carousel((card(title=title),), "Cart"),))

    # then
    assert elements_of(message)[0]["title"] == shown


def test_render_subtitle_keeps_price_first_when_cut() -> None:
    # given a long description
    long_card = card(subtitle="Hand-picked " * 10)

    # when
    (message,) = render((Carousel((long_card,), "Cart"),))

    # then
    subtitle = elements_of(message)[0]["subtitle"]
    assert subtitle.startswith("NT$1,290 · Hand-picked")
    assert len(subtitle) == 80
    assert subtitle.endswith("…")


def test_render_card_without_image_or_description() -> None:
    # when
    (message,) = render((Carousel((card(subtitle=None, image_url=None),), "Cart"),))

    # then a text-only card with the price
    element = elements_of(message)[0]
    assert "image_url" not in element
    assert element["subtitle"] == "NT$1,290"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("1290", "TWD", "zh-TW", "NT$1,290"),
        ("1290", "JPY", "ja-JP", "¥1,290"),
        ("12.9", "USD", "en-US", "$12.90"),
    ],
)
def test_render_card_price_in_shop_currency(
    amount: str, currency: str, locale: str, shown: str
) -> None:
    # given
    priced = card(
        subtitle=None, price_text=format_price(Decimal(amount), currency, locale)
    )

    # when
    (message,) = render((Carousel((priced,), "Cart"),))

    # then
    assert elements_of(message)[0]["subtitle"] == shown


def test_render_button_title_over_twenty_is_cut() -> None:
    # when
    (message,) = render(
        (Carousel((card(button_label="Complete my order now!"),), "C"),)
    )

    # then
    assert elements_of(message)[0]["buttons"][0]["title"] == "Complete my order n…"


def postbacks(count: int) -> tuple[Option, ...]:
    return tuple(Option(f"Choice {i}", postback=f"choice={i}") for i in range(count))


@pytest.mark.parametrize("count", [1, 13])
def test_render_postback_options_become_quick_replies(count: int) -> None:
    # when
    (message,) = render((Buttons("Pick one", postbacks(count)),))

    # then
    assert message["text"] == "Pick one"
    assert message["quick_replies"][0] == {
        "content_type": "text",
        "title": "Choice 0",
        "payload": "choice=0",
    }
    assert len(message["quick_replies"]) == count


@pytest.mark.parametrize("count", [0, 14])
def test_render_quick_replies_outside_one_to_thirteen_refused(count: int) -> None:
    with pytest.raises(InvalidMessageError):
        render((Buttons("Pick one", postbacks(count)),))


def test_render_quick_reply_title_cut_at_twenty() -> None:
    # given 21 characters
    label = "不用了，謝謝你的提醒喔我三十天後再來看看吧"

    # when
    (message,) = render((Buttons("Pick", (Option(label, postback="no"),)),))

    # then
    assert (
        message["quick_replies"][0]["title"]
        == "不用了，謝謝你的提醒喔我三十天後再來看…"
    )


@pytest.mark.parametrize("count", [1, 3])
def test_render_options_with_link_become_button_template(count: int) -> None:
    # given
    options = (Option("Open cart", url=CART_URL), *postbacks(count - 1))

    # when
    (message,) = render((Buttons("Ready?", options),))

    # then
    payload = message["attachment"]["payload"]
    assert payload["template_type"] == "button"
    assert payload["text"] == "Ready?"
    assert payload["buttons"][0] == {
        "type": "web_url",
        "url": CART_URL,
        "title": "Open cart",
    }
    assert len(payload["buttons"]) == count


def test_render_four_options_with_link_refused() -> None:
    # given
    options = (Option("Open cart", url=CART_URL), *postbacks(3))

    # when / then
    with pytest.raises(MessageTooLargeError) as refused:
        render((Buttons("Ready?", options),))
    assert refused.value.limit == 3


def test_render_button_template_text_over_640_refused() -> None:
    with pytest.raises(MessageTooLargeError):
        render((Buttons("a" * 641, (Option("Open", url=CART_URL),)),))


@pytest.mark.parametrize(("length", "accepted"), [(1000, True), (1001, False)])
def test_render_quick_reply_payload_limit(length: int, accepted: bool) -> None:
    parts = (Buttons("Pick", (Option("Go", postback="p" * length),)),)
    if accepted:
        assert render(parts)[0]["quick_replies"][0]["payload"] == "p" * 1000
    else:
        with pytest.raises(InvalidMessageError):
            render(parts)


def test_render_image_must_be_https_jpeg_or_png() -> None:
    with pytest.raises(InvalidMessageError):
        render((Image("http://cdn.example.com/a.jpg"),))
    with pytest.raises(InvalidMessageError):
        render((Image("https://cdn.example.com/a.webp"),))
