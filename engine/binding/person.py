"""One shopper across devices: visitors that are the same store customer.

A visitor becomes a known customer when the store vouches for it: the app
proxy's signed ``logged_in_customer_id`` (the shopper logged in), or a
checkout the platform reported with its customer and the visitor's cart.
Visitors of one customer then share their bindings: a shopper who bound
LINE on the phone and logs in on the desktop gets the desktop's carts
reminded on that LINE account, and anything said of the account (opted out,
unfollowed) reaches both, since both bindings name it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from engine.binding.models import ChannelBinding
from engine.commerce.models import Cart, Checkout
from engine.db import db, utcnow
from engine.reminders.rechecks import recheck_carts_later
from engine.shops.models import Shop
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)

# What a copied binding carries over from the one it copies.
_ACCOUNT_FIELDS = (
    "external_id",
    "reachable",
    "last_inbound_at",
    "snoozed_until",
    "unsubscribed_at",
    "marketing_consent",
    "consented_at",
    "bound_via",
    "tag",
)


def visitor_for(shop: Shop, public_id: str) -> Visitor:
    """The shop's visitor with this (verified) public id, created if new.

    A visitor can bind before the tracking drain wrote its first event, so
    the row may not exist yet; the insert ignores a concurrent one.
    """
    visitor = existing_visitor(shop, public_id)
    if visitor is not None:
        return visitor
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    now = utcnow()
    db.session.execute(
        dialect.insert(Visitor)
        .values(shop_id=shop.id, public_id=public_id, created_at=now, last_seen_at=now)
        .on_conflict_do_nothing()
    )
    return existing_visitor(shop, public_id)


def existing_visitor(shop: Shop, public_id: str) -> Visitor | None:
    return db.session.scalar(
        select(Visitor).where(
            Visitor.shop_id == shop.id, Visitor.public_id == public_id
        )
    )


def link_customer(shop: Shop, visitor: Visitor, customer_id: str) -> int:
    """The store vouched that ``visitor`` is customer ``customer_id``.

    Returns how many bindings the customer's visitors gained. The caller
    commits; then, if any were gained, the customer's open carts are looked
    at again, since a device that could not be reminded now can.
    """
    visitor.customer_id = customer_id
    db.session.flush()
    added = share_bindings(shop, visitor)
    if added:
        recheck_carts_later(shop.id, {visitor.id})
    logger.info(
        "binding.customer_linked",
        extra={"shop_id": shop.id, "visitor_id": visitor.id, "shared": added},
    )
    return added


def link_checkout(shop: Shop, checkout: Checkout) -> None:
    """A checkout with a customer and a cart of a visitor: they are one person."""
    if not checkout.customer_id or not checkout.cart_token:
        return
    visitor = db.session.scalar(
        select(Visitor)
        .join(Cart, Cart.visitor_id == Visitor.id)
        .where(Cart.shop_id == shop.id, Cart.token == checkout.cart_token)
    )
    if visitor is not None and visitor.customer_id != checkout.customer_id:
        link_customer(shop, visitor, checkout.customer_id)


def share_bindings(shop: Shop, visitor: Visitor) -> int:
    """Give every visitor of the visitor's customer the customer's bindings.

    A visitor already bound on a channel keeps its own account there.
    Returns how many bindings were added.
    """
    if not visitor.customer_id:
        return 0
    visitor_ids = set(
        db.session.scalars(
            select(Visitor.id).where(
                Visitor.shop_id == shop.id, Visitor.customer_id == visitor.customer_id
            )
        )
    )
    bindings = list(
        db.session.scalars(
            select(ChannelBinding)
            .where(
                ChannelBinding.shop_id == shop.id,
                ChannelBinding.visitor_id.in_(visitor_ids),
            )
            .order_by(ChannelBinding.updated_at.desc())
        )
    )
    bound = {(b.visitor_id, b.channel) for b in bindings}
    added = 0
    for source in bindings:
        for visitor_id in visitor_ids:
            if (visitor_id, source.channel) in bound:
                continue
            copy = ChannelBinding(
                shop_id=shop.id, visitor_id=visitor_id, channel=source.channel
            )
            for name in _ACCOUNT_FIELDS:
                setattr(copy, name, getattr(source, name))
            db.session.add(copy)
            bound.add((visitor_id, source.channel))
            added += 1
    db.session.flush()
    return added
