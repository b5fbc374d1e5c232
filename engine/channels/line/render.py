"""Neutral message parts to LINE message objects, within LINE's documented limits.

Sources: the Messaging API reference
(https://developers.line.biz/en/reference/messaging-api/) for messages per
push, Flex carousel and bubble sizes, alt text, text, quick replies, images
and postback data; the character-count page for units (``engine.channels.text``).
Display text (titles, labels, alt text) is shortened with "…"; anything whose
meaning would change if cut (a message's text, postback data, links, too many
parts) is refused with ``InvalidMessageError`` naming the part and the limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engine.channels.errors import InvalidMessageError, MessageTooLargeError
from engine.channels.links import encode_url, image_url_problem, web_url_problem
from engine.channels.messages import (
    TEXT_LIMITS,
    Buttons,
    Card,
    Carousel,
    Image,
    Option,
    Part,
    SeeAll,
    Text,
    describe,
)
from engine.channels.text import Unit, measure, truncate

CHANNEL = "line"

MAX_MESSAGES = 5
MAX_BUBBLES = 12
# "KB" read as 1,000 bytes of UTF-8 JSON, the stricter reading.
CAROUSEL_MAX_BYTES = 50_000
BUBBLE_MAX_BYTES = 30_000
ALT_TEXT_MAX = 1500
TEXT_MAX = TEXT_LIMITS[CHANNEL]
QUICK_REPLY_MAX = 13
# Action labels count grapheme clusters; 20 is the limit for quick replies and
# templates, and we keep Flex buttons to it too so a label fits everywhere.
LABEL_MAX = 20
POSTBACK_DATA_MAX = 300
DISPLAY_TEXT_MAX = 300
# URI actions take 10,000 characters since 2026-10-27 (1,000 before); the SDK's
# UriAction model says the same.
URI_MAX = 10_000
# LINE sets no length on Flex text; these keep a card to two or three lines of
# a kilo bubble, which also keeps a bubble far below its 30 KB.
TITLE_MAX = 40
SUBTITLE_MAX = 60
PRICE_MAX = 30

BUBBLE_SIZE = "kilo"
_PLACEHOLDER_BACKGROUND = "#F2F2F2"
_MUTED = "#8C8C8C"


def render(parts: Sequence[Part]) -> list[dict[str, Any]]:
    """LINE message objects (plain dicts) for one push, in order.

    ``Buttons`` becomes a text message whose options are quick replies;
    LINE shows the quick replies of the last message only, so they are
    attached to the push's last message. Raises ``InvalidMessageError``.
    """
    if not parts:
        raise InvalidMessageError(
            CHANNEL, "A message needs at least one part.", part="message", limit=1
        )
    if len(parts) > MAX_MESSAGES:
        raise MessageTooLargeError(
            CHANNEL,
            f"The message has {len(parts)} parts; a LINE push holds at most"
            f" {MAX_MESSAGES}.",
            part="message",
            limit=MAX_MESSAGES,
        )

    messages = [_render_part(index, part) for index, part in enumerate(parts)]
    quick_reply = _quick_reply_of(parts)
    if quick_reply is not None:
        messages[-1]["quickReply"] = quick_reply
    return messages


def json_size(payload: dict[str, Any]) -> int:
    """Bytes of ``payload`` as compact UTF-8 JSON, the size LINE limits."""
    compact = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return len(compact.encode("utf-8"))


def _render_part(index: int, part: Part) -> dict[str, Any]:
    name = describe(index, part)
    if isinstance(part, Text | Buttons):
        return _text_message(part.text, name)
    if isinstance(part, Image):
        return _image_message(part, name)
    if isinstance(part, Carousel):
        return _flex_message(part, name)
    raise TypeError(f"Not a message part: {part!r}")


def _text_message(text: str, name: str) -> dict[str, Any]:
    if not text.strip():
        raise InvalidMessageError(CHANNEL, f"{name} has no text.", part=name)
    length = measure(text, Unit.UTF16)
    if length > TEXT_MAX:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} is {length} characters (UTF-16 code units) long; LINE takes"
            f" {TEXT_MAX}.",
            part=name,
            limit=TEXT_MAX,
        )
    return {"type": "text", "text": text}


def _image_message(image: Image, name: str) -> dict[str, Any]:
    original = _checked_image_url(image.url, name)
    preview = _checked_image_url(image.preview_url or image.url, name)
    return {
        "type": "image",
        "originalContentUrl": original,
        "previewImageUrl": preview,
    }


def _checked_image_url(url: str, name: str) -> str:
    encoded = encode_url(url)
    problem = image_url_problem(encoded)
    if problem:
        raise InvalidMessageError(CHANNEL, f"{name}: {problem}", part=name)
    return encoded


def _flex_message(carousel: Carousel, name: str) -> dict[str, Any]:
    if not carousel.cards:
        raise InvalidMessageError(CHANNEL, f"{name} has no cards.", part=name, limit=1)
    alt_text = truncate(carousel.alt_text.strip(), ALT_TEXT_MAX, Unit.UTF16)
    if not alt_text:
        raise InvalidMessageError(CHANNEL, f"{name} has no alt text.", part=name)

    cards, see_all = _cards_that_fit(carousel)
    bubbles = [_card_bubble(card, name) for card in cards]
    if see_all is not None:
        bubbles.append(_see_all_bubble(see_all, name))
    for bubble in bubbles:
        _check_bubble_size(bubble, name)

    contents = {"type": "carousel", "contents": bubbles}
    # Long links can push 12 cards past 50 KB: give up cards from the end,
    # keeping the "see all" card, rather than refuse the whole reminder.
    while json_size(contents) > CAROUSEL_MAX_BYTES and see_all and len(bubbles) > 2:
        del bubbles[-2]
    size = json_size(contents)
    if size > CAROUSEL_MAX_BYTES:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} is {size} bytes of JSON; a LINE carousel takes"
            f" {CAROUSEL_MAX_BYTES}.",
            part=name,
            limit=CAROUSEL_MAX_BYTES,
        )
    return {"type": "flex", "altText": alt_text, "contents": contents}


def _cards_that_fit(carousel: Carousel) -> tuple[tuple[Card, ...], SeeAll | None]:
    """The cards to show, and the "see all" card if the cart has more."""
    see_all = carousel.see_all
    total = max(see_all.total_count, len(carousel.cards)) if see_all else 0
    if see_all is None or total <= min(len(carousel.cards), MAX_BUBBLES):
        return carousel.cards[:MAX_BUBBLES], None
    return carousel.cards[: MAX_BUBBLES - 1], see_all


def _card_bubble(card: Card, name: str) -> dict[str, Any]:
    title = truncate(card.title.strip(), TITLE_MAX, Unit.UTF16)
    if not title:
        raise InvalidMessageError(
            CHANNEL, f"{name} has a card with no title.", part=name
        )

    body: list[dict[str, Any]] = [
        {"type": "text", "text": title, "weight": "bold", "wrap": True, "maxLines": 2}
    ]
    subtitle = truncate((card.subtitle or "").strip(), SUBTITLE_MAX, Unit.UTF16)
    if subtitle:
        body.append(
            {
                "type": "text",
                "text": subtitle,
                "size": "sm",
                "color": _MUTED,
                "wrap": True,
                "maxLines": 3,
            }
        )
    price = truncate(card.price_text.strip(), PRICE_MAX, Unit.UTF16)
    if price:
        body.append({"type": "text", "text": price, "weight": "bold", "size": "md"})

    return {
        "type": "bubble",
        "size": BUBBLE_SIZE,
        "hero": _hero(card, title),
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": body,
        },
        "footer": _button_footer(card.button_label, card.button_url, name),
    }


def _hero(card: Card, title: str) -> dict[str, Any]:
    """The product image, or a plain tile with the title's first character."""
    if card.image_url:
        url = encode_url(card.image_url)
        if image_url_problem(url) is None:
            return {
                "type": "image",
                "url": url,
                "size": "full",
                "aspectRatio": "1:1",
                "aspectMode": "cover",
                # The SDK adds this default; writing it keeps what we measure
                # identical to what is sent.
                "animated": False,
            }
    return _placeholder_hero(title[0])


