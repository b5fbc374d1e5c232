"""A shopper saying no: "no thanks", unsubscribing, blocking or unfollowing.

Each marks every binding of the shopper's account (all their devices) and
stops all their pending reminders at once. The chat and binding work calls
these when LINE or Messenger reports the shopper's answer or an unfollow.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from engine.binding.models import ChannelBinding
from engine.db import db
from engine.reminders import clock
from engine.reminders.rechecks import recheck_carts_later
from engine.reminders.sequences import stop_runs_of_visitors
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

SNOOZE = timedelta(days=30)


def snooze(binding: ChannelBinding, days: int = SNOOZE.days) -> int:
    """A "no thanks": no reminders to this account for ``days``. The caller commits.

    Returns how many sequences were stopped.
    """
    until = clock.now() + timedelta(days=days)
    return _apply(binding, "snoozed", snoozed_until=until)


def unsubscribe(binding: ChannelBinding) -> int:
    """The shopper asked for no more reminders. The caller commits."""
    return _apply(binding, "unsubscribed", unsubscribed_at=clock.now())


def mark_unreachable(binding: ChannelBinding) -> int:
    """The shopper blocked or unfollowed the account. The caller commits."""
    return _apply(binding, "unreachable", reachable=False)


def mark_reachable(binding: ChannelBinding) -> None:
    """The shopper followed the account again (LINE ``follow``).

    Their open carts are looked at again once the caller commits: news of a
    cart that came while they could not be reached started nothing.
    """
    regained = [same for same in _same_account(binding) if not same.reachable]
    for same in regained:
        same.reachable = True
    recheck_carts_later(binding.shop_id, {same.visitor_id for same in regained})


def _apply(binding: ChannelBinding, reason: str, **changes: object) -> int:
    bindings = _same_account(binding)
    for same in bindings:
        for name, value in changes.items():
            setattr(same, name, value)
    shop = db.session.get(Shop, binding.shop_id)
    stopped = stop_runs_of_visitors(shop, {b.visitor_id for b in bindings}, reason)
    logger.info(
        "reminders.shopper_opted_out",
        extra={"shop_id": binding.shop_id, "reason": reason, "stopped": stopped},
    )
    return stopped


def _same_account(binding: ChannelBinding) -> list[ChannelBinding]:
    return list(
        db.session.scalars(
            select(ChannelBinding).where(
                ChannelBinding.shop_id == binding.shop_id,
                ChannelBinding.channel == binding.channel,
                ChannelBinding.external_id == binding.external_id,
            )
        )
    )
