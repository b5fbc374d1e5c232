"""Making, reading and undoing bindings: one place every way of binding ends in.

``bind`` is where LINE Login, the one-time code, LINE's account link and an
m.me ref all arrive once their token checked out. What it writes of the
account (consent, a fresh subscription) goes to every binding sharing the
account, as ``engine.reminders.optout`` does for opting out; the visitor's
other devices known to be the same customer get the binding too
(``engine.binding.person``). Once the caller commits, the person's open
carts are looked at again (``engine.reminders.rechecks``): the platform's
news of a cart usually came before the binding and started nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from engine.binding import funnel, person
from engine.binding.models import BindingPopup, ChannelBinding, ConsentRecord
from engine.binding.tokens import Intent
from engine.db import db, utcnow
from engine.reminders.optout import unsubscribe
from engine.reminders.rechecks import recheck_carts_later
from engine.shops.models import Shop
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)

GRANTED = "granted"
WITHDRAWN = "withdrawn"


def bind(
    shop: Shop,
    intent: Intent,
    channel: str,
    external_id: str,
    via: str,
    *,
    reachable: bool = True,
) -> ChannelBinding:
    """Bind the intent's visitor to ``external_id`` on ``channel``, with its consent."""
    now = utcnow()
    visitor = person.visitor_for(shop, intent.public_id)
    binding = binding_of(shop, visitor.id, channel)
    if binding is None:
        binding = ChannelBinding(
            shop_id=shop.id, visitor_id=visitor.id, channel=channel
        )
        db.session.add(binding)
    binding.external_id = external_id
    binding.reachable = reachable
    binding.bound_via = via
    binding.tag = _popup_tag(shop)
    db.session.flush()

    for same in _same_account(shop, channel, external_id):
        same.marketing_consent = intent.marketing
        same.consented_at = now
        if intent.marketing:
            same.unsubscribed_at = None
    _record_consent(binding, GRANTED, intent.marketing, via, now)
    person.share_bindings(shop, visitor)
    recheck_carts_later(shop.id, {visitor.id})
    funnel.count(shop.id, channel, funnel.BOUND)
    logger.info(
        "binding.bound",
        extra={"shop_id": shop.id, "channel": channel, "via": via},
    )
    return binding


def unbind(shop: Shop, public_id: str, channel: str) -> bool:
    """The shopper unbinds this device from ``channel`` in the widget.

    Reminders to the account stop on every device (it is unsubscribed), and
    this visitor's binding goes. False when there was nothing to unbind.
    """
    visitor = person.existing_visitor(shop, public_id)
    binding = binding_of(shop, visitor.id, channel) if visitor else None
    if binding is None:
        return False
    unsubscribe(binding)
    _record_consent(binding, WITHDRAWN, False, "widget", utcnow())
    db.session.delete(binding)
    logger.info("binding.unbound", extra={"shop_id": shop.id, "channel": channel})
    return True


def withdraw(binding: ChannelBinding, source: str) -> None:
    """Note that the account withdrew consent (a STOP keyword, blocking)."""
    _record_consent(binding, WITHDRAWN, False, source, utcnow())


def bound_channels(shop: Shop, public_id: str) -> list[str]:
    """The channels this visitor is bound to and still subscribed on."""
    return list(
        db.session.scalars(
            select(ChannelBinding.channel)
            .join(Visitor, Visitor.id == ChannelBinding.visitor_id)
            .where(
                ChannelBinding.shop_id == shop.id,
                Visitor.shop_id == shop.id,
                Visitor.public_id == public_id,
                ChannelBinding.unsubscribed_at.is_(None),
            )
            .order_by(ChannelBinding.channel)
        )
    )


def bindings_of_account(
    shop: Shop, channel: str, external_id: str
) -> list[ChannelBinding]:
    """Every binding of one LINE or Messenger account in the shop."""
    return _same_account(shop, channel, external_id)


def binding_of(shop: Shop, visitor_id: int, channel: str) -> ChannelBinding | None:
    return db.session.scalar(
        select(ChannelBinding).where(
            ChannelBinding.shop_id == shop.id,
            ChannelBinding.visitor_id == visitor_id,
            ChannelBinding.channel == channel,
        )
    )


def _same_account(shop: Shop, channel: str, external_id: str) -> list[ChannelBinding]:
    return list(
        db.session.scalars(
            select(ChannelBinding).where(
                ChannelBinding.shop_id == shop.id,
                ChannelBinding.channel == channel,
                ChannelBinding.external_id == external_id,
            )
        )
    )


def _record_consent(
    binding: ChannelBinding, action: str, marketing: bool, source: str, at: datetime
) -> None:
    db.session.add(
        ConsentRecord(
            shop_id=binding.shop_id,
            visitor_id=binding.visitor_id,
            channel=binding.channel,
            external_id=binding.external_id,
            action=action,
            marketing=marketing,
            source=source,
            recorded_at=at,
        )
    )


def _popup_tag(shop: Shop) -> str | None:
    return db.session.scalar(
        select(BindingPopup.tag).where(BindingPopup.shop_id == shop.id)
    )
