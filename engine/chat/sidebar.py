"""What the panel shows beside a conversation: who the shopper is to the shop.

The shopper is the conversation's visitor (or, for a LINE or Messenger
conversation started before the account was bound, the visitor bound to
it) and every visitor that is the same person: the same customer, or bound
to the same account (``engine.chat.conversations.person_visitor_ids``).
Their orders are matched the way reminders match a person
(``engine.reminders.identity``): by those visitors, their carts, and the
customer ids, e-mails and phones they or their checkouts carry.

A conversation with no visitor at all (a LINE user who never bound) has
no footprint, cart, orders, wallet or reminders; its bindings part names
the account it writes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select

from engine.binding.models import ChannelBinding
from engine.chat.casework import iso, own_conversation
from engine.chat.conversations import person_visitor_ids
from engine.chat.models import LINE, MESSENGER, Conversation
from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.db import db
from engine.game.models import GameWallet
from engine.game.shopper import wallet_for_shopper
from engine.game.wallets import owner_key
from engine.reminders.history import sent_reminders_for
from engine.shops.models import Shop
from engine.tracking.events import PAGE_VIEW
from engine.tracking.footprint import footprint_for
from engine.tracking.models import VisitorEvent
from engine.visitors.models import Visitor

ORDERS_SHOWN = 10
RECENT_PAGES = 10


@dataclass(frozen=True)
class Shopper:
    """The person behind a conversation, as far as the shop knows them."""

    visitor: Visitor | None
    visitor_ids: frozenset[int] = frozenset()
    customer_ids: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    # The conversation's own LINE / Messenger accounts: (channel, id).
    accounts: tuple[tuple[str, str], ...] = field(default=())


def shopper_context(shop: Shop, conversation: Conversation) -> dict[str, Any]:
    """The panel's sidebar for a conversation: footprint, cart, orders, wallet,
    bindings and reminders sent.

    Commits: reading a bonus wallet settles its expiry first
    (``engine.game.shopper``).
    """
    own_conversation(shop, conversation)
    shopper = shopper_of(shop, conversation)
    # First, since it commits and everything read before would be reloaded.
    wallet = _wallet(shop, shopper.visitor)
    visitor = shopper.visitor
    return {
        "visitor": _visitor_dict(visitor),
        "footprint": _footprint(shop, shopper),
        "cart": _live_cart(shop, shopper),
        "orders": [_order_dict(order) for order in orders_of(shop, shopper)],
        "wallet": wallet,
        "bindings": _bindings(shop, shopper),
        "reminders": _reminders(shop, visitor),
    }


def shopper_of(shop: Shop, conversation: Conversation) -> Shopper:
    """The conversation's person: their visitors and how the shop knows them."""
    accounts = tuple(
        (channel, account)
        for channel, account in (
            (LINE, conversation.line_user_id),
            (MESSENGER, conversation.messenger_psid),
        )
        if account
    )
    visitor = _visitor_of(shop, conversation, accounts)
    if visitor is None:
        return Shopper(visitor=None, accounts=accounts)

    ids = person_visitor_ids(shop, visitor)
    contacts = db.session.execute(
        select(Visitor.customer_id, Visitor.email, Visitor.phone).where(
            Visitor.shop_id == shop.id, Visitor.id.in_(ids)
        )
    ).all()
    contacts += db.session.execute(
        select(Checkout.customer_id, Checkout.email, Checkout.phone).where(
            Checkout.shop_id == shop.id, Checkout.visitor_id.in_(ids)
        )
    ).all()
    return Shopper(
        visitor=visitor,
        visitor_ids=frozenset(ids),
        customer_ids=frozenset(row.customer_id for row in contacts if row.customer_id),
        emails=frozenset(row.email for row in contacts if row.email),
        phones=frozenset(row.phone for row in contacts if row.phone),
        accounts=accounts,
    )


