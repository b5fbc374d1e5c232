"""Apply the platform's news of a cart, checkout or order to our records.

Deliveries arrive late, twice and out of order, so each record keeps the
platform's ``updated_at`` of the state we hold, and older news is ignored.
Facts that only ever become true (a checkout completed, a cart ordered from)
are never undone by older news either.

News of one cart or checkout and of the order placed from it can reach two
workers at the same moment. Each reads the other's rows before either has
committed, so neither would see that the checkout became an order, and its
reminders would go on. On PostgreSQL each application therefore takes
transaction-scoped advisory locks on the checkout and cart it names
(checkout first, then cart, always in that order, so two never deadlock)
and news of the same purchase takes turns; news of other carts goes on in
parallel. SQLite, for the demo's single worker, takes none.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy import func, select, text, update

from engine import game, reminders
from engine.binding.person import link_checkout
from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.db import db
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

Record = TypeVar("Record", Cart, Checkout, Order)

# The advisory lock families; a key is a 64-bit hash of family, shop and
# token (a collision only makes two purchases' news take turns).
CHECKOUT_LOCK = "revisit.checkout"
CART_LOCK = "revisit.cart"


def apply_cart(shop: Shop, payload: dict[str, Any]) -> Cart | None:
    """Apply a ``carts/create`` or ``carts/update`` payload (keyed by ``token``)."""
    token = str(payload.get("token") or payload.get("id") or "")
    if not token:
        raise ValueError("Cart payload has no 'token'.")

    _take_turn(shop, CART_LOCK, token)
    updated_at = parse_time(payload.get("updated_at"))
    cart = _record_to_update(Cart, shop, updated_at, token=token)
    if cart is None:
        return None

    lines = payload.get("line_items") or []
    cart.platform_updated_at = updated_at
    cart.platform_created_at = parse_time(payload.get("created_at"))
    cart.currency = payload.get("currency") or cart.currency
    cart.item_count = sum(int(line.get("quantity") or 0) for line in lines)
    cart.total_price = _cart_total(payload, lines)
    cart.line_items = _line_items(shop, lines)
    db.session.add(cart)

    if cart.ordered_at is None:
        ordered_at = _order_time_for(shop, cart_token=token)
        cart.ordered_at = ordered_at or _checkout_completed_at(shop, token)
    reminders.note_cart_activity(shop, cart)
    return cart


def apply_checkout(shop: Shop, payload: dict[str, Any]) -> Checkout | None:
    """Apply a ``checkouts/create`` or ``checkouts/update`` payload."""
    token = str(payload.get("token") or "")
    if not token:
        raise ValueError("Checkout payload has no 'token'.")

    _take_turn(shop, CHECKOUT_LOCK, token)
    updated_at = parse_time(payload.get("updated_at"))
    checkout = _record_to_update(Checkout, shop, updated_at, token=token)
    if checkout is None:
        return None

    customer = payload.get("customer") or {}
    checkout.platform_updated_at = updated_at
    checkout.platform_created_at = parse_time(payload.get("created_at"))
    checkout.cart_token = payload.get("cart_token") or checkout.cart_token
    _take_turn(shop, CART_LOCK, checkout.cart_token)
    checkout.customer_id = _platform_id(customer.get("id")) or checkout.customer_id
    checkout.email = payload.get("email") or customer.get("email") or checkout.email
    checkout.phone = payload.get("phone") or customer.get("phone") or checkout.phone
    checkout.first_name = customer.get("first_name") or checkout.first_name
    checkout.abandoned_checkout_url = payload.get("abandoned_checkout_url")
    checkout.currency = payload.get("presentment_currency") or payload.get("currency")
    checkout.total_price = money(payload.get("total_price"))
    checkout.line_items = _line_items(shop, payload.get("line_items") or [])
    db.session.add(checkout)

    if checkout.completed_at is None:
        checkout.completed_at = parse_time(payload.get("completed_at"))
    if checkout.completed_at is None:
        checkout.completed_at = _order_time_for(shop, checkout_token=token)
    if checkout.completed_at is None and checkout.cart_token:
        checkout.completed_at = _order_time_for(shop, cart_token=checkout.cart_token)
    # The checkout names its customer: their visitors become one person.
    link_checkout(shop, checkout)
    reminders.note_checkout_activity(shop, checkout)
    return checkout


def apply_order(shop: Shop, payload: dict[str, Any]) -> Order | None:
    """Apply an ``orders/create``, ``orders/paid`` or ``orders/cancelled`` payload.

    Also marks the checkout and cart the order came from as completed, which
    is what stops reminders for them.
    """
    order_id = _platform_id(payload.get("id"))
    if not order_id:
        raise ValueError("Order payload has no 'id'.")

    _take_turn(shop, CHECKOUT_LOCK, payload.get("checkout_token"))
    _take_turn(shop, CART_LOCK, payload.get("cart_token"))
    updated_at = parse_time(payload.get("updated_at"))
    order = _record_to_update(Order, shop, updated_at, order_id=order_id)
    if order is None:
        return None

    _fill_order(order, payload, updated_at)
    order.line_items = _line_items(shop, payload.get("line_items") or [])
    db.session.add(order)
    db.session.flush()

    _complete_sources(shop, order)
    reminders.stop_for_order(shop, order)
    game.note_order(shop, order, payload)
    return order


def _take_turn(shop: Shop, kind: str, token: object) -> None:
    """Wait for any other worker's news of this cart or checkout to commit."""
    if not token or db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"{kind}:{shop.id}:{token}".encode(), digest_size=8)
    key = int.from_bytes(digest.digest(), "big", signed=True)
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _fill_order(order: Order, payload: dict[str, Any], updated_at: datetime) -> None:
    customer = payload.get("customer") or {}
    order.platform_updated_at = updated_at
    order.name = payload.get("name")
    order.checkout_token = payload.get("checkout_token") or order.checkout_token
    order.cart_token = payload.get("cart_token") or order.cart_token
    order.customer_id = _platform_id(customer.get("id")) or order.customer_id
    order.email = payload.get("email") or customer.get("email") or order.email
    order.phone = payload.get("phone") or customer.get("phone") or order.phone
    order.currency = payload.get("presentment_currency") or payload.get("currency")
    order.total_price = money(payload.get("total_price"))
    order.financial_status = payload.get("financial_status")
    order.placed_at = parse_time(payload.get("created_at")) or updated_at
    order.cancelled_at = parse_time(payload.get("cancelled_at"))
    if order.paid_at is None and order.financial_status == "paid":
        order.paid_at = parse_time(payload.get("processed_at")) or updated_at