def _placeholder_hero(initial: str) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "vertical",
        "justifyContent": "center",
        "height": "150px",
        "backgroundColor": _PLACEHOLDER_BACKGROUND,
        "contents": [
            {
                "type": "text",
                "text": initial,
                "size": "3xl",
                "align": "center",
                "color": _MUTED,
            }
        ],
    }


def _see_all_bubble(see_all: SeeAll, name: str) -> dict[str, Any]:
    label = truncate(see_all.label.strip(), TITLE_MAX, Unit.UTF16)
    if not label:
        raise InvalidMessageError(
            CHANNEL, f"{name}: the see-all card has no label.", part=name
        )
    return {
        "type": "bubble",
        "size": BUBBLE_SIZE,
        "body": {
            "type": "box",
            "layout": "vertical",
            "justifyContent": "center",
            "contents": [
                {
                    "type": "text",
                    "text": label,
                    "weight": "bold",
                    "size": "lg",
                    "align": "center",
                    "wrap": True,
                }
            ],
        },
        "footer": _button_footer(see_all.label, see_all.url, name),
    }


def _button_footer(label: str, url: str, name: str) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {
                "type": "button",
                "style": "primary",
                "action": {
                    "type": "uri",
                    "label": _label(label, name),
                    "uri": _link(url, name),
                },
            }
        ],
    }


