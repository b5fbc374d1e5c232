"""Credit for orders, the merchant's figures per step and channel, and history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from engine.db import db
from engine.reminders import (
    StepStats,
    reminder_stats,
    sent_reminders_for,
    update_flow,
)
from engine.reminders.links import record_click
from engine.reminders.models import ReminderAttribution
from engine.reminders.sweep import enqueue_due_reminders
from tests.conftest import run_jobs
from tests.reminders import (
    OOLONG_100G,
    Shopper,
    leave_cart,
    make_shopper,
    move_clock_to,
    place_order,
    sends_of,
    taipei,
)

HOUR = timedelta(hours=1)


@pytest.fixture
def two_reminders(app: Flask, reminder_shop, line) -> Shopper:
    """Mei (known by e-mail) got steps 1 and 2 of the default flow."""
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop, "mei", email="mei@example.com")
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    for _ in range(2):
        move_clock_to(sends_of(reminder_shop)[-1].due_at)
        enqueue_due_reminders(grace=timedelta())
        run_jobs(app)
    assert [send.status for send in sends_of(reminder_shop)][:2] == ["sent", "sent"]
    return mei


def _credit() -> ReminderAttribution | None:
    return db.session.scalar(select(ReminderAttribution))


def test_order_is_credited_to_the_last_reminder_clicked(
    reminder_shop, two_reminders: Shopper
) -> None:
    # given Mei tapped step 1, not step 2
    first, second = sends_of(reminder_shop)[:2]
    record_click(first, second.sent_at + HOUR)

    # when she orders from another device the next day
    order = place_order(
        reminder_shop, 8001, second.sent_at + 20 * HOUR, email="mei@example.com"
    )

    # then step 1 earns it, with the order's revenue
    credit = _credit()
    assert (credit.order_id, credit.send_id, credit.credited_for) == (
        order.id,
        first.id,
        "click",
    )
    assert (credit.position, credit.channel, credit.revenue) == (
        1,
        "line",
        Decimal("1130.00"),
    )


def test_order_without_a_click_is_credited_to_the_last_reminder_sent(
    reminder_shop, two_reminders: Shopper
) -> None:
    second = sends_of(reminder_shop)[1]

    place_order(reminder_shop, 8002, second.sent_at + HOUR, cart_token="cart-mei")

    credit = _credit()
    assert (credit.send_id, credit.credited_for) == (second.id, "send")


def test_order_after_the_attribution_window_is_not_credited(
    reminder_shop, two_reminders: Shopper
) -> None:
    second = sends_of(reminder_shop)[1]

    place_order(
        reminder_shop, 8003, second.sent_at + 8 * 24 * HOUR, email="mei@example.com"
    )

    assert _credit() is None


def test_stats_per_step_and_channel_with_conversion_and_roas(
    reminder_shop, two_reminders: Shopper
) -> None:
    # given a message costs NT$0.50 on LINE; step 1 was tapped, then an order
    update_flow(reminder_shop, {"message_costs": {"line": "0.50"}})
    first, second = sends_of(reminder_shop)[:2]
    record_click(first, second.sent_at)
    place_order(reminder_shop, 8004, second.sent_at + HOUR, email="mei@example.com")

    # when
    stats = reminder_stats(reminder_shop)

    # then
    assert stats == [
        StepStats(
            position=1,
            channel="line",
            sent=1,
            failed=0,
            clicked=1,
            orders=1,
            revenue=Decimal("1130.00"),
            cost=Decimal("0.50"),
            conversion_rate=1.0,
            roas=2260.0,
        ),
        StepStats(
            position=2,
            channel="line",
            sent=1,
            failed=0,
            clicked=0,
            orders=0,
            revenue=Decimal(0),
            cost=Decimal("0.50"),
            conversion_rate=0.0,
            roas=0.0,
        ),
    ]


def test_sent_reminders_are_kept_for_the_shoppers_conversation(
    reminder_shop, two_reminders: Shopper
) -> None:
    # when
    history = sent_reminders_for(reminder_shop, two_reminders.visitor)

    # then both reminders, oldest first, as they were sent
    assert [(item.position, item.channel) for item in history] == [
        (1, "line"),
        (2, "line"),
    ]
    first_parts = history[0].content
    assert first_parts[0]["type"] == "text"
    assert first_parts[0]["text"].startswith("Hi Mei, you left something")
    assert first_parts[1]["type"] == "carousel"
    assert first_parts[1]["cards"][0]["title"] == "High Mountain Oolong"
