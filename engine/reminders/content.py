"""A step's message: the merchant's part specs, checked on save, filled in at send.

A step's ``message`` is a list of part specs, sent in order in one push:

- ``{"type": "carousel"}``: a card per unpurchased, available cart item;
  optional ``"button_label"`` and ``"alt_text"``.
- ``{"type": "text", "text": "Hi {first_name|there}"}``.
- ``{"type": "image", "url": "https://…/a.jpg", "preview_url": null}``.
- ``{"type": "buttons", "text": "…", "options": [{"label": "…", "url": "…"} |
  {"label": "…", "postback": "…"}]}``: quick replies / postbacks.

Text takes ``{first_name}``, ``{cart_total}``, ``{item_count}``,
``{checkout_url}`` and ``{shop_name}``; ``{name|fallback}`` gives the words to
use when the value is missing (without one, a missing value is left out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from engine.channels.links import encode_url, image_url_problem
from engine.channels.messages import (
    TEXT_LIMITS,
    Buttons,
    Card,
    Carousel,
    Image,
    Option,
    SeeAll,
    Text,
)
from engine.channels.text import Unit, measure
from engine.reminders.errors import FlowValidationError

PART_TYPES = ("carousel", "text", "image", "buttons")
VARIABLES = ("first_name", "cart_total", "item_count", "checkout_url", "shop_name")
# LINE accepts at most 5 message objects per push (CONTRACTS.md B); a step is
# one push, so it is also the most parts a step may have.
MAX_PARTS = 5
# A text part's limit is its channel's (TEXT_LIMITS); a step on "any" channel
# may go to either, so it takes the smaller. Messenger's button template text
# (640) its renderer enforces with the platform's own error.
ANY_CHANNEL_TEXT_LIMIT = min(TEXT_LIMITS.values())
# The carousel's alt text is LINE's (1,500); Messenger shows none.
MAX_ALT_TEXT_LENGTH = 1500
MAX_OPTIONS = 13
MAX_LABEL_LENGTH = 20
MAX_POSTBACK_LENGTH = 300
# Both platforms take links of up to 2,000 characters.
MAX_URL_LENGTH = 2000

# The postback of a "no thanks" button; the chat side answers it with
# ``engine.reminders.snooze``.
NO_THANKS_POSTBACK = "revisit.reminders.no_thanks"

_VARIABLE = re.compile(r"\{(\w+)(?:\|([^{}]*))?\}")


@dataclass(frozen=True)
class CartItem:
    """One unpurchased, available line of the cart as shown on a card."""

    title: str
    subtitle: str | None
    price_text: str
    image_url: str | None
    quantity: int


@dataclass(frozen=True)
class CartView:
    """What a reminder shows of a cart at send time."""

    items: tuple[CartItem, ...]
    # Variable values; None where unknown (first_name).
    values: Mapping[str, str | None]
    # The tracked link every button of the reminder leads to.
    link: str


def validate_message(
    message: object, field: str, channel: str | None = None
) -> list[dict[str, Any]]:
    """Check a step's part specs for the step's ``channel``; returns them cleaned.

    ``channel`` is "line", "messenger", or None for a step that may go to
    either. Raises:
        FlowValidationError: naming the part and value at fault.
    """
    limit = TextLimit.for_channel(channel)
    if not isinstance(message, list) or not message:
        raise FlowValidationError(field, "A step's message needs at least one part.")
    if len(message) > MAX_PARTS:
        raise FlowValidationError(
            field,
            f"A step's message has {len(message)} parts; LINE accepts at most"
            f" {MAX_PARTS} per send.",
        )
    cleaned = [
        _validate_part(part, f"{field}[{i}]", limit) for i, part in enumerate(message)
    ]
    if sum(1 for part in cleaned if part["type"] == "carousel") > 1:
        raise FlowValidationError(field, "A step's message has more than one carousel.")
    return cleaned


@dataclass(frozen=True)
class TextLimit:
    """How long a step's text parts may be, and whose limit that is."""

    characters: int
    owner: str

    @classmethod
    def for_channel(cls, channel: str | None) -> TextLimit:
        if channel in TEXT_LIMITS:
            return cls(TEXT_LIMITS[channel], PLATFORM_NAMES[channel])
        smallest = min(TEXT_LIMITS, key=TEXT_LIMITS.__getitem__)
        return cls(
            ANY_CHANNEL_TEXT_LIMIT,
            f"{PLATFORM_NAMES[smallest]}, where this any-channel step may go,",
        )


PLATFORM_NAMES = {"line": "LINE", "messenger": "Messenger"}


def _validate_part(part: object, field: str, text_limit: TextLimit) -> dict[str, Any]:
    if not isinstance(part, dict) or part.get("type") not in PART_TYPES:
        kind = part.get("type") if isinstance(part, dict) else part
        raise FlowValidationError(
            f"{field}.type",
            f"Unknown message part {kind!r}; use one of {', '.join(PART_TYPES)}.",
        )
    kind = part["type"]
    if kind == "text":
        text = _checked_text(part.get("text"), f"{field}.text", text_limit)
        return {"type": "text", "text": text}
    if kind == "image":
        return _validate_image(part, field)
    if kind == "buttons":
        return _validate_buttons(part, field, text_limit)
    cleaned = {"type": "carousel"}
    if part.get("button_label"):
        cleaned["button_label"] = _checked_text(
            part["button_label"], f"{field}.button_label", MAX_LABEL_LENGTH
        )
    if part.get("alt_text"):
        cleaned["alt_text"] = _checked_text(
            part["alt_text"], f"{field}.alt_text", MAX_ALT_TEXT_LENGTH
        )
    return cleaned


