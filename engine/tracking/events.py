"""The shape of a tracked event: as buffered (a JSON-safe record), then as stored.

The request builds a record with as little work as possible; the drain turns
it into a ``TrackedEvent`` ready for ``visitor_events``: page types named,
UTM tags read from the URL, times checked, cart tokens stripped of their key.

Decisions: ``page_view`` events are timed by the server (the page request has
no ``at``); a client time more than ``CLOCK_SKEW_PAST`` before or
``CLOCK_SKEW_FUTURE`` after its arrival is replaced by the arrival time, so a
wrong device clock cannot reorder a footprint. A cart token from ``/cart.js``
ends in ``?key=…`` since 2024-06; the platform's webhooks name the cart
without it, so the key is dropped before storing and linking.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PAGE_VIEW = "page_view"
PAGE_LEAVE = "page_leave"
ADD_TO_CART = "add_to_cart"
REMOVE_FROM_CART = "remove_from_cart"
MESSAGE_VIEW = "message_view"
MESSAGE_CLICK = "message_click"
MESSAGE_DISMISS = "message_dismiss"
# Types the events endpoint takes; a page view comes only through the page one.
CLIENT_TYPES = (
    PAGE_LEAVE,
    ADD_TO_CART,
    REMOVE_FROM_CART,
    MESSAGE_VIEW,
    MESSAGE_CLICK,
    MESSAGE_DISMISS,
)
CART_TYPES = (ADD_TO_CART, REMOVE_FROM_CART)
MESSAGE_TYPES = (MESSAGE_VIEW, MESSAGE_CLICK, MESSAGE_DISMISS)

# Shopify's request.page_type, in the five kinds we keep.
PAGE_TYPES = {
    "index": "home",
    "home": "home",
    "product": "product",
    "collection": "collection",
    "cart": "cart",
}
OTHER_PAGE = "other"
UTM_TAGS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

CLOCK_SKEW_PAST = timedelta(minutes=10)
CLOCK_SKEW_FUTURE = timedelta(minutes=1)
SHORT_TEXT = 255


def page_view_record(
    shop_id: int,
    public_id: str,
    event_id: str,
    page: dict[str, Any],
    locale: str | None,
    received: float,
) -> dict[str, Any]:
    """The buffered record of a page view (``page`` as the page endpoint took it)."""
    return {
        "shop": shop_id,
        "visitor": public_id,
        "id": event_id,
        "type": PAGE_VIEW,
        "at": received,
        "received": received,
        "url": page["url"],
        "page_type": page.get("page_type"),
        "product_id": page.get("product_id"),
        "product_handle": page.get("product_handle"),
        "referrer": page.get("referrer"),
        "locale": locale,
    }


def client_record(
    shop_id: int, public_id: str, event: dict[str, Any], received: float
) -> dict[str, Any]:
    """The buffered record of an event the widget sent (already validated)."""
    record = {**event, "shop": shop_id, "visitor": public_id, "received": received}
    cart = record.pop("cart", None)
    if cart:
        record["cart_token"] = cart.get("token")
        record["cart_total"] = cart.get("total_price")
        record["cart_item_count"] = cart.get("item_count")
        record["cart_currency"] = cart.get("currency")
    return record


@dataclass(slots=True)
class TrackedEvent:
    """One event ready for ``visitor_events``; ``visitor_id`` set by the drain."""

    shop_id: int
    public_id: str
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    url: str | None = None
    page_type: str | None = None
    product_id: str | None = None
    product_handle: str | None = None
    variant_id: str | None = None
    quantity: int | None = None
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    seconds_on_page: int | None = None
    message_id: int | None = None
    cart_token: str | None = None
    cart_total: Decimal | None = None
    cart_item_count: int | None = None
    cart_currency: str | None = None
    locale: str | None = None
    visitor_id: int | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TrackedEvent:
        received = _utc(record["received"])
        event = cls(
            shop_id=int(record["shop"]),
            public_id=str(record["visitor"]),
            event_id=str(record["id"]),
            type=str(record["type"]),
            occurred_at=_occurred_at(record.get("at"), received),
            received_at=received,
            url=record.get("url"),
            product_id=_text(record.get("product_id"), 64),
            product_handle=_text(record.get("product_handle")),
            variant_id=_text(record.get("variant_id"), 64),
            quantity=record.get("quantity"),
            referrer=record.get("referrer"),
            seconds_on_page=record.get("seconds_on_page"),
            message_id=record.get("message_id"),
            cart_token=_cart_token(record.get("cart_token")),
            cart_total=_money(record.get("cart_total")),
            cart_item_count=record.get("cart_item_count"),
            cart_currency=_text(record.get("cart_currency"), 3),
            locale=_text(record.get("locale"), 16),
        )
        if event.type == PAGE_VIEW:
            event.page_type = PAGE_TYPES.get(record.get("page_type") or "", OTHER_PAGE)
            event.add_utm_tags()
        return event

    def add_utm_tags(self) -> None:
        """Fill the utm_* fields from the page URL's query string."""
        if not self.url or "utm_" not in self.url:
            return
        for name, value in parse_qsl(urlsplit(self.url).query):
            if name in UTM_TAGS and value:
                setattr(self, name, _text(value))

    def row(self) -> dict[str, Any]:
        """Column values for ``visitor_events``."""
        # Not dataclasses.asdict, which deep-copies every value: a tenth of
        # the drain's CPU (bench/tracking.py under py-spy).
        return {name: getattr(self, name) for name in ROW_FIELDS}


# The columns of ``visitor_events`` an event fills.
ROW_FIELDS = tuple(
    field.name for field in fields(TrackedEvent) if field.name != "public_id"
)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(float(timestamp), UTC)


def _occurred_at(timestamp: float | None, received: datetime) -> datetime:
    if timestamp is None:
        return received
    occurred = _utc(timestamp)
    if received - CLOCK_SKEW_PAST <= occurred <= received + CLOCK_SKEW_FUTURE:
        return occurred
    return received


def _text(value: object, limit: int = SHORT_TEXT) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:limit]


def _cart_token(value: object) -> str | None:
    if not value:
        return None
    return _text(str(value).split("?", 1)[0])


def _money(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