def orders_of(shop: Shop, shopper: Shopper, limit: int = ORDERS_SHOWN) -> list[Order]:
    """The person's latest orders, newest first."""
    if shopper.visitor is None:
        return []
    visitor_carts = select(Cart.token).where(
        Cart.shop_id == shop.id, Cart.visitor_id.in_(shopper.visitor_ids)
    )
    placed = func.coalesce(Order.placed_at, Order.created_at)
    return list(
        db.session.scalars(
            select(Order)
            .where(
                Order.shop_id == shop.id,
                or_(
                    Order.visitor_id.in_(shopper.visitor_ids),
                    Order.cart_token.in_(visitor_carts),
                    _contact_matches(Order, shopper),
                ),
            )
            .order_by(placed.desc(), Order.id.desc())
            .limit(limit)
        )
    )


def _visitor_of(
    shop: Shop, conversation: Conversation, accounts: tuple[tuple[str, str], ...]
) -> Visitor | None:
    if conversation.visitor_id is not None:
        return db.session.scalar(
            select(Visitor).where(
                Visitor.shop_id == shop.id, Visitor.id == conversation.visitor_id
            )
        )
    if not accounts:
        return None
    # An account bound after its conversation started: its visitor.
    return db.session.scalar(
        select(Visitor)
        .join(ChannelBinding, ChannelBinding.visitor_id == Visitor.id)
        .where(ChannelBinding.shop_id == shop.id, _account_matches(accounts))
        .order_by(ChannelBinding.id)
        .limit(1)
    )


def _contact_matches(model: type, shopper: Shopper) -> ColumnElement[bool]:
    clauses = []
    if shopper.customer_ids:
        clauses.append(model.customer_id.in_(shopper.customer_ids))
    if shopper.emails:
        clauses.append(model.email.in_(shopper.emails))
    if shopper.phones:
        clauses.append(model.phone.in_(shopper.phones))
    # No contact at all must match nothing, never everything.
    return or_(*clauses) if clauses else false()


def _account_matches(accounts: tuple[tuple[str, str], ...]) -> ColumnElement[bool]:
    return or_(
        *(
            (ChannelBinding.channel == channel)
            & (ChannelBinding.external_id == account)
            for channel, account in accounts
        )
    )


def _visitor_dict(visitor: Visitor | None) -> dict[str, Any] | None:
    if visitor is None:
        return None
    return {
        "id": visitor.public_id,
        "first_name": visitor.first_name,
        "email": visitor.email,
        "phone": visitor.phone,
        "customer_id": visitor.customer_id,
    }


def _footprint(shop: Shop, shopper: Shopper) -> dict[str, Any] | None:
    if shopper.visitor is None:
        return None
    footprint = footprint_for(shop, shopper.visitor)
    return {
        "last_page": {
            "url": footprint.last_page_url,
            "type": footprint.last_page_type,
            "at": iso(footprint.last_seen_at),
        }
        if footprint.last_page_url
        else None,
        "recent_pages": _recent_pages(shop, shopper),
        "products_viewed": [
            {
                "product_id": product.product_id,
                "handle": product.handle,
                "views": product.views,
                "last_viewed_at": iso(product.last_viewed_at),
            }
            for product in footprint.products_viewed
        ],
        "visit_count": footprint.visit_count,
        "page_views": footprint.page_views,
        "first_seen_at": iso(footprint.first_seen_at),
        "last_seen_at": iso(footprint.last_seen_at),
    }


def _recent_pages(shop: Shop, shopper: Shopper) -> list[dict[str, Any]]:
    """The latest page views still kept (raw events expire; the footprint stays)."""
    rows = db.session.execute(
        select(VisitorEvent.url, VisitorEvent.page_type, VisitorEvent.occurred_at)
        .where(
            VisitorEvent.shop_id == shop.id,
            VisitorEvent.visitor_id.in_(shopper.visitor_ids),
            VisitorEvent.type == PAGE_VIEW,
        )
        .order_by(VisitorEvent.occurred_at.desc())
        .limit(RECENT_PAGES)
    )
    return [
        {"url": row.url, "type": row.page_type, "at": iso(row.occurred_at)}
        for row in rows
    ]


