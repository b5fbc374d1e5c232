"""Carts whose news came before their shopper could be reminded: re-checks."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from engine.binding.bindings import bind
from engine.binding.models import LINE, MESSENGER
from engine.binding.tokens import Intent
from engine.commerce.apply import apply_cart, apply_checkout
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders import update_flow
from engine.reminders.rechecks import recheck_carts
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.events import TrackedEvent
from engine.tracking.writer import write_batch
from engine.visitors.models import Visitor
from tests.conftest import run_jobs
from tests.reminders import (
    HOUR,
    OOLONG_100G,
    WAIT,
    cart_payload,
    line_user_id,
    make_shopper,
    move_clock_to,
    place_order,
    runs_of,
    sends_of,
    taipei,
)
from tests.tracking import widget_event

# The default flow's steps fall 1 h, 8 h and 23 h after abandonment.
STEP_3 = WAIT + 23 * HOUR
RECHECK = "engine.reminders.rechecks.recheck_carts"


def new_visitor(shop: Shop, name: str = "mei") -> Visitor:
    visitor = Visitor(shop_id=shop.id, public_id=f"v-{name}")
    db.session.add(visitor)
    db.session.commit()
    return visitor


def report_cart(
    shop: Shop, token: str, at: datetime, visitor: Visitor | None = None
) -> Cart:
    """The platform's ``carts/update``, the cart linked to ``visitor`` if given."""
    if visitor is not None:
        db.session.add(Cart(shop_id=shop.id, token=token, visitor_id=visitor.id))
        db.session.flush()
    cart = apply_cart(shop, cart_payload(token, [(OOLONG_100G, 1)], at))
    db.session.commit()
    return cart


def bind_line(app: Flask, shop: Shop, visitor: Visitor, name: str = "mei") -> None:
    """The shopper binds LINE through the pop-up; the queued jobs run."""
    intent = Intent.new(shop.id, visitor.public_id, marketing=True)
    bind(shop, intent, LINE, line_user_id(name), "line_login")
    db.session.commit()
    run_jobs(app)


def test_binding_after_the_cart_webhook_starts_the_run_from_the_carts_activity(
    app: Flask, reminder_shop
) -> None:
    # given Mei's cart was reported while she was not bound yet
    left_at = move_clock_to(taipei(3, 10))
    mei = new_visitor(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei)
    assert runs_of(reminder_shop) == []

    # when she binds LINE through the pop-up a minute later
    move_clock_to(left_at + timedelta(minutes=1))
    bind_line(app, reminder_shop, mei)

    # then step 1 is due as if she had been bound all along
    (run,) = runs_of(reminder_shop)
    (send,) = sends_of(reminder_shop)
    assert (run.status, run.last_activity_at) == ("active", left_at)
    assert run.abandoned_at == left_at + WAIT
    assert (send.position, send.status, send.planned_at) == (
        1,
        "pending",
        left_at + WAIT + HOUR,
    )


def test_cart_event_linking_a_reported_cart_to_a_bound_visitor_starts_the_run(
    app: Flask, reminder_shop
) -> None:
    # given a bound shopper's cart the platform reported before the widget did
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at)
    assert runs_of(reminder_shop) == []

    # when the drain writes her widget's add-to-cart, which links the cart
    event = widget_event(
        reminder_shop,
        "add_to_cart",
        left_at,
        visitor=mei.visitor.public_id,
        cart_token="cart-mei",
        cart_total="450.00",
        cart_item_count=1,
        cart_currency="TWD",
    )
    write_batch([TrackedEvent.from_record(event)])
    db.session.commit()
    assert RECHECK in [job.func_name for job in current().queue("default").get_jobs()]
    run_jobs(app)

    # then
    (run,) = runs_of(reminder_shop)
    (send,) = sends_of(reminder_shop)
    assert run.visitor_id == mei.visitor.id
    assert send.planned_at == left_at + WAIT + HOUR


def test_cart_event_of_an_unbound_visitor_queues_no_recheck(
    app: Flask, reminder_shop
) -> None:
    # given a reported cart and a visitor who never bound
    left_at = move_clock_to(taipei(3, 10))
    anon = new_visitor(reminder_shop, "anon")
    report_cart(reminder_shop, "cart-anon", left_at)

    # when the drain links the cart to that visitor
    event = widget_event(
        reminder_shop,
        "add_to_cart",
        left_at,
        visitor=anon.public_id,
        cart_token="cart-anon",
    )
    write_batch([TrackedEvent.from_record(event)])
    db.session.commit()

    # then no re-check is queued, and no run starts
    assert RECHECK not in [
        job.func_name for job in current().queue("default").get_jobs()
    ]
    run_jobs(app)
    assert runs_of(reminder_shop) == []


