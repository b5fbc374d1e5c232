"""Setting up the work a fault interrupts, and checking the books afterwards.

"The books" are what a merchant trusts: each due reminder reached its
shopper once (the platform's outbox, by recipient and retry key) or is on
record as failed with a reason; every accepted webhook and storefront event
is stored once.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from engine.binding.models import LINE, ChannelBinding
from engine.commerce.apply import apply_cart
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders import clock
from engine.reminders.models import ENDED_SEND_STATES, SENT, ReminderSend
from engine.runtime import current
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from plugin.sandbox.line_platform import FakeLinePlatform
from tests.reminders import (
    OOLONG_100G,
    Shopper,
    cart_payload,
    line_user_id,
    move_clock_to,
    taipei,
)

# The default flow's first step: 30 minutes without activity, then 1 hour.
FIRST_STEP_AFTER = timedelta(minutes=30) + timedelta(hours=1)
# Noon in Taipei: outside the default quiet hours (22:00 to 09:00).
NOON = taipei(3, 12)


def carts_due_in(
    shop: Shop,
    count: int,
    seconds: float,
    *,
    prefix: str = "shopper",
    channel: str = LINE,
    wrote_at: datetime | None = None,
) -> list[Shopper]:
    """``count`` shoppers bound on ``channel`` whose carts' first reminder falls
    due ``seconds`` from now, by the wall clock (RQ's scheduler wakes a worker).

    One transaction: every wake-up job is sent at its commit, so on a slow
    machine they fall due all at once, never a few at a time. Messenger
    shoppers last wrote to the Page at ``wrote_at``.
    """
    if abs(clock.now() - NOON) > timedelta(hours=1):
        move_clock_to(NOON)
    left_at = clock.now() - FIRST_STEP_AFTER + timedelta(seconds=seconds)
    shoppers = []
    for number in range(count):
        shopper, cart = _linked_cart(shop, f"{prefix}-{number}", channel, wrote_at)
        apply_cart(shop, cart_payload(cart.token, [(OOLONG_100G, 1)], left_at))
        shoppers.append(shopper)
    db.session.commit()
    return shoppers


@dataclass(frozen=True)
class BoundCart:
    """A cart the widget linked to a shopper bound on LINE; no news of it yet."""

    token: str
    external_id: str


def bound_carts(shop: Shop, count: int, *, prefix: str = "bound") -> list[BoundCart]:
    """``count`` carts linked to shoppers bound on LINE, the platform silent."""
    found = []
    for number in range(count):
        shopper, cart = _linked_cart(shop, f"{prefix}-{number}", LINE, None)
        found.append(BoundCart(cart.token, shopper.binding.external_id))
    db.session.commit()
    return found


def _linked_cart(
    shop: Shop, name: str, channel: str, wrote_at: datetime | None
) -> tuple[Shopper, Cart]:
    visitor = Visitor(shop_id=shop.id, public_id=f"v-{name}", first_name="Mei")
    db.session.add(visitor)
    db.session.flush()
    binding = ChannelBinding(
        shop_id=shop.id,
        visitor_id=visitor.id,
        channel=channel,
        external_id=_external_id(channel, name),
        last_inbound_at=wrote_at,
    )
    cart = Cart(shop_id=shop.id, token=f"cart-{name}", visitor_id=visitor.id)
    db.session.add_all([binding, cart])
    db.session.flush()
    return Shopper(visitor, binding), cart


def _external_id(channel: str, name: str) -> str:
    """A LINE userId, or a Messenger PSID (digits), standing for ``name``."""
    if channel == LINE:
        return line_user_id(name)
    digest = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    return str(6_024_000_000_000_000 + digest)


def first_steps(shop: Shop) -> list[ReminderSend]:
    """The first step's send of every run of the shop, fresh from the database."""
    db.session.rollback()
    return list(
        db.session.scalars(
            select(ReminderSend)
            .where(ReminderSend.shop_id == shop.id, ReminderSend.position == 1)
            .order_by(ReminderSend.id)
        )
    )


def all_ended(shop: Shop) -> bool:
    """Whether every first step is sent, failed or skipped."""
    return all(send.status in ENDED_SEND_STATES for send in first_steps(shop))


def count_status(shop: Shop) -> Counter[str]:
    return Counter(send.status for send in first_steps(shop))


def assert_line_sent_each_once(
    shop: Shop, line: FakeLinePlatform, shoppers: list[Shopper]
) -> None:
    """Every shopper's first reminder: one push delivered, the send ``sent``;
    and LINE accepted each retry key once (a repeat answered 409)."""
    sends = {send.recipient_id: send for send in first_steps(shop)}
    for shopper in shoppers:
        user = shopper.binding.external_id
        delivered = line.delivered_to(user)
        send = sends.get(user)
        assert send is not None, f"{user}: no send on record"
        assert (send.status, send.reason) == (SENT, None), (
            f"{user}: {send.status} {send.reason} {send.error_detail}"
        )
        assert len(delivered) == 1, f"{user}: {len(delivered)} pushes delivered"

    calls = list(line.calls)
    accepted = Counter(call.retry_key for call in calls if call.status == 200)
    assert set(accepted.values()) == {1}, accepted.most_common(3)
    assert len(accepted) == len(shoppers)


def rows(model: type, **filters: object) -> int:
    """How many rows of ``model`` match, read afresh."""
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(model).filter_by(**filters)
    )


def run_reminder_sweep() -> None:
    """Have a worker run the minute's reminder sweep now, not at its slot."""
    current().queue("default").enqueue("engine.periodic.run_reminders")


def release_scheduler_locks() -> None:
    """Drop RQ's scheduler locks: a killed scheduler's would hold them a minute."""
    redis = current().redis
    for lock in redis.keys("rq:scheduler-lock:*"):
        redis.delete(lock)