def _live_cart(shop: Shop, shopper: Shopper) -> dict[str, Any] | None:
    """The newest of the person's unordered cart and unfinished checkout."""
    if shopper.visitor is None:
        return None
    cart = db.session.scalar(
        select(Cart)
        .where(
            Cart.shop_id == shop.id,
            Cart.visitor_id.in_(shopper.visitor_ids),
            Cart.ordered_at.is_(None),
        )
        .order_by(_changed(Cart).desc(), Cart.id.desc())
        .limit(1)
    )
    checkout = db.session.scalar(
        select(Checkout)
        .where(
            Checkout.shop_id == shop.id,
            Checkout.completed_at.is_(None),
            or_(
                Checkout.visitor_id.in_(shopper.visitor_ids),
                _contact_matches(Checkout, shopper),
            ),
        )
        .order_by(_changed(Checkout).desc(), Checkout.id.desc())
        .limit(1)
    )
    newest = max(
        (row for row in (cart, checkout) if row is not None),
        key=_changed_at,
        default=None,
    )
    if newest is None:
        return None
    return {
        "source": "checkout" if isinstance(newest, Checkout) else "cart",
        "items": [_item_dict(item) for item in newest.line_items],
        "total": _money(newest.total_price),
        "currency": newest.currency or shop.currency,
        "updated_at": iso(_changed_at(newest)),
        "checkout_url": getattr(newest, "abandoned_checkout_url", None),
    }


def _changed(model: type) -> ColumnElement[datetime]:
    return func.coalesce(model.platform_updated_at, model.updated_at)


def _changed_at(row: Cart | Checkout) -> datetime:
    return row.platform_updated_at or row.updated_at


def _item_dict(item: LineItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "variant_title": item.variant_title,
        "quantity": item.quantity,
        "price": _money(item.price),
    }


def _order_dict(order: Order) -> dict[str, Any]:
    return {
        "name": order.name,
        "total": _money(order.total_price),
        "currency": order.currency,
        "created_at": iso(order.placed_at or order.created_at),
        "financial_status": order.financial_status,
    }


def _wallet(shop: Shop, visitor: Visitor | None) -> dict[str, Any] | None:
    """The bonus wallet's balance, or None when the shopper has none."""
    if visitor is None:
        return None
    keys = {owner_key(visitor.id, visitor.customer_id), owner_key(visitor.id, None)}
    has_wallet = db.session.scalar(
        select(GameWallet.id)
        .where(GameWallet.shop_id == shop.id, GameWallet.owner_key.in_(keys))
        .limit(1)
    )
    if has_wallet is None:
        return None
    wallet = wallet_for_shopper(shop.id, visitor.public_id, shop.currency)
    return {
        "balance": wallet["balance"],
        "currency": wallet["currency"],
        "expiring": wallet["expiring"],
    }


def _bindings(shop: Shop, shopper: Shopper) -> list[dict[str, Any]]:
    """Each LINE or Messenger account of the person once, bound or not."""
    conditions = []
    if shopper.visitor_ids:
        conditions.append(ChannelBinding.visitor_id.in_(shopper.visitor_ids))
    if shopper.accounts:
        conditions.append(_account_matches(shopper.accounts))
    rows = (
        db.session.scalars(
            select(ChannelBinding)
            .where(ChannelBinding.shop_id == shop.id, or_(*conditions))
            .order_by(ChannelBinding.created_at, ChannelBinding.id)
        ).all()
        if conditions
        else []
    )

    accounts: dict[tuple[str, str], dict[str, Any]] = {}
    for binding in rows:
        accounts.setdefault(
            (binding.channel, binding.external_id),
            {
                "channel": binding.channel,
                "bound": True,
                "reachable": binding.reachable,
                "marketing_consent": binding.marketing_consent,
                "bound_at": iso(binding.created_at),
            },
        )
    for account in shopper.accounts:
        accounts.setdefault(
            account,
            {
                "channel": account[0],
                "bound": False,
                "reachable": None,
                "marketing_consent": None,
                "bound_at": None,
            },
        )
    return list(accounts.values())


def _reminders(shop: Shop, visitor: Visitor | None) -> list[dict[str, Any]]:
    if visitor is None:
        return []
    return [
        {
            "sent_at": iso(reminder.sent_at),
            "channel": reminder.channel,
            "step": reminder.position,
            "clicked": reminder.clicked,
        }
        for reminder in sent_reminders_for(shop, visitor)
    ]


def _money(amount: object) -> str | None:
    return None if amount is None else str(amount)
