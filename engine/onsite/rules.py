"""Creating and changing on-site messages: the Python API the admin builds on.

``create_message(shop, **fields)`` and ``update_message(shop, id, **changes)``
validate every field (``InvalidMessageError`` names the first bad one), store
and commit, and drop this process's memo of the shop's rules; other processes
see the change within ``selection.MEMO_SECONDS``. Fields:

==================  ========================================================
``name``            the merchant's label (required)
``kind``            ``text``, ``image``, ``button`` or ``bonus`` (required)
``texts``           ``{locale: {"title", "body", "button_label"}}`` (required)
``default_locale``  shown when the visitor's locale has no text; default:
                    the first locale in ``texts``
``image_url``       http(s); required for ``image``
``link_url``        http(s) or a path; required for ``image`` and ``button``
``slug``            the links' ``utm_campaign`` (default: the message id)
``url_match``       ``any`` (default), ``is``, ``contains``, ``not_contains``,
                    ``wildcard``, with ``url_value`` (see ``matching``)
``excluded_pages``  list of wildcard patterns
``delay_seconds``   show after N seconds on the page (default 0)
``exit_intent``     show on exit intent instead (not with a delay)
``visit_number``    with ``visit_mode`` ``exactly`` (default) or ``at_least``
``cart_over``       the open cart's total must be over this amount
``audience``        ``all`` (default), ``new``, ``returning``,
                    ``first_time_buyer``
``starts_at``,      the schedule: timezone-aware datetimes, either optional
``ends_at``
``cap_per_visitor`` show at most N times to one visitor
``active``          default True
==================  ========================================================
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from engine.db import db
from engine.onsite.errors import InvalidMessageError, MessageNotFound
from engine.onsite.models import (
    AUDIENCES,
    KINDS,
    URL_MATCHES,
    VISIT_MODES,
    OnsiteMessage,
)
from engine.onsite.presentation import TEXT_FIELDS
from engine.onsite.selection import forget_rules
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
TEXT_LIMITS = {"title": 120, "body": 1000, "button_label": 40}
MAX_URL = 2048
MAX_EXCLUDED = 50
MAX_DELAY = 3600

DEFAULTS: dict[str, Any] = {
    "slug": None,
    "default_locale": None,
    "image_url": None,
    "link_url": None,
    "url_match": "any",
    "url_value": None,
    "excluded_pages": [],
    "delay_seconds": 0,
    "exit_intent": False,
    "visit_number": None,
    "visit_mode": "exactly",
    "cart_over": None,
    "audience": "all",
    "starts_at": None,
    "ends_at": None,
    "cap_per_visitor": None,
    "active": True,
}
REQUIRED = ("name", "kind", "texts")


def create_message(shop: Shop, **fields: Any) -> OnsiteMessage:
    """Validate, store and commit a new message for the shop.

    Raises:
        InvalidMessageError: a field is missing, unknown or unusable.
    """
    for name in REQUIRED:
        if name not in fields:
            raise InvalidMessageError(name, "is required.")
    values = validated({**DEFAULTS, **fields})

    message = OnsiteMessage(shop_id=shop.id, **values)
    db.session.add(message)
    db.session.commit()
    forget_rules(shop.id)
    logger.info(
        "onsite.message_created", extra={"shop_id": shop.id, "message_id": message.id}
    )
    return message


def update_message(shop: Shop, message_id: int, **changes: Any) -> OnsiteMessage:
    """Change some fields of one of the shop's messages, validated as a whole.

    Raises:
        MessageNotFound: the shop has no such message.
        InvalidMessageError: a change is unknown or unusable.
    """
    message = get_message(shop, message_id)
    current = {name: getattr(message, name) for name in (*REQUIRED, *DEFAULTS)}
    values = validated({**current, **changes})

    for name, value in values.items():
        setattr(message, name, value)
    db.session.commit()
    forget_rules(shop.id)
    logger.info(
        "onsite.message_updated", extra={"shop_id": shop.id, "message_id": message_id}
    )
    return message


def delete_message(shop: Shop, message_id: int) -> None:
    """Delete one of the shop's messages, with its per-visitor counts."""
    db.session.delete(get_message(shop, message_id))
    db.session.commit()
    forget_rules(shop.id)