def _complete_sources(shop: Shop, order: Order) -> None:
    when = order.placed_at
    if order.checkout_token:
        db.session.execute(
            update(Checkout)
            .where(
                Checkout.shop_id == shop.id,
                Checkout.token == order.checkout_token,
                Checkout.completed_at.is_(None),
            )
            .values(completed_at=when)
        )
    if order.cart_token:
        db.session.execute(
            update(Cart)
            .where(
                Cart.shop_id == shop.id,
                Cart.token == order.cart_token,
                Cart.ordered_at.is_(None),
            )
            .values(ordered_at=when)
        )
        db.session.execute(
            update(Checkout)
            .where(
                Checkout.shop_id == shop.id,
                Checkout.cart_token == order.cart_token,
                Checkout.completed_at.is_(None),
            )
            .values(completed_at=when)
        )


def _order_time_for(
    shop: Shop, *, cart_token: str | None = None, checkout_token: str | None = None
) -> datetime | None:
    """When an already-known order was placed from this cart or checkout."""
    query = select(Order.placed_at).where(Order.shop_id == shop.id)
    if cart_token is not None:
        query = query.where(Order.cart_token == cart_token)
    if checkout_token is not None:
        query = query.where(Order.checkout_token == checkout_token)
    return db.session.scalar(query.limit(1))


def _checkout_completed_at(shop: Shop, cart_token: str) -> datetime | None:
    """When a checkout of this cart became an order: an order may name only
    its checkout, and news of the cart may come after both."""
    return db.session.scalar(
        select(func.min(Checkout.completed_at)).where(
            Checkout.shop_id == shop.id,
            Checkout.cart_token == cart_token,
            Checkout.completed_at.is_not(None),
        )
    )


def _record_to_update(
    model: type[Record], shop: Shop, updated_at: datetime | None, **key: str
) -> Record | None:
    """The shop's record under ``key`` (new if unknown), or None if we hold newer.

    Older news, and news without a time once we hold a timed state, is ignored.
    """
    query = select(model).where(model.shop_id == shop.id).filter_by(**key)
    record = db.session.scalar(query)
    if record is None:
        return model(shop_id=shop.id, **key)

    held = record.platform_updated_at
    if held is not None and (updated_at is None or updated_at < held):
        logger.info(
            "commerce.stale_update_ignored",
            extra={"shop_id": shop.id, "kind": model.__tablename__, **key},
        )
        return None
    return record


def _line_items(shop: Shop, lines: list[dict[str, Any]]) -> list[LineItem]:
    return [
        LineItem(
            shop_id=shop.id,
            position=position,
            product_id=_platform_id(line.get("product_id")),
            variant_id=_platform_id(line.get("variant_id")),
            title=str(line.get("title") or "")[:512],
            variant_title=line.get("variant_title"),
            sku=line.get("sku"),
            quantity=int(line.get("quantity") or 1),
            price=money(line.get("price")),
        )
        for position, line in enumerate(lines)
    ]


def _cart_total(payload: dict[str, Any], lines: list[dict[str, Any]]) -> Decimal | None:
    if payload.get("total_price") is not None:
        return money(payload["total_price"])
    totals = [money(line.get("line_price")) for line in lines]
    if any(total is None for total in totals):
        return None
    return sum(totals, Decimal("0"))


def money(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"Not a money amount: {value!r}.") from exc


def parse_time(value: object) -> datetime | None:
    """Parse the platform's ISO 8601 timestamps; naive ones are refused."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"Timestamp without a zone: {value!r}.")
    return parsed


def _platform_id(value: object) -> str | None:
    """Numeric ids and GraphQL ids (gid://shopify/Order/1) both become '1'."""
    if value in (None, ""):
        return None
    return str(value).rsplit("/", 1)[-1]
