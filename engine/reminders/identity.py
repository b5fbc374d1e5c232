"""Who a shopper is across devices: the visitors and carts of one person.

An order stops reminders for every cart of the person who placed it, not
only the cart it came from. A person is found from what the order carries
(its cart and checkout tokens, customer id, e-mail, phone), through the
visitors and checkouts that share any of those, and then through the
messaging accounts those visitors are bound to: a LINE or Messenger account
bound on two devices makes their visitors one person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select

from engine.binding.models import ChannelBinding
from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.shops.models import Shop
from engine.visitors.models import Visitor


@dataclass
class Person:
    """The visitors and carts known to belong to one shopper of one shop."""

    visitor_ids: set[int] = field(default_factory=set)
    cart_ids: set[int] = field(default_factory=set)


def person_of_order(shop: Shop, order: Order) -> Person:
    """Everything of the shop's that belongs to whoever placed ``order``."""
    person = Person()
    cart_tokens = {order.cart_token} - {None}
    cart_tokens |= _cart_tokens_of_checkouts(shop, order)
    if order.visitor_id is not None:
        person.visitor_ids.add(order.visitor_id)

    for cart_id, visitor_id in db.session.execute(
        select(Cart.id, Cart.visitor_id).where(
            Cart.shop_id == shop.id, Cart.token.in_(cart_tokens)
        )
    ):
        person.cart_ids.add(cart_id)
        if visitor_id is not None:
            person.visitor_ids.add(visitor_id)

    person.visitor_ids |= _visitors_by_contact(shop, order)
    person.visitor_ids |= _visitors_sharing_accounts(shop, person.visitor_ids)
    return person


def _cart_tokens_of_checkouts(shop: Shop, order: Order) -> set[str]:
    """Cart tokens of the order's checkout and of checkouts with its contacts."""
    conditions = _contact_conditions(Checkout, order)
    if order.checkout_token:
        conditions.append(Checkout.token == order.checkout_token)
    if not conditions:
        return set()
    rows = db.session.execute(
        select(Checkout.cart_token).where(
            Checkout.shop_id == shop.id,
            Checkout.cart_token.is_not(None),
            or_(*conditions),
        )
    )
    return {token for (token,) in rows}


def _visitors_by_contact(shop: Shop, order: Order) -> set[int]:
    ids: set[int] = set()
    visitor_conditions = _contact_conditions(Visitor, order)
    if visitor_conditions:
        ids |= set(
            db.session.scalars(
                select(Visitor.id).where(
                    Visitor.shop_id == shop.id, or_(*visitor_conditions)
                )
            )
        )
    checkout_conditions = _contact_conditions(Checkout, order)
    if checkout_conditions:
        ids |= set(
            db.session.scalars(
                select(Checkout.visitor_id).where(
                    Checkout.shop_id == shop.id,
                    Checkout.visitor_id.is_not(None),
                    or_(*checkout_conditions),
                )
            )
        )
    return ids


def _contact_conditions(model: type, order: Order) -> list:
    conditions = []
    if order.customer_id:
        conditions.append(model.customer_id == order.customer_id)
    if order.email:
        conditions.append(model.email == order.email)
    if order.phone:
        conditions.append(model.phone == order.phone)
    return conditions


def _visitors_sharing_accounts(shop: Shop, visitor_ids: set[int]) -> set[int]:
    """Visitors bound to the same LINE or Messenger account as any of these."""
    if not visitor_ids:
        return set()
    accounts = db.session.execute(
        select(ChannelBinding.channel, ChannelBinding.external_id).where(
            ChannelBinding.shop_id == shop.id,
            ChannelBinding.visitor_id.in_(visitor_ids),
        )
    ).all()
    if not accounts:
        return set()
    same_account = [
        (ChannelBinding.channel == channel) & (ChannelBinding.external_id == account)
        for channel, account in accounts
    ]
    return set(
        db.session.scalars(
            select(ChannelBinding.visitor_id).where(
                ChannelBinding.shop_id == shop.id, or_(*same_account)
            )
        )
    )


def visitors_of_account(shop: Shop, binding: ChannelBinding) -> set[int]:
    """Every visitor bound to the same account as ``binding``."""
    return _visitors_sharing_accounts(shop, {binding.visitor_id})


def visitors_bound_with(shop: Shop, visitor_ids: set[int]) -> set[int]:
    """These visitors and every visitor bound to an account any of them is."""
    return set(visitor_ids) | _visitors_sharing_accounts(shop, set(visitor_ids))