def get_message(shop: Shop, message_id: int) -> OnsiteMessage:
    message = db.session.scalar(
        select(OnsiteMessage).where(
            OnsiteMessage.shop_id == shop.id, OnsiteMessage.id == message_id
        )
    )
    if message is None:
        raise MessageNotFound(shop.id, message_id)
    return message


def list_messages(shop: Shop) -> list[OnsiteMessage]:
    """The shop's messages, newest first."""
    return list(
        db.session.scalars(
            select(OnsiteMessage)
            .where(OnsiteMessage.shop_id == shop.id)
            .order_by(OnsiteMessage.created_at.desc(), OnsiteMessage.id.desc())
        )
    )


def validated(fields: dict[str, Any]) -> dict[str, Any]:
    """Every field checked and normalized; raises on the first bad one."""
    unknown = sorted(set(fields) - set(REQUIRED) - set(DEFAULTS))
    if unknown:
        raise InvalidMessageError(unknown[0], "is not a field of on-site messages.")

    values = {name: check(fields[name]) for name, check in _CHECKS.items()}
    _check_together(values)
    return values


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 120:
        raise InvalidMessageError(
            "name", f"must be 1 to 120 characters, not {value!r}."
        )
    return value.strip()


def _one_of(field: str, allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise InvalidMessageError(
                field, f"must be one of {', '.join(allowed)}, not {value!r}."
            )
        return value

    return check


def _texts(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or not value:
        raise InvalidMessageError("texts", "must map at least one locale to texts.")
    texts = {}
    for locale, entry in value.items():
        if not isinstance(locale, str) or not LOCALE.fullmatch(locale):
            raise InvalidMessageError("texts", f"has a bad locale {locale!r}.")
        texts[locale] = _locale_texts(locale, entry)
    return texts


def _locale_texts(locale: str, entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict) or not set(entry) <= set(TEXT_FIELDS):
        raise InvalidMessageError(
            "texts",
            f"for {locale!r} must hold only {', '.join(TEXT_FIELDS)}, not {entry!r}.",
        )
    for name, text in entry.items():
        if not isinstance(text, str) or len(text) > TEXT_LIMITS[name]:
            raise InvalidMessageError(
                "texts",
                f"{name} for {locale!r} must be text of at most"
                f" {TEXT_LIMITS[name]} characters, not {text!r}.",
            )
    if not entry.get("title") and not entry.get("body"):
        raise InvalidMessageError("texts", f"for {locale!r} needs a title or a body.")
    return dict(entry)


def _optional_locale(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not LOCALE.fullmatch(value):
        raise InvalidMessageError("default_locale", f"is not a locale: {value!r}.")
    return value


def _url(field: str, allow_path: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and len(value) <= MAX_URL:
            if allow_path and _is_store_path(value):
                return value
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") and parts.netloc:
                return value
        raise InvalidMessageError(
            field,
            f"must be an http(s) address of up to {MAX_URL} characters, not {value!r}.",
        )

    return check


def _is_store_path(value: str) -> bool:
    """A path on the store itself. Browsers read a backslash as a slash and
    drop tabs and newlines, so ``/\\evil.example`` would leave the store."""
    if not value.startswith("/") or any(c in value for c in "\\\t\r\n"):
        return False
    return not value.startswith("//")


def _slug(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and SLUG.fullmatch(value)):
        return value
    raise InvalidMessageError(
        "slug", f"must be lower-case letters, digits and dashes, not {value!r}."
    )


def _url_value(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_URL:
        raise InvalidMessageError(
            "url_value", f"must be 1 to {MAX_URL} characters, not {value!r}."
        )
    return value.strip()


def _excluded_pages(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or len(value) > MAX_EXCLUDED:
        raise InvalidMessageError(
            "excluded_pages", f"must be a list of at most {MAX_EXCLUDED} patterns."
        )
    for pattern in value:
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidMessageError(
                "excluded_pages", f"holds an empty or non-text pattern {pattern!r}."
            )
    return [pattern.strip() for pattern in value]


def _whole(field: str, low: int, high: int | None, optional: bool):  # noqa: ANN202
    def check(value: Any) -> int | None:
        if value is None and optional:
            return None
        in_range = type(value) is int and value >= low
        if in_range and (high is None or value <= high):
            return value
        upper = f" and at most {high}" if high is not None else ""
        raise InvalidMessageError(
            field, f"must be a whole number of at least {low}{upper}, not {value!r}."
        )

    return check


def _flag(field: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise InvalidMessageError(field, f"must be True or False, not {value!r}.")
        return value

    return check


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = None
    if (
        isinstance(value, bool)
        or amount is None
        or not amount.is_finite()
        or amount < 0
    ):
        raise InvalidMessageError(
            "cart_over", f"must be an amount of 0 or more, not {value!r}."
        )
    return amount.quantize(Decimal("0.01"))


def _moment(field: str) -> Callable[[Any], datetime | None]:
    def check(value: Any) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidMessageError(
                field, f"must be a timezone-aware datetime, not {value!r}."
            )
        return value

    return check


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "kind": _one_of("kind", KINDS),
    "texts": _texts,
    "default_locale": _optional_locale,
    "image_url": _url("image_url"),
    "link_url": _url("link_url", allow_path=True),
    "slug": _slug,
    "url_match": _one_of("url_match", URL_MATCHES),
    "url_value": _url_value,
    "excluded_pages": _excluded_pages,
    "delay_seconds": _whole("delay_seconds", 0, MAX_DELAY, optional=False),
    "exit_intent": _flag("exit_intent"),
    "visit_number": _whole("visit_number", 1, None, optional=True),
    "visit_mode": _one_of("visit_mode", VISIT_MODES),
    "cart_over": _amount,
    "audience": _one_of("audience", AUDIENCES),
    "starts_at": _moment("starts_at"),
    "ends_at": _moment("ends_at"),
    "cap_per_visitor": _whole("cap_per_visitor", 1, None, optional=True),
    "active": _flag("active"),
}


def _check_together(values: dict[str, Any]) -> None:
    """Rules that involve more than one field."""
    texts = values["texts"]
    if values["default_locale"] is None:
        values["default_locale"] = next(iter(texts))
    elif values["default_locale"] not in texts:
        raise InvalidMessageError(
            "default_locale", f"{values['default_locale']!r} has no texts."
        )

    if values["url_match"] == "any":
        if values["url_value"] is not None:
            raise InvalidMessageError(
                "url_value", "must be empty when url_match is any."
            )
    elif values["url_value"] is None:
        raise InvalidMessageError(
            "url_value", f"is required when url_match is {values['url_match']!r}."
        )

    kind = values["kind"]
    if kind == "image" and values["image_url"] is None:
        raise InvalidMessageError("image_url", "is required for an image message.")
    if kind in ("image", "button") and values["link_url"] is None:
        raise InvalidMessageError("link_url", f"is required for a {kind} message.")
    if kind in ("button", "bonus"):
        for locale, entry in texts.items():
            if not entry.get("button_label"):
                raise InvalidMessageError(
                    "texts", f"needs a button_label for {locale!r} in a {kind} message."
                )

    if values["exit_intent"] and values["delay_seconds"]:
        raise InvalidMessageError(
            "delay_seconds", "must be 0 when the message shows on exit intent."
        )
    starts_at, ends_at = values["starts_at"], values["ends_at"]
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidMessageError("ends_at", "must come after starts_at.")
