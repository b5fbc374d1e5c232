"""Neutral message parts to Messenger ``message`` objects, within the platform's limits.

Sources (developers.facebook.com/docs/messenger-platform): the generic
template (10 elements, title and subtitle 80 characters, 3 buttons), the
button template (text 640 characters, 1 to 3 buttons), quick replies (13,
title 20 characters) and the Send API (text 2,000 characters, payloads
1,000). Titles and labels are shortened with "…"; a text, a payload or a
link that does not fit is refused with ``InvalidMessageError``.
"""

from __future__ import annotations

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

CHANNEL = "messenger"

# Messenger sets no number of messages per send (each part is its own call);
# we keep LINE's 5 so one reminder step fits either channel.
MAX_MESSAGES = 5
TEXT_MAX = TEXT_LIMITS[CHANNEL]
MAX_ELEMENTS = 10
TITLE_MAX = 80
SUBTITLE_MAX = 80
MAX_BUTTONS = 3
BUTTON_TITLE_MAX = 20
BUTTON_TEMPLATE_TEXT_MAX = 640
QUICK_REPLY_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
PAYLOAD_MAX = 1000
# The platform documents no length for a web_url; 2,000 characters is what
# every browser takes, and what LINE allows for images.
URL_MAX = 2000

_PRICE_SEPARATOR = " · "


def render(parts: Sequence[Part]) -> list[dict[str, Any]]:
    """Messenger ``message`` objects, one per Send API call, in order.

    ``Buttons`` whose options are all postbacks become a text with quick
    replies; with any link among them, a button template (links cannot be
    quick replies). Raises ``InvalidMessageError``.
    """
    if not parts:
        raise InvalidMessageError(
            CHANNEL, "A message needs at least one part.", part="message", limit=1
        )
    if len(parts) > MAX_MESSAGES:
        raise MessageTooLargeError(
            CHANNEL,
            f"The message has {len(parts)} parts; a Messenger reminder holds at"
            f" most {MAX_MESSAGES}.",
            part="message",
            limit=MAX_MESSAGES,
        )
    return [_render_part(index, part) for index, part in enumerate(parts)]


def _render_part(index: int, part: Part) -> dict[str, Any]:
    name = describe(index, part)
    if isinstance(part, Text):
        return {"text": _message_text(part.text, TEXT_MAX, name)}
    if isinstance(part, Image):
        return _image_attachment(part, name)
    if isinstance(part, Carousel):
        return _generic_template(part, name)
    if isinstance(part, Buttons):
        return _buttons(part, name)
    raise TypeError(f"Not a message part: {part!r}")


def _message_text(text: str, limit: int, name: str) -> str:
    if not text.strip():
        raise InvalidMessageError(CHANNEL, f"{name} has no text.", part=name)
    length = measure(text, Unit.UTF16)
    if length > limit:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} is {length} characters long; Messenger takes {limit} here.",
            part=name,
            limit=limit,
        )
    return text


def _image_attachment(image: Image, name: str) -> dict[str, Any]:
    url = encode_url(image.url)
    problem = image_url_problem(url)
    if problem:
        raise InvalidMessageError(CHANNEL, f"{name}: {problem}", part=name)
    return {
        "attachment": {"type": "image", "payload": {"url": url, "is_reusable": True}}
    }


def _generic_template(carousel: Carousel, name: str) -> dict[str, Any]:
    if not carousel.cards:
        raise InvalidMessageError(CHANNEL, f"{name} has no cards.", part=name, limit=1)

    see_all = carousel.see_all
    total = max(see_all.total_count, len(carousel.cards)) if see_all else 0
    if see_all is None or total <= min(len(carousel.cards), MAX_ELEMENTS):
        elements = [_card_element(card, name) for card in carousel.cards[:MAX_ELEMENTS]]
    else:
        elements = [
            _card_element(card, name) for card in carousel.cards[: MAX_ELEMENTS - 1]
        ]
        elements.append(_see_all_element(see_all, name))

    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "image_aspect_ratio": "square",
                "elements": elements,
            },
        }
    }