def test_an_ordered_cart_starts_nothing_when_its_shopper_binds(
    app: Flask, reminder_shop
) -> None:
    # given Mei's cart became an order before she bound
    left_at = move_clock_to(taipei(3, 10))
    mei = new_visitor(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei)
    place_order(reminder_shop, 7200, left_at + HOUR, cart_token="cart-mei")

    # when
    bind_line(app, reminder_shop, mei)

    # then
    assert runs_of(reminder_shop) == []


def test_a_completed_checkout_starts_nothing_when_its_shopper_binds(
    app: Flask, reminder_shop
) -> None:
    # given Mei's cart went through a checkout the platform says is completed
    left_at = move_clock_to(taipei(3, 10))
    mei = new_visitor(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei)
    apply_checkout(reminder_shop, _checkout("cart-mei", left_at, completed=True))
    db.session.commit()

    # when
    bind_line(app, reminder_shop, mei)

    # then
    assert runs_of(reminder_shop) == []


def test_an_open_checkout_is_the_carts_last_activity(app: Flask, reminder_shop) -> None:
    # given Mei's cart went on to a checkout she left 20 minutes later
    left_at = move_clock_to(taipei(3, 10))
    mei = new_visitor(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei)
    checked_out = left_at + timedelta(minutes=20)
    apply_checkout(reminder_shop, _checkout("cart-mei", checked_out))
    db.session.commit()

    # when she binds
    move_clock_to(checked_out + timedelta(minutes=1))
    bind_line(app, reminder_shop, mei)

    # then the wait counts from the checkout
    (send,) = sends_of(reminder_shop)
    assert send.planned_at == checked_out + WAIT + HOUR


def test_a_cart_already_sequenced_gets_no_second_run(app: Flask, reminder_shop) -> None:
    # given Mei was bound when her cart was reported: its run waits
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei.visitor)
    (first,) = sends_of(reminder_shop)

    # when she binds Messenger too, and the re-check runs once more
    move_clock_to(left_at + timedelta(minutes=5))
    intent = Intent.new(reminder_shop.id, mei.visitor.public_id, marketing=True)
    bind(reminder_shop, intent, MESSENGER, "psid-mei", "messenger_ref")
    db.session.commit()
    run_jobs(app)
    started_again = recheck_carts(reminder_shop.id, [mei.visitor.id])

    # then the one run and its pending step stand as they were
    assert started_again == 0
    assert len(runs_of(reminder_shop)) == 1
    (send,) = sends_of(reminder_shop)
    assert (send.id, send.due_at) == (first.id, first.due_at)


def test_a_cart_past_the_flows_reach_starts_nothing(app: Flask, reminder_shop) -> None:
    # given a cart left two days ago, past the last step's 23.5 hours
    left_at = move_clock_to(taipei(3, 10))
    mei = new_visitor(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei)

    # when its shopper binds today
    move_clock_to(left_at + 48 * HOUR)
    bind_line(app, reminder_shop, mei)

    # then
    assert runs_of(reminder_shop) == []


def test_a_cart_bound_late_keeps_the_flows_timeline_without_a_burst(
    app: Flask, reminder_shop
) -> None:
    # given a cart left 10 hours ago: steps 1 and 2 (1.5 h, 8.5 h) went by
    left_at = move_clock_to(taipei(3, 10))
    mei = new_visitor(reminder_shop)
    report_cart(reminder_shop, "cart-mei", left_at, mei)

    # when its shopper binds
    move_clock_to(left_at + 10 * HOUR)
    bind_line(app, reminder_shop, mei)

    # then only step 3 is planned, at its own time on the cart's timeline
    (send,) = sends_of(reminder_shop)
    assert (send.position, send.planned_at) == (3, left_at + STEP_3)

    # and an edit of the flow keeps it there
    update_flow(reminder_shop, {"frequency_cap": 4})
    db.session.commit()
    (send,) = sends_of(reminder_shop)
    assert send.planned_at == left_at + STEP_3


def _checkout(
    cart_token: str, at: datetime, *, completed: bool = False
) -> dict[str, object]:
    stamp = at.isoformat()
    return {
        "token": f"checkout-{cart_token}",
        "cart_token": cart_token,
        "created_at": stamp,
        "updated_at": stamp,
        "completed_at": stamp if completed else None,
        "line_items": [],
    }