def _check_bubble_size(bubble: dict[str, Any], name: str) -> None:
    size = json_size(bubble)
    if size > BUBBLE_MAX_BYTES:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} has a card of {size} bytes of JSON; a LINE bubble takes"
            f" {BUBBLE_MAX_BYTES}.",
            part=name,
            limit=BUBBLE_MAX_BYTES,
        )


def _quick_reply_of(parts: Sequence[Part]) -> dict[str, Any] | None:
    buttons = [
        (index, part) for index, part in enumerate(parts) if isinstance(part, Buttons)
    ]
    if not buttons:
        return None

    index, part = buttons[-1]
    name = describe(index, part)
    if len(buttons) > 1:
        raise InvalidMessageError(
            CHANNEL,
            f"{name}: a LINE push shows one set of quick replies; the message"
            f" has {len(buttons)} Buttons parts.",
            part=name,
            limit=1,
        )
    if not part.options or len(part.options) > QUICK_REPLY_MAX:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} has {len(part.options)} options; LINE quick replies take 1"
            f" to {QUICK_REPLY_MAX}.",
            part=name,
            limit=QUICK_REPLY_MAX,
        )
    items = [
        {"type": "action", "action": _option_action(option, name)}
        for option in part.options
    ]
    return {"items": items}


def _option_action(option: Option, name: str) -> dict[str, Any]:
    label = _label(option.label, name)
    if option.url is not None:
        return {"type": "uri", "label": label, "uri": _link(option.url, name)}

    data = option.postback or ""
    length = measure(data, Unit.UTF16)
    if length > POSTBACK_DATA_MAX:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name}: the postback data {data[:40]!r}… is {length} characters;"
            f" LINE takes {POSTBACK_DATA_MAX}.",
            part=name,
            limit=POSTBACK_DATA_MAX,
        )
    display = truncate(option.label.strip(), DISPLAY_TEXT_MAX, Unit.GRAPHEME)
    return {"type": "postback", "label": label, "data": data, "displayText": display}


def _label(label: str, name: str) -> str:
    shortened = truncate(label.strip(), LABEL_MAX, Unit.GRAPHEME)
    if not shortened:
        raise InvalidMessageError(
            CHANNEL, f"{name} has a button with no label.", part=name
        )
    return shortened


def _link(url: str, name: str) -> str:
    encoded = encode_url(url)
    problem = web_url_problem(encoded, URI_MAX)
    if problem:
        raise InvalidMessageError(
            CHANNEL, f"{name}: {problem}", part=name, limit=URI_MAX
        )
    return encoded
