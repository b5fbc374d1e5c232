"""A made-up history of reminders and on-site messages, so the results show something.

For the demo and the browser tests only: two weeks of abandoned carts of
bound shoppers, reminders sent on LINE and Messenger (some clicked, some
failed with the platform's words), orders credited to them, an open notice
that LINE's quota ran out, and an on-site message with views, clicks and
dismissals. Everything is written directly, as the engine would have left
it; nothing is sent. The same ``seed`` gives the same history.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from engine.commerce.models import Cart, Order
from engine.db import db
from engine.onsite.models import OnsiteMessage
from engine.reminders.models import (
    FAILED,
    FINISHED,
    SENT,
    ReminderAttribution,
    ReminderNotice,
    ReminderRun,
    ReminderSend,
)
from engine.shops.models import Shop
from engine.tracking.models import VisitorEvent
from engine.visitors.models import Visitor

FAILURES = (
    (
        "line",
        "recipient_unreachable",
        "400",
        "The property, 'to', in the request body is invalid (line 1, column 7)",
    ),
    (
        "messenger",
        "platform_refused",
        "10/2018278",
        "(#10) This message is sent outside of allowed window.",
    ),
)


def seed_reminder_history(
    shop: Shop, now: datetime, days: int = 14, carts_per_day: int = 6, seed: int = 8
) -> None:
    """Write ``days`` days of history ending at ``now``; the caller commits."""
    rng = random.Random(seed)
    db.session.add(
        ReminderNotice(
            shop_id=shop.id,
            kind="line_quota_exhausted",
            channel="line",
            detail="LINE's monthly message quota is used up; LINE reminders wait"
            " until it resets.",
            until=(now + timedelta(days=5)).replace(hour=0, minute=0, second=0),
            created_at=now - timedelta(hours=3),
        )
    )
    for day in range(days, 0, -1):
        for number in range(carts_per_day):
            moment = now - timedelta(days=day, hours=rng.randint(0, 20))
            _one_cart(shop, rng, moment, f"{day}-{number}")
    _onsite_history(shop, rng, now, days)
    db.session.flush()


def _one_cart(shop: Shop, rng: random.Random, left_at: datetime, tag: str) -> None:
    visitor = Visitor(shop_id=shop.id, public_id=f"seed-{tag}-{uuid.uuid4().hex[:8]}")
    cart = Cart(
        shop_id=shop.id,
        token=f"seed-cart-{tag}-{uuid.uuid4().hex[:8]}",
        item_count=rng.randint(1, 3),
        total_price=Decimal(rng.choice((690, 1290, 1880, 2450))),
        currency=shop.currency or "TWD",
    )
    db.session.add_all([visitor, cart])
    db.session.flush()
    cart.visitor_id = visitor.id
    run = ReminderRun(
        shop_id=shop.id,
        cart_id=cart.id,
        visitor_id=visitor.id,
        status=FINISHED,
        cart_fingerprint=uuid.uuid4().hex,
        last_activity_at=left_at,
        abandoned_at=left_at + timedelta(minutes=30),
        ended_at=left_at + timedelta(hours=9),
    )
    db.session.add(run)
    db.session.flush()

    channel = rng.choice(("line", "line", "messenger"))
    sends = []
    for position, hours in ((1, 1.5), (2, 8.5)):
        sent_at = left_at + timedelta(hours=hours)
        failed = rng.random() < 0.08
        send = ReminderSend(
            shop_id=shop.id,
            run_id=run.id,
            position=position,
            visitor_id=visitor.id,
            status=FAILED if failed else SENT,
            planned_at=sent_at,
            due_at=sent_at,
            retry_key=str(uuid.uuid4()),
            channel=channel,
            recipient_id=f"seed-{tag}",
            sent_at=None if failed else sent_at,
            ended_at=sent_at,
            attempts=1,
            clicks=0 if failed or rng.random() < 0.6 else rng.randint(1, 3),
        )
        if failed:
            _, send.reason, send.error_code, send.error_detail = next(
                f for f in FAILURES if f[0] == channel
            )
        if send.clicks:
            send.first_clicked_at = send.last_clicked_at = sent_at + timedelta(
                minutes=rng.randint(2, 90)
            )
        sends.append(send)
    db.session.add_all(sends)
    db.session.flush()

    earning = next((send for send in reversed(sends) if send.clicks), None)
    if earning is not None and rng.random() < 0.55:
        _credited_order(shop, cart, earning)


def _credited_order(shop: Shop, cart: Cart, send: ReminderSend) -> None:
    placed = send.last_clicked_at + timedelta(minutes=5)
    order = Order(
        shop_id=shop.id,
        order_id=f"seed-{uuid.uuid4().hex[:12]}",
        cart_token=cart.token,
        visitor_id=cart.visitor_id,
        total_price=cart.total_price,
        currency=cart.currency,
        financial_status="paid",
        placed_at=placed,
    )
    db.session.add(order)
    db.session.flush()
    cart.ordered_at = placed
    db.session.add(
        ReminderAttribution(
            shop_id=shop.id,
            order_id=order.id,
            send_id=send.id,
            position=send.position,
            channel=send.channel,
            credited_for="click",
            revenue=order.total_price,
            currency=order.currency,
            placed_at=placed,
        )
    )


def _onsite_history(shop: Shop, rng: random.Random, now: datetime, days: int) -> None:
    message = OnsiteMessage(
        shop_id=shop.id,
        name="Free shipping over 1,500",
        kind="text",
        texts={"en": {"title": "Free shipping", "body": "On orders over 1,500."}},
        default_locale="en",
    )
    visitor = Visitor(shop_id=shop.id, public_id=f"seed-onsite-{uuid.uuid4().hex[:8]}")
    db.session.add_all([message, visitor])
    db.session.flush()
    kinds = ("message_view",) * 8 + ("message_click",) * 2 + ("message_dismiss",)
    db.session.add_all(
        VisitorEvent(
            shop_id=shop.id,
            visitor_id=visitor.id,
            event_id=f"seed-{uuid.uuid4().hex}",
            type=rng.choice(kinds),
            occurred_at=now - timedelta(days=rng.randint(0, days - 1), minutes=i),
            message_id=message.id,
        )
        for i in range(days * 10)
    )
