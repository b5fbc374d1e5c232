"""A step's message: checks on save, variables and parts at send time."""

from __future__ import annotations

import pytest

from engine.channels.messages import Buttons, Carousel, Text
from engine.reminders.content import (
    CartItem,
    CartView,
    build_parts,
    fill_variables,
    validate_message,
)
from engine.reminders.errors import FlowValidationError

VALUES = {
    "first_name": "Mei",
    "cart_total": "NT$1,130",
    "item_count": "2",
    "shop_name": "Tea House",
}


def test_fill_variables_puts_values_in() -> None:
    text = fill_variables("Hi {first_name}, {item_count} items ({cart_total})", VALUES)

    assert text == "Hi Mei, 2 items (NT$1,130)"


def test_fill_variables_uses_the_fallback_for_a_missing_value() -> None:
    values = {**VALUES, "first_name": None}

    text = fill_variables("Hi {first_name|there}, welcome back", values)

    assert text == "Hi there, welcome back"


def test_fill_variables_leaves_a_missing_value_out_tidily() -> None:
    values = {**VALUES, "first_name": None}

    assert fill_variables("Hi {first_name}, welcome back", values) == "Hi, welcome back"


def test_fill_variables_keeps_cjk_and_emoji() -> None:
    text = fill_variables(
        "{first_name}您好 🍵 {shop_name}", {**VALUES, "first_name": "美"}
    )

    assert text == "美您好 🍵 Tea House"


def test_validate_message_refuses_an_unknown_variable_naming_the_field() -> None:
    with pytest.raises(FlowValidationError) as refused:
        validate_message(
            [{"type": "text", "text": "Hi {nickname}"}], "steps[0].message"
        )

    assert refused.value.field == "steps[0].message[0].text"
    assert "{nickname}" in refused.value.message


@pytest.mark.parametrize(
    ("channel", "limit", "owner"),
    [
        ("line", 5000, "LINE"),
        ("messenger", 2000, "Messenger"),
        (None, 2000, "Messenger, where this any-channel step may go,"),
    ],
)
def test_validate_message_holds_text_to_the_steps_channel(
    channel: str | None, limit: int, owner: str
) -> None:
    # given texts at the channel's limit and one over it (an emoji counts two)
    at_limit = [{"type": "text", "text": "好" * (limit - 2) + "🍵"}]
    over = [{"type": "text", "text": "好" * (limit - 1) + "🍵"}]

    # when / then
    assert validate_message(at_limit, "m", channel) == at_limit
    with pytest.raises(FlowValidationError) as refused:
        validate_message(over, "m", channel)
    assert refused.value.field == "m[0].text"
    assert refused.value.message == (
        f"Text of {limit + 1} characters is too long: {owner} takes at most {limit}."
    )


def test_validate_message_refuses_more_parts_than_one_push_takes() -> None:
    six = [{"type": "text", "text": "hello"}] * 6

    with pytest.raises(FlowValidationError) as refused:
        validate_message(six, "steps[1].message")

    assert refused.value.field == "steps[1].message"
    assert "at most 5" in refused.value.message


def test_validate_message_refuses_an_image_that_is_not_https() -> None:
    with pytest.raises(FlowValidationError) as refused:
        validate_message(
            [{"type": "image", "url": "http://cdn.example.com/a.jpg"}], "m"
        )

    assert refused.value.field == "m[0].url"


def test_validate_message_refuses_an_option_with_both_link_and_postback() -> None:
    option = {"label": "Go", "url": "{checkout_url}", "postback": "x"}

    with pytest.raises(FlowValidationError) as refused:
        validate_message(
            [{"type": "buttons", "text": "Pick", "options": [option]}], "m"
        )

    assert refused.value.field == "m[0].options[0]"


def test_build_parts_fills_text_cards_and_buttons_with_the_tracked_link() -> None:
    # given
    message = validate_message(
        [
            {"type": "text", "text": "Hi {first_name}: {checkout_url}"},
            {"type": "carousel"},
            {
                "type": "buttons",
                "text": "{shop_name}",
                "options": [
                    {"label": "Buy", "url": "{checkout_url}"},
                    {"label": "No thanks", "postback": "no"},
                ],
            },
        ],
        "m",
    )
    view = CartView(
        items=(CartItem("Oolong", "100 g", "NT$450", None, 1),),
        values=VALUES,
        link="https://app.example.com/r/token",
    )

    # when
    text, carousel, buttons = build_parts(message, view)

    # then
    assert text == Text("Hi Mei: https://app.example.com/r/token")
    assert isinstance(carousel, Carousel)
    card = carousel.cards[0]
    assert (card.title, card.subtitle, card.price_text, card.button_url) == (
        "Oolong",
        "100 g",
        "NT$450",
        "https://app.example.com/r/token",
    )
    assert carousel.see_all.total_count == 1
    assert carousel.alt_text == "Your cart at Tea House: 2 item(s)"
    assert isinstance(buttons, Buttons)
    assert [o.url for o in buttons.options] == ["https://app.example.com/r/token", None]
