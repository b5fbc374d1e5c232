"""A visitor's footprint: what they browsed, how often they came, their cart.

The drain keeps it current as it writes events (``FootprintState``); the chat
sidebar, on-site messages and reminders read it (``footprint_for``,
``footprint_of``). It lives in the visitor's row, so it goes with the visitor.

Decisions: a *visit* starts with a page view or a cart change that comes more
than ``VISIT_GAP`` (30 minutes) after the visitor's previous activity, the
usual web-analytics session rule; any event counts as activity. ``orders``
counts the visitor's carts that became orders (carts are linked to visitors
by the cart token the widget reports).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select, update

from engine.commerce.models import Cart
from engine.db import db, unnested
from engine.shops.models import Shop
from engine.tracking import reads
from engine.tracking.events import CART_TYPES, PAGE_VIEW, TrackedEvent
from engine.visitors.models import Visitor

VISIT_GAP = timedelta(minutes=30)
RECENT_PRODUCTS = 20

# The footprint columns the drain writes.
WRITTEN_COLUMNS = (
    "first_seen_at",
    "last_seen_at",
    "page_views",
    "visit_count",
    "products_viewed",
    "last_page_url",
    "last_page_type",
    "last_cart_token",
    "last_cart_total",
    "last_cart_item_count",
    "last_cart_currency",
    "last_cart_at",
)
_visitors = Visitor.__table__
# SQLite: one UPDATE per visitor, bound as many times as the batch has visitors.
UPDATE_FOOTPRINT = (
    update(_visitors)
    .where(_visitors.c.id == bindparam("b_id"))
    .values(
        {
            name: bindparam(name, type_=_visitors.c[name].type)
            for name in WRITTEN_COLUMNS
        }
    )
)
# PostgreSQL: one UPDATE for the whole batch, from one array per column. A
# statement per visitor cost the drain and the database more than the
# events' own insert.
_FOOTPRINTS = unnested(
    {"b_id": _visitors.c.id} | {name: _visitors.c[name] for name in WRITTEN_COLUMNS}
)
UPDATE_FOOTPRINTS = (
    update(_visitors)
    .where(_visitors.c.id == _FOOTPRINTS.c.b_id)
    .values({name: _FOOTPRINTS.c[name] for name in WRITTEN_COLUMNS})
)

FOOTPRINT_COLUMNS = (
    Visitor.id,
    Visitor.public_id,
    Visitor.first_seen_at,
    Visitor.last_seen_at,
    Visitor.page_views,
    Visitor.visit_count,
    Visitor.products_viewed,
    Visitor.last_page_url,
    Visitor.last_page_type,
    Visitor.last_cart_token,
    Visitor.last_cart_total,
    Visitor.last_cart_item_count,
    Visitor.last_cart_currency,
    Visitor.last_cart_at,
)


@dataclass(frozen=True)
class ProductView:
    product_id: str | None
    handle: str | None
    views: int
    last_viewed_at: datetime


@dataclass(frozen=True)
class CartSnapshot:
    """The visitor's cart as the widget last saw it (token without its key)."""

    token: str
    total: Decimal | None
    item_count: int | None
    currency: str | None
    seen_at: datetime | None
    ordered: bool


@dataclass(frozen=True)
class Footprint:
    visitor_id: int
    public_id: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    page_views: int
    visit_count: int
    last_page_url: str | None
    last_page_type: str | None
    products_viewed: tuple[ProductView, ...]
    last_cart: CartSnapshot | None
    orders: int

    def visits_with_page_view_at(self, now: datetime) -> int:
        """The visit count once a page view at ``now`` is counted."""
        if self.visit_count == 0 or self.last_seen_at is None:
            return self.visit_count + 1
        if now - self.last_seen_at > VISIT_GAP:
            return self.visit_count + 1
        return self.visit_count

    @property
    def open_cart_total(self) -> Decimal:
        """The last cart's total, or 0 once that cart became an order."""
        cart = self.last_cart
        if cart is None or cart.ordered or cart.total is None:
            return Decimal(0)
        return cart.total


def footprint_for(shop: Shop, visitor: Visitor) -> Footprint:
    """The footprint of one of the shop's visitors (fresh from the database)."""
    row = db.session.execute(
        _footprint_query().where(Visitor.shop_id == shop.id, Visitor.id == visitor.id)
    ).one()
    return _footprint(row)


def footprint_of(shop_id: int, public_id: str) -> Footprint | None:
    """The footprint behind a verified visitor id; None before its first drain.

    The page endpoint's read: one round trip (``engine.tracking.reads``).
    """
    row = reads.first_row(_BY_PUBLIC_ID, shop_id=shop_id, public_id=public_id)
    return None if row is None else _footprint(row)


def _footprint_query() -> Select:
    orders = (
        select(func.count())
        .where(
            Cart.shop_id == Visitor.shop_id,
            Cart.visitor_id == Visitor.id,
            Cart.ordered_at.is_not(None),
        )
        .scalar_subquery()
    )
    last_cart_ordered_at = (
        select(Cart.ordered_at)
        .where(Cart.shop_id == Visitor.shop_id, Cart.token == Visitor.last_cart_token)
        .scalar_subquery()
    )
    return select(
        *FOOTPRINT_COLUMNS,
        orders.label("orders"),
        last_cart_ordered_at.label("last_cart_ordered_at"),
    )


_BY_PUBLIC_ID = _footprint_query().where(
    Visitor.shop_id == bindparam("shop_id"),
    Visitor.public_id == bindparam("public_id"),
)


