"""The platform's mandatory privacy requests, carried out for real.

``customers/data_request`` gathers everything we hold on a customer into an
export the merchant can hand over; ``customers/redact`` erases it;
``shop/redact`` (48 hours after an uninstall) erases everything of the shop.
A customer is matched by platform customer id, e-mail and phone, since
carts and visitors may know only one of them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, delete, false, or_, select, update

from engine.binding.models import ChannelBinding, ConsentRecord
from engine.chat.privacy import customer_conversations, forget_conversations
from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.db import db
from engine.game.privacy import customer_wallets, forget_customer
from engine.privacy.models import DataExport
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from engine.webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)


def export_customer_data(shop: Shop, payload: dict[str, Any]) -> DataExport:
    """Build and store the export for a ``customers/data_request``."""
    customer = payload.get("customer") or {}
    order_ids = [str(order_id) for order_id in payload.get("orders_requested") or []]
    visitors = _visitors(shop, customer)
    checkouts = _checkouts(shop, customer)
    orders = _orders(shop, customer, order_ids)

    document = {
        "shop_domain": shop.shop_domain,
        "customer": {key: customer.get(key) for key in ("id", "email", "phone")},
        "visitors": [_visitor_dict(visitor) for visitor in visitors],
        "checkouts": [_checkout_dict(checkout) for checkout in checkouts],
        "orders": [_order_dict(order) for order in orders],
        "bonus_wallets": customer_wallets(shop, _str(customer.get("id"))),
        "chat_conversations": customer_conversations(
            shop, [visitor.id for visitor in visitors]
        ),
    }
    export = DataExport(
        shop_id=shop.id,
        data_request_id=str((payload.get("data_request") or {}).get("id") or ""),
        customer_id=_str(customer.get("id")),
        customer_email=customer.get("email"),
        document=document,
    )
    db.session.add(export)
    logger.info(
        "privacy.customer_data_exported",
        extra={"shop_id": shop.id, "records": len(visitors + checkouts + orders)},
    )
    return export


def redact_customer(shop: Shop, payload: dict[str, Any]) -> None:
    """Erase a customer's personal data for a ``customers/redact``.

    Visitors, carts, checkouts and LINE or Messenger bindings (with their
    consent records) go entirely. Orders stay, stripped of
    everything that identifies the person, because the merchant's revenue
    figures count them.
    """
    customer = payload.get("customer") or {}
    order_ids = [str(order_id) for order_id in payload.get("orders_to_redact") or []]
    visitors = _visitors(shop, customer)
    checkouts = _checkouts(shop, customer)
    orders = _orders(shop, customer, order_ids)

    # A cart names nobody itself; it is the customer's through a visitor, or
    # through the cart token of their checkout or order.
    visitor_ids = [visitor.id for visitor in visitors]
    cart_tokens = {row.cart_token for row in [*checkouts, *orders] if row.cart_token}
    carts = db.session.scalars(
        select(Cart).where(
            Cart.shop_id == shop.id,
            or_(Cart.visitor_id.in_(visitor_ids), Cart.token.in_(cart_tokens)),
        )
    )
    for record in [*carts, *checkouts]:
        db.session.delete(record)
    for order in orders:
        order.customer_id = order.email = order.phone = None
        order.visitor_id = None
    # Before the bindings go: they lead to conversations of LINE/Messenger accounts.
    forget_conversations(shop, visitor_ids)
    _erase_bindings(shop, visitor_ids)
    for visitor in visitors:
        db.session.delete(visitor)
    forget_customer(shop, _str(customer.get("id")))
    db.session.execute(
        delete(DataExport).where(
            DataExport.shop_id == shop.id,
            _matches(DataExport.customer_id, DataExport.customer_email, customer),
        )
    )
    logger.info("privacy.customer_redacted", extra={"shop_id": shop.id})


def _erase_bindings(shop: Shop, visitor_ids: list[int]) -> None:
    """Erase the customer's bindings and consents, on every device bound to
    the same LINE or Messenger accounts (a device may never have logged in)."""
    accounts = db.session.execute(
        select(ChannelBinding.channel, ChannelBinding.external_id).where(
            ChannelBinding.shop_id == shop.id,
            ChannelBinding.visitor_id.in_(visitor_ids),
        )
    ).all()
    for model in (ConsentRecord, ChannelBinding):
        same_account = [
            (model.channel == channel) & (model.external_id == external_id)
            for channel, external_id in accounts
        ]
        db.session.execute(
            delete(model).where(
                model.shop_id == shop.id,
                or_(model.visitor_id.in_(visitor_ids), *same_account),
            )
        )


def redact_shop(shop: Shop) -> None:
    """Erase everything held for a shop, for ``shop/redact``.

    Every table with a ``shop_id`` is emptied of the shop's rows, children
    first, so a feature added later is erased without being listed here.
    Webhook deliveries keep their bare record (they dedupe redeliveries) but
    lose their bodies, matched by domain too: a delivery that never applied
    was never linked to the shop by id.
    """
    shop_id = shop.id
    db.session.execute(
        update(WebhookDelivery)
        .where(
            or_(
                WebhookDelivery.shop_id == shop_id,
                WebhookDelivery.shop_domain == shop.shop_domain,
            )
        )
        .values(payload=None, shop_id=None)
    )
    for table in reversed(db.metadata.sorted_tables):
        if "shop_id" in table.c and table.name != WebhookDelivery.__tablename__:
            db.session.execute(delete(table).where(table.c.shop_id == shop_id))
    db.session.delete(shop)
    logger.info("privacy.shop_redacted", extra={"shop_id": shop_id})


def _visitors(shop: Shop, customer: dict[str, Any]) -> list[Visitor]:
    condition = _matches(Visitor.customer_id, Visitor.email, customer, Visitor.phone)
    return list(
        db.session.scalars(select(Visitor).where(Visitor.shop_id == shop.id, condition))
    )


def _checkouts(shop: Shop, customer: dict[str, Any]) -> list[Checkout]:
    condition = _matches(Checkout.customer_id, Checkout.email, customer, Checkout.phone)
    return list(
        db.session.scalars(
            select(Checkout).where(Checkout.shop_id == shop.id, condition)
        )
    )


def _orders(shop: Shop, customer: dict[str, Any], order_ids: list[str]) -> list[Order]:
    condition = _matches(Order.customer_id, Order.email, customer, Order.phone)
    if order_ids:
        condition = or_(condition, Order.order_id.in_(order_ids))
    return list(
        db.session.scalars(select(Order).where(Order.shop_id == shop.id, condition))
    )


def _matches(
    id_column: ColumnElement,
    email_column: ColumnElement,
    customer: dict[str, Any],
    phone_column: ColumnElement | None = None,
) -> ColumnElement[bool]:
    """A condition true for rows that name this customer by id, e-mail or phone.

    Phones are compared as written, unlike the reminders' looser match
    (``engine.reminders.identity``): a number that matched another person
    would export or erase that person's data.
    """
    clauses = []
    if customer.get("id") is not None:
        clauses.append(id_column == _str(customer["id"]))
    if customer.get("email"):
        clauses.append(email_column == customer["email"])
    if phone_column is not None and customer.get("phone"):
        clauses.append(phone_column == customer["phone"])
    # No identifier at all must match nothing, never everything.
    return or_(*clauses) if clauses else false()


def _visitor_dict(visitor: Visitor) -> dict[str, Any]:
    return {
        "public_id": visitor.public_id,
        "email": visitor.email,
        "phone": visitor.phone,
        "first_name": visitor.first_name,
        "first_seen": visitor.created_at.isoformat(),
        "last_seen": visitor.last_seen_at.isoformat(),
    }


def _checkout_dict(checkout: Checkout) -> dict[str, Any]:
    return {
        "token": checkout.token,
        "email": checkout.email,
        "phone": checkout.phone,
        "total_price": _str(checkout.total_price),
        "currency": checkout.currency,
        "completed_at": _iso(checkout.completed_at),
        "items": [_item_dict(item) for item in checkout.line_items],
    }


def _order_dict(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "name": order.name,
        "email": order.email,
        "phone": order.phone,
        "total_price": _str(order.total_price),
        "currency": order.currency,
        "placed_at": _iso(order.placed_at),
        "items": [_item_dict(item) for item in order.line_items],
    }


def _item_dict(item: LineItem) -> dict[str, Any]:
    return {"title": item.title, "quantity": item.quantity, "price": _str(item.price)}


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat() if value else None