def _validate_image(part: dict[str, Any], field: str) -> dict[str, Any]:
    url = part.get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise FlowValidationError(
            f"{field}.url", f"An image needs an https:// address; got {url!r}."
        )
    _check_image_url(url, f"{field}.url")
    preview = part.get("preview_url")
    if preview is not None and not str(preview).startswith("https://"):
        raise FlowValidationError(
            f"{field}.preview_url",
            f"An image preview needs an https:// address; got {preview!r}.",
        )
    if preview is not None:
        _check_image_url(str(preview), f"{field}.preview_url")
    return {"type": "image", "url": url, "preview_url": preview}


def _check_image_url(url: str, field: str) -> None:
    """Both platforms' image rule (HTTPS, JPEG or PNG, length), at the field."""
    problem = image_url_problem(encode_url(url))
    if problem is not None:
        raise FlowValidationError(field, problem)


def _validate_buttons(
    part: dict[str, Any], field: str, text_limit: TextLimit
) -> dict[str, Any]:
    options = part.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS:
        raise FlowValidationError(
            f"{field}.options",
            f"Buttons need 1 to {MAX_OPTIONS} options; got"
            f" {len(options) if isinstance(options, list) else options!r}.",
        )
    return {
        "type": "buttons",
        "text": _checked_text(part.get("text"), f"{field}.text", text_limit),
        "options": [
            _validate_option(option, f"{field}.options[{i}]")
            for i, option in enumerate(options)
        ],
    }


def _validate_option(option: object, field: str) -> dict[str, Any]:
    if not isinstance(option, dict):
        raise FlowValidationError(
            field, f"An option must be an object; got {option!r}."
        )
    label = _checked_text(option.get("label"), f"{field}.label", MAX_LABEL_LENGTH)
    url, postback = option.get("url"), option.get("postback")
    if (url is None) == (postback is None):
        raise FlowValidationError(
            field, f"Option {label!r} needs exactly one of 'url' and 'postback'."
        )
    if postback is not None:
        postback = _checked_text(postback, f"{field}.postback", MAX_POSTBACK_LENGTH)
    if url is not None:
        url = _checked_text(url, f"{field}.url", MAX_URL_LENGTH)
        if not (url.startswith("https://") or url == "{checkout_url}"):
            raise FlowValidationError(
                f"{field}.url",
                f"An option's link must start with https:// or be {{checkout_url}};"
                f" got {url!r}.",
            )
    return {"label": label, "url": url, "postback": postback}


def _checked_text(value: object, field: str, limit: int | TextLimit) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FlowValidationError(field, f"Text is required here; got {value!r}.")
    # Counted as the platforms count: an emoji is two.
    length = measure(value, Unit.UTF16)
    if isinstance(limit, TextLimit) and length > limit.characters:
        raise FlowValidationError(
            field,
            f"Text of {length} characters is too long: {limit.owner} takes at"
            f" most {limit.characters}.",
        )
    if isinstance(limit, int) and length > limit:
        raise FlowValidationError(
            field, f"Text of {length} characters is over the limit of {limit}."
        )
    for match in _VARIABLE.finditer(value):
        if match.group(1) not in VARIABLES:
            raise FlowValidationError(
                field,
                f"Unknown variable {{{match.group(1)}}}; use one of"
                f" {', '.join('{' + name + '}' for name in VARIABLES)}.",
            )
    return value


def fill_variables(template: str, values: Mapping[str, str | None]) -> str:
    """Put the values in ``template``; a missing one becomes its fallback or ''."""

    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = values[name]
        if value in (None, ""):
            return fallback or ""
        return str(value)

    filled = _VARIABLE.sub(replace, template)
    # A left-out value must not leave "Hi , " behind.
    return re.sub(r"[ \t]+([,.!?，。！？])", r"\1", re.sub(r"[ \t]{2,}", " ", filled))


def build_parts(message: Sequence[dict[str, Any]], view: CartView) -> tuple:
    """The channel-neutral parts of a step's message for one cart."""
    values = {**view.values, "checkout_url": view.link}
    return tuple(_build_part(spec, view, values) for spec in message)


def _build_part(spec: dict[str, Any], view: CartView, values: Mapping) -> object:
    kind = spec["type"]
    if kind == "text":
        return Text(fill_variables(spec["text"], values))
    if kind == "image":
        return Image(spec["url"], spec.get("preview_url"))
    if kind == "buttons":
        return Buttons(
            fill_variables(spec["text"], values),
            tuple(
                Option(
                    option["label"],
                    option.get("postback"),
                    fill_variables(option["url"], values)
                    if option.get("url")
                    else None,
                )
                for option in spec["options"]
            ),
        )
    return _carousel(spec, view, values)


def _carousel(spec: dict[str, Any], view: CartView, values: Mapping) -> Carousel:
    label = spec.get("button_label") or "Complete my order"
    cards = tuple(
        Card(
            item.title,
            item.subtitle,
            item.price_text,
            item.image_url,
            label,
            view.link,
        )
        for item in view.items
    )
    alt_text = fill_variables(
        spec.get("alt_text") or "Your cart at {shop_name}: {item_count} item(s)",
        values,
    )
    see_all = SeeAll(f"See all {len(cards)} items", view.link, len(cards))
    return Carousel(cards, alt_text, see_all)


def describe_parts(parts: Sequence[object]) -> list[dict[str, Any]]:
    """A JSON-safe copy of what was sent, for the conversation history."""
    described = []
    for part in parts:
        entry = asdict(part) if is_dataclass(part) else {"value": repr(part)}
        entry["type"] = type(part).__name__.lower()
        described.append(entry)
    return described