def _card_element(card: Card, name: str) -> dict[str, Any]:
    title = truncate(card.title.strip(), TITLE_MAX, Unit.UTF16)
    if not title:
        raise InvalidMessageError(
            CHANNEL, f"{name} has a card with no title.", part=name
        )

    url = _link(card.button_url, name)
    element: dict[str, Any] = {"title": title}
    subtitle = _subtitle(card)
    if subtitle:
        element["subtitle"] = subtitle
    image = encode_url(card.image_url) if card.image_url else None
    if image and image_url_problem(image) is None:
        element["image_url"] = image
    element["default_action"] = {"type": "web_url", "url": url}
    element["buttons"] = [_web_button(card.button_label, url, name)]
    return element


def _subtitle(card: Card) -> str:
    """Price first, then variant or description, so a cut loses the least."""
    pieces = [card.price_text.strip(), (card.subtitle or "").strip()]
    joined = _PRICE_SEPARATOR.join(piece for piece in pieces if piece)
    return truncate(joined, SUBTITLE_MAX, Unit.UTF16)


def _see_all_element(see_all: SeeAll, name: str) -> dict[str, Any]:
    title = truncate(see_all.label.strip(), TITLE_MAX, Unit.UTF16)
    if not title:
        raise InvalidMessageError(
            CHANNEL, f"{name}: the see-all card has no label.", part=name
        )
    url = _link(see_all.url, name)
    return {
        "title": title,
        "default_action": {"type": "web_url", "url": url},
        "buttons": [_web_button(see_all.label, url, name)],
    }


def _buttons(part: Buttons, name: str) -> dict[str, Any]:
    if not part.options:
        raise InvalidMessageError(
            CHANNEL, f"{name} has no options.", part=name, limit=1
        )
    if all(option.url is None for option in part.options):
        return _quick_replies(part, name)

    if len(part.options) > MAX_BUTTONS:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} has {len(part.options)} options with a link among them;"
            f" a Messenger button template takes {MAX_BUTTONS} (quick replies,"
            " which take more, cannot open links).",
            part=name,
            limit=MAX_BUTTONS,
        )
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": _message_text(part.text, BUTTON_TEMPLATE_TEXT_MAX, name),
                "buttons": [_option_button(option, name) for option in part.options],
            },
        }
    }


def _quick_replies(part: Buttons, name: str) -> dict[str, Any]:
    if len(part.options) > QUICK_REPLY_MAX:
        raise MessageTooLargeError(
            CHANNEL,
            f"{name} has {len(part.options)} options; Messenger quick replies"
            f" take {QUICK_REPLY_MAX}.",
            part=name,
            limit=QUICK_REPLY_MAX,
        )
    replies = [
        {
            "content_type": "text",
            "title": _title(option.label, QUICK_REPLY_TITLE_MAX, name),
            "payload": _payload(option.postback or "", name),
        }
        for option in part.options
    ]
    return {"text": _message_text(part.text, TEXT_MAX, name), "quick_replies": replies}


def _option_button(option: Option, name: str) -> dict[str, Any]:
    if option.url is not None:
        return _web_button(option.label, _link(option.url, name), name)
    return {
        "type": "postback",
        "title": _title(option.label, BUTTON_TITLE_MAX, name),
        "payload": _payload(option.postback or "", name),
    }


def _web_button(label: str, url: str, name: str) -> dict[str, Any]:
    return {
        "type": "web_url",
        "url": url,
        "title": _title(label, BUTTON_TITLE_MAX, name),
    }


def _title(label: str, limit: int, name: str) -> str:
    title = truncate(label.strip(), limit, Unit.UTF16)
    if not title:
        raise InvalidMessageError(
            CHANNEL, f"{name} has a button with no label.", part=name
        )
    return title


def _payload(data: str, name: str) -> str:
    length = measure(data, Unit.UTF16)
    if not data or length > PAYLOAD_MAX:
        raise InvalidMessageError(
            CHANNEL,
            f"{name}: the postback payload {data[:40]!r} is {length} characters;"
            f" Messenger takes 1 to {PAYLOAD_MAX}.",
            part=name,
            limit=PAYLOAD_MAX,
        )
    return data


def _link(url: str, name: str) -> str:
    encoded = encode_url(url)
    problem = web_url_problem(encoded, URL_MAX)
    if problem:
        raise InvalidMessageError(
            CHANNEL, f"{name}: {problem}", part=name, limit=URL_MAX
        )
    return encoded