def _footprint(row: Row) -> Footprint:
    cart = None
    if row.last_cart_token:
        cart = CartSnapshot(
            token=row.last_cart_token,
            total=row.last_cart_total,
            item_count=row.last_cart_item_count,
            currency=row.last_cart_currency,
            seen_at=row.last_cart_at,
            ordered=row.last_cart_ordered_at is not None,
        )
    return Footprint(
        visitor_id=row.id,
        public_id=row.public_id,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        page_views=row.page_views,
        visit_count=row.visit_count,
        last_page_url=row.last_page_url,
        last_page_type=row.last_page_type,
        products_viewed=tuple(
            ProductView(
                product_id=item.get("product_id"),
                handle=item.get("handle"),
                views=item["views"],
                last_viewed_at=datetime.fromisoformat(item["last_viewed_at"]),
            )
            for item in row.products_viewed or ()
        ),
        last_cart=cart,
        orders=row.orders,
    )


@dataclass
class FootprintState:
    """A footprint being brought up to date by the drain, event by event."""

    visitor_id: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    page_views: int
    visit_count: int
    products_viewed: list[dict[str, Any]] = field(default_factory=list)
    last_page_url: str | None = None
    last_page_type: str | None = None
    last_cart_token: str | None = None
    last_cart_total: Decimal | None = None
    last_cart_item_count: int | None = None
    last_cart_currency: str | None = None
    last_cart_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Row) -> FootprintState:
        return cls(
            visitor_id=row.id,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            page_views=row.page_views,
            visit_count=row.visit_count,
            products_viewed=list(row.products_viewed or []),
            last_page_url=row.last_page_url,
            last_page_type=row.last_page_type,
            last_cart_token=row.last_cart_token,
            last_cart_total=row.last_cart_total,
            last_cart_item_count=row.last_cart_item_count,
            last_cart_currency=row.last_cart_currency,
            last_cart_at=row.last_cart_at,
        )

    def apply(self, event: TrackedEvent) -> None:
        """Count one new event (events of a visitor come oldest first)."""
        at = event.occurred_at
        newest = self.last_seen_at is None or at >= self.last_seen_at
        if self._opens_visit(event):
            self.visit_count += 1
        if newest:
            self.last_seen_at = at
        if self.first_seen_at is None or at < self.first_seen_at:
            self.first_seen_at = at

        if event.type == PAGE_VIEW:
            self.page_views += 1
            if newest:
                self.last_page_url = event.url
                self.last_page_type = event.page_type
            if event.product_id or event.product_handle:
                self._viewed_product(event)
        elif event.type in CART_TYPES and event.cart_token:
            if self.last_cart_at is None or at >= self.last_cart_at:
                self.last_cart_token = event.cart_token
                self.last_cart_total = event.cart_total
                self.last_cart_item_count = event.cart_item_count
                self.last_cart_currency = event.cart_currency
                self.last_cart_at = at

    def values(self) -> dict[str, Any]:
        """Bind values for ``UPDATE_FOOTPRINT``."""
        values = {name: getattr(self, name) for name in WRITTEN_COLUMNS}
        values["products_viewed"] = self.products_viewed or None
        values["b_id"] = self.visitor_id
        return values

    def _opens_visit(self, event: TrackedEvent) -> bool:
        if self.visit_count == 0 or self.last_seen_at is None:
            return True
        acts = event.type == PAGE_VIEW or event.type in CART_TYPES
        return acts and event.occurred_at - self.last_seen_at > VISIT_GAP

    def _viewed_product(self, event: TrackedEvent) -> None:
        at = event.occurred_at.isoformat()
        for index, item in enumerate(self.products_viewed):
            if _same_product(item, event):
                item = {
                    **item,
                    "views": item["views"] + 1,
                    "last_viewed_at": at,
                    "handle": event.product_handle or item.get("handle"),
                }
                del self.products_viewed[index]
                break
        else:
            item = {
                "product_id": event.product_id,
                "handle": event.product_handle,
                "views": 1,
                "last_viewed_at": at,
            }
        self.products_viewed.insert(0, item)
        del self.products_viewed[RECENT_PRODUCTS:]


def _same_product(item: dict[str, Any], event: TrackedEvent) -> bool:
    if event.product_id and item.get("product_id"):
        return item["product_id"] == event.product_id
    return bool(event.product_handle) and item.get("handle") == event.product_handle


def update_footprints(
    states: dict[int, FootprintState], events: list[TrackedEvent]
) -> None:
    """Apply new events to their visitors' footprints and write them back."""
    touched: dict[int, FootprintState] = {}
    for event in sorted(events, key=lambda event: event.occurred_at):
        state = states[event.visitor_id]
        state.apply(event)
        touched[state.visitor_id] = state

    if touched:
        _write_footprints(list(touched.values()))


def _write_footprints(states: list[FootprintState]) -> None:
    values = [state.values() for state in states]
    if db.engine.dialect.name != "postgresql":
        db.session.execute(UPDATE_FOOTPRINT, values)
        return

    arrays = {name: [row[name] for row in values] for name in values[0]}
    # An array of JSON is bound as its elements' text: SQLAlchemy encodes a
    # JSON column's value, not the items of an array of them.
    arrays["products_viewed"] = [
        None if item is None else json.dumps(item) for item in arrays["products_viewed"]
    ]
    db.session.execute(UPDATE_FOOTPRINTS, arrays)
