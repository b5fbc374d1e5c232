"""Abandonment and stopping: what cart news, orders and shoppers' answers do."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from engine.commerce.apply import apply_checkout
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders import mark_unreachable, snooze, unsubscribe
from engine.reminders.sweep import enqueue_due_reminders
from engine.visitors.models import Visitor
from tests.conftest import run_jobs
from tests.reminders import (
    HOUR,
    MATCHA_TIN,
    OOLONG_100G,
    WAIT,
    leave_cart,
    make_shopper,
    move_clock_to,
    place_order,
    runs_of,
    sends_of,
    taipei,
)


def _finish_all_steps(app: Flask, start) -> None:  # noqa: ANN001
    """Move the clock through a whole default flow, sending every step."""
    for hours in (1.5, 9, 24.5):
        move_clock_to(start + timedelta(hours=hours))
        enqueue_due_reminders(grace=timedelta())
        run_jobs(app)


def test_cart_of_a_bound_visitor_plans_step_one_after_the_wait(reminder_shop) -> None:
    # when
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # then step 1 is due 1 h after abandonment (30 min without activity)
    (run,) = runs_of(reminder_shop)
    (send,) = sends_of(reminder_shop)
    assert (run.status, run.abandoned_at) == ("active", left_at + WAIT)
    assert (send.position, send.status, send.planned_at) == (
        1,
        "pending",
        left_at + WAIT + HOUR,
    )


def test_cart_without_a_bound_visitor_plans_nothing(reminder_shop) -> None:
    # given a visitor who never bound LINE or Messenger
    visitor = Visitor(shop_id=reminder_shop.id, public_id="v-anon")
    db.session.add(visitor)
    db.session.flush()
    db.session.add(
        Cart(shop_id=reminder_shop.id, token="cart-anon", visitor_id=visitor.id)
    )
    db.session.commit()
    shopper = type("Anon", (), {"visitor": visitor})

    # when
    leave_cart(reminder_shop, shopper, "cart-anon", [(OOLONG_100G, 1)], taipei(3, 10))

    # then
    assert runs_of(reminder_shop) == []


def test_new_cart_activity_restarts_the_wait_for_the_next_unsent_step(
    reminder_shop,
) -> None:
    # given Mei's step 1 waits
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when she adds matcha 40 minutes later
    came_back = move_clock_to(left_at + 40 * timedelta(minutes=1))
    leave_cart(
        reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1), (MATCHA_TIN, 1)], came_back
    )

    # then the wait starts again from her return
    (send,) = sends_of(reminder_shop)
    assert send.planned_at == came_back + WAIT + HOUR
    assert runs_of(reminder_shop)[0].last_activity_at == came_back


def test_an_emptied_cart_cancels_every_pending_step(reminder_shop) -> None:
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    leave_cart(reminder_shop, mei, "cart-mei", [], left_at + 5 * timedelta(minutes=1))

    assert [(s.status, s.reason) for s in sends_of(reminder_shop)] == [
        ("cancelled", "cart_emptied")
    ]
    assert runs_of(reminder_shop)[0].stop_reason == "cart_emptied"


def test_a_finished_sequence_does_not_restart_until_the_cart_changes(
    app: Flask, reminder_shop, line
) -> None:
    # given Mei got all three reminders
    start = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], start)
    _finish_all_steps(app, start)
    assert runs_of(reminder_shop)[0].status == "finished"

    # when the same cart is reported again unchanged
    later = move_clock_to(start + 2 * 24 * HOUR)
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], later)

    # then no new sequence; when its contents change, a new one starts
    assert len(runs_of(reminder_shop)) == 1
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 2)], later)
    first, second = runs_of(reminder_shop)
    assert (second.round, second.status) == (2, "active")
    assert len(line.outbox) == 3


def test_no_thanks_snoozes_the_shopper_on_every_device_for_30_days(
    reminder_shop,
) -> None:
    # given Mei is bound on two devices, each with a waiting reminder
    left_at = move_clock_to(taipei(3, 10))
    laptop = make_shopper(reminder_shop, "mei")
    phone = make_shopper(
        reminder_shop, "mei-phone", external_id=laptop.binding.external_id
    )
    leave_cart(reminder_shop, laptop, "cart-laptop", [(OOLONG_100G, 1)], left_at)
    leave_cart(reminder_shop, phone, "cart-phone", [(MATCHA_TIN, 1)], left_at)

    # when she answers "no thanks"
    stopped = snooze(laptop.binding)
    db.session.commit()

    # then both stop, and a new cart within 30 days starts nothing
    assert stopped == 2
    assert {(s.status, s.reason) for s in sends_of(reminder_shop)} == {
        ("cancelled", "snoozed")
    }
    db.session.refresh(phone.binding)
    until = left_at + 30 * 24 * HOUR
    assert timedelta() <= phone.binding.snoozed_until - until < timedelta(seconds=1)
    leave_cart(reminder_shop, phone, "cart-new", [(OOLONG_100G, 1)], left_at + HOUR)
    assert len(runs_of(reminder_shop)) == 2


def test_unsubscribing_or_blocking_cancels_every_pending_step(reminder_shop) -> None:
    left_at = move_clock_to(taipei(3, 10))
    mei, lin = make_shopper(reminder_shop, "mei"), make_shopper(reminder_shop, "lin")
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    leave_cart(reminder_shop, lin, "cart-lin", [(OOLONG_100G, 1)], left_at)

    unsubscribe(mei.binding)
    mark_unreachable(lin.binding)
    db.session.commit()

    assert [run.stop_reason for run in runs_of(reminder_shop)] == [
        "unsubscribed",
        "unreachable",
    ]


def test_an_old_order_applied_late_does_not_stop_a_newer_cart(reminder_shop) -> None:
    # given Mei (known by e-mail) left a cart today
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop, "mei", email="mei@example.com")
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when her order from last week reaches us only now
    place_order(reminder_shop, 7100, left_at - 7 * 24 * HOUR, email="mei@example.com")

    # then today's reminders stand
    assert runs_of(reminder_shop)[0].status == "active"


def test_checkout_activity_restarts_the_wait_and_completion_stops(
    reminder_shop,
) -> None:
    # given Mei's cart waits for step 1
    left_at = move_clock_to(taipei(3, 10))
    mei, lin = make_shopper(reminder_shop, "mei"), make_shopper(reminder_shop, "lin")
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    leave_cart(reminder_shop, lin, "cart-lin", [(OOLONG_100G, 1)], left_at)
    checkout = {
        "token": "checkout-mei",
        "cart_token": "cart-mei",
        "line_items": [],
        "abandoned_checkout_url": "https://revisit-test.myshopify.com/1/checkouts/"
        "checkout-mei/recover?key=k",
    }

    # when she opens checkout 20 minutes later, then completes it
    opened = move_clock_to(left_at + 20 * timedelta(minutes=1))
    apply_checkout(
        reminder_shop,
        {
            **checkout,
            "created_at": opened.isoformat(),
            "updated_at": opened.isoformat(),
        },
    )
    db.session.commit()
    planned = sends_of(reminder_shop)[0].planned_at
    done = move_clock_to(opened + timedelta(minutes=5))
    apply_checkout(
        reminder_shop,
        {**checkout, "updated_at": done.isoformat(), "completed_at": done.isoformat()},
    )
    db.session.commit()

    # then Mei's run stopped; Lin's, another cart, did not
    assert planned == opened + WAIT + HOUR
    assert [run.stop_reason for run in runs_of(reminder_shop)] == ["ordered", None]
