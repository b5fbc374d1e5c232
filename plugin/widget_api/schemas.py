"""The widget API's request bodies (marshmallow), built once at import.

Fields the contract does not name are ignored, so a newer widget keeps
working against an older server; a field the contract names must have the
right shape, and an unknown event ``type`` is refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from marshmallow.validate import Length, Range

from engine.tracking.events import CART_TYPES, CLIENT_TYPES, MESSAGE_TYPES, PAGE_LEAVE

MAX_EVENTS = 50
MAX_URL = 2048
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
CURRENCY = re.compile(r"[A-Z]{3}")
# PostgreSQL's integer columns; a larger id could never name a row anyway.
MAX_ROW_ID = 2**31 - 1
# Times the database can store and the drain can convert to UTC.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class Text(fields.String):
    """A string with no NUL character and no lone surrogate: PostgreSQL's text
    columns refuse the first, UTF-8 has no form for the second (JSON's
    ``"\\ud800"`` makes one), and no URL, handle or locale a browser sends
    holds either."""

    default_error_messages = {
        "nul": "Must not contain a NUL character.",
        "surrogate": "Must not contain a lone surrogate (\\ud800-\\udfff).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        if not has_utf8_form(text):
            raise self.make_error("surrogate")
        return text


def has_utf8_form(text: str) -> bool:
    """False for text holding a lone surrogate, which no database can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Timestamp(fields.Field):
    """An ISO 8601 time with its offset (``2026-12-03T10:00:00.000Z``) as epoch s."""

    default_error_messages = {
        "invalid": "Not an ISO 8601 time with a time zone, between the years"
        f" {EARLIEST_YEAR} and {LATEST_YEAR}."
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> float:
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None or not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise self.make_error("invalid")
        return moment.timestamp()


class PlatformId(fields.Field):
    """A platform id sent as a number or a string; kept as a string."""

    default_error_messages = {"invalid": "Not an id: a number or up to 64 characters."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if (
            isinstance(value, str)
            and 0 < len(value) <= 64
            and "\x00" not in value
            and has_utf8_form(value)
        ):
            return value
        raise self.make_error("invalid")


class Amount(fields.Field):
    """A decimal amount (``"1290.00"`` or a number), zero or more, as a string."""

    default_error_messages = {"invalid": 'Not an amount such as "1290.00".'}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite() or amount < 0 or amount >= 10**12:
            raise self.make_error("invalid")
        return str(amount)


def _client_id(value: str) -> None:
    if not CLIENT_ID.fullmatch(value):
        raise ValidationError("Must be 8 to 64 letters, digits, '-' or '_'.")


def _http_url(value: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ValidationError("Must be an http(s) address.")


def _currency(value: str) -> None:
    if not CURRENCY.fullmatch(value):
        raise ValidationError("Must be a three-letter currency code such as TWD.")


def _url(required: bool = False) -> Text:
    return Text(
        required=required,
        allow_none=not required,
        validate=[Length(max=MAX_URL), _http_url],
    )


def _count(high: int) -> fields.Integer:
    return fields.Integer(strict=True, allow_none=True, validate=Range(0, high))


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class PageSchema(_Lenient):
    url = _url(required=True)
    page_type = Text(allow_none=True, validate=Length(max=64))
    product_id = PlatformId(allow_none=True)
    product_handle = Text(allow_none=True, validate=Length(max=255))
    referrer = Text(allow_none=True, validate=Length(max=MAX_URL))
    title = Text(allow_none=True, validate=Length(max=1024))


class PageRequestSchema(_Lenient):
    widget_key = Text(required=True, validate=Length(1, 64))
    visitor_token = Text(load_default=None, allow_none=True)
    page = fields.Nested(PageSchema, required=True)
    locale = Text(load_default=None, allow_none=True, validate=Length(max=16))
    event_id = Text(required=True, validate=_client_id)


class CartSchema(_Lenient):
    token = Text(required=True, validate=Length(1, 512))
    total_price = Amount(allow_none=True)
    item_count = _count(100_000)
    currency = Text(allow_none=True, validate=_currency)


class _EventSchema(_Lenient):
    """What every event carries; each type's schema adds its own fields."""

    id = Text(required=True, validate=_client_id)
    type = Text(required=True)
    at = Timestamp(required=True)
    url = _url()


class PageLeaveSchema(_EventSchema):
    seconds_on_page = _count(7 * 86_400)


class CartEventSchema(_EventSchema):
    product_id = PlatformId(allow_none=True)
    variant_id = PlatformId(allow_none=True)
    quantity = _count(100_000)
    cart = fields.Nested(CartSchema, allow_none=True)


class MessageEventSchema(_EventSchema):
    message_id = fields.Integer(
        strict=True, required=True, validate=Range(1, MAX_ROW_ID)
    )


# Each type reads only its own fields: the commonest call, a page-leave
# beacon, then costs a third of one schema holding every type's fields.
EVENT_SCHEMAS: dict[str, Schema] = {
    PAGE_LEAVE: PageLeaveSchema(),
    **dict.fromkeys(CART_TYPES, CartEventSchema()),
    **dict.fromkeys(MESSAGE_TYPES, MessageEventSchema()),
}


class Event(fields.Field):
    """One event, read by the schema of its ``type``."""

    default_error_messages = {
        "not_object": "Not an event: a JSON object.",
        "type": f"Must be one of: {', '.join(CLIENT_TYPES)}.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.make_error("not_object")
        kind = value.get("type")
        schema = EVENT_SCHEMAS.get(kind) if isinstance(kind, str) else None
        if schema is None:
            message = self.error_messages["type"]
            if "type" not in value:
                message = "Missing data for required field."
            raise ValidationError({"type": [message]})
        return schema.load(value)


class EventsRequestSchema(_Lenient):
    widget_key = Text(required=True, validate=Length(1, 64))
    visitor_token = Text(required=True, validate=Length(1, 200))
    events = fields.List(Event(), required=True, validate=Length(1, MAX_EVENTS))


PAGE_REQUEST = PageRequestSchema()
EVENTS_REQUEST = EventsRequestSchema()


def first_error(messages: dict | list, path: str = "") -> tuple[str, str]:
    """The first failing field of a ValidationError, as (``events[0].type``, text)."""
    if isinstance(messages, list):
        return path or "body", str(messages[0])
    key, inner = next(iter(messages.items()))
    if isinstance(key, int):
        step = f"{path}[{key}]"
    elif key == "_schema":
        step = path
    else:
        step = f"{path}.{key}" if path else str(key)
    return first_error(inner, step)
