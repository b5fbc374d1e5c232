"""Reminders end to end: a real worker process, fake LINE and Messenger, PostgreSQL.

Time moves by the sandbox clock, never by sleeping; ``kick`` runs the
database sweep that wakes workers for what is due (the path that also
recovers from a Redis that lost its jobs). Two tests use RQ's own scheduler
in real time instead: the scheduled wake-up and the Retry-After wait.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from engine.binding.models import MESSENGER
from engine.channels.models import ChannelAccount
from engine.commerce.apply import apply_checkout
from engine.db import db
from engine.reminders import clock, update_flow
from engine.reminders.models import ReminderNotice
from engine.reminders.scheduling import QUEUE, job_id
from engine.reminders.sweep import CLAIM_LEASE, enqueue_due_reminders
from engine.runtime import current
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import SHOP_DOMAIN
from tests.reminders import (
    HOUR,
    KETTLE,
    KETTLE_STEEL,
    LINE_CHANNEL_ID,
    MATCHA_TIN,
    OOLONG_100G,
    PAGE_ID,
    WAIT,
    kick,
    leave_cart,
    line_user_id,
    make_shopper,
    move_clock_to,
    place_order,
    runs_of,
    sends_of,
    taipei,
    wait_for,
)
from tests.webhooks import post_webhook


def pushes(line: FakeLinePlatform, user_id: str) -> list[list[dict]]:
    return [entry.messages for entry in line.delivered_to(user_id)]


def test_three_step_flow_delivers_in_order_at_the_set_times(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given Mei left her cart at 10:00 in Taipei; the default flow sends at
    # 1 h, 8 h and 23 h after abandonment (30 minutes without activity)
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    user = mei.binding.external_id
    registry = ScheduledJobRegistry(QUEUE, connection=current().redis)

    for step in (1, 2, 3):
        due = sends_of(shop)[-1].planned_at
        # RQ holds a wake-up for exactly that moment, in UTC
        scheduled = registry.get_scheduled_time(job_id(_cart_id(shop), 1, step, due))
        wall = clock.to_wall(due).timestamp()
        assert scheduled == datetime.fromtimestamp(math.ceil(wall), UTC)

        # when the clock shows a minute before the step, nothing goes
        move_clock_to(due - timedelta(minutes=1))
        kick()
        worker.wait_until_idle()
        assert len(pushes(line, user)) == step - 1

        # when the step is due, it goes
        move_clock_to(due)
        kick()
        wait_for(lambda n=step: len(pushes(line, user)) == n, what=f"step {step}")
        worker.wait_until_idle()

    # then three reminders, in order, each at its time after the one before
    sends = sends_of(shop)
    assert [send.status for send in sends] == ["sent", "sent", "sent"]
    assert sends[0].planned_at == left_at + WAIT + HOUR
    assert sends[1].planned_at == sends[0].sent_at + 7 * HOUR
    assert sends[2].planned_at == sends[1].sent_at + 15 * HOUR
    for send in sends:
        assert timedelta() <= send.sent_at - send.planned_at < timedelta(seconds=5)
    first, second, third = pushes(line, user)
    assert first[0]["text"].startswith("Hi Mei, you left something in your cart")
    assert second[1]["text"].startswith("Still deciding? Your 1 item(s)")
    assert third[1]["type"] == "template" or "quickReply" in third[1]
    assert runs_of(shop)[0].status == "finished"


def test_rq_scheduler_wakes_the_worker_when_a_step_falls_due(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given a cart whose first step falls due two seconds from now
    shop = reminder_shop
    now = move_clock_to(taipei(3, 12))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], now - WAIT - HOUR + 2 * S)

    # when nothing but RQ's scheduler runs
    wait_for(lambda: sends_of(shop)[0].status == "sent", what="the reminder")

    # then it went at its time
    send = sends_of(shop)[0]
    assert len(pushes(line, mei.binding.external_id)) == 1
    assert timedelta() <= send.sent_at - send.planned_at < timedelta(seconds=2.5)


def test_order_between_steps_cancels_the_rest(
    worker,
    reminder_shop,
    line: FakeLinePlatform,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
) -> None:
    # given step 1 went out
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "sent", what="step 1")

    # when the order's webhook arrives and the worker applies it
    order = load_payload("orders/create")
    order.update(cart_token="cart-mei", checkout_token=None)
    order["created_at"] = order["updated_at"] = clock.now().isoformat()
    assert post_webhook(client, platform, "orders/create", order).status_code == 200
    wait_for(lambda: runs_of(shop)[0].status == "stopped", what="the stop")
    move_clock_to(left_at + WAIT + 24 * HOUR)
    kick()
    worker.wait_until_idle()

    # then nothing more went out, and the rest is cancelled for the order
    assert len(pushes(line, mei.binding.external_id)) == 1
    assert [(s.status, s.reason) for s in sends_of(shop)] == [
        ("sent", None),
        ("cancelled", "ordered"),
    ]
    assert runs_of(shop)[0].stop_reason == "ordered"


def test_order_from_another_device_of_the_same_person_cancels_the_rest(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given Mei's laptop cart has reminders, and her phone (another visitor)
    # is bound to the same LINE account, and her tablet shares her e-mail
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    laptop = make_shopper(shop, "mei", email="mei@example.com")
    phone = make_shopper(shop, "mei-phone", external_id=laptop.binding.external_id)
    leave_cart(shop, laptop, "cart-laptop", [(OOLONG_100G, 1)], left_at)
    leave_cart(shop, phone, "cart-phone", [(MATCHA_TIN, 1)], left_at)
    other = make_shopper(shop, "lin")
    leave_cart(shop, other, "cart-lin", [(OOLONG_100G, 1)], left_at)

    # when she orders from the phone's cart
    place_order(
        shop, 7001, left_at + 10 * timedelta(minutes=1), cart_token="cart-phone"
    )
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: pushes(line, other.binding.external_id), what="Lin's reminder")
    worker.wait_until_idle()

    # then neither of her carts is reminded; Lin's still is
    assert pushes(line, laptop.binding.external_id) == []
    assert [run.stop_reason for run in runs_of(shop)] == ["ordered", "ordered", None]


def test_order_by_email_from_another_device_cancels_the_rest(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given Mei's cart has reminders and her visitor is known by e-mail
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop, "mei", email="mei@example.com")
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when an order with her e-mail comes from a cart we never saw
    place_order(shop, 7002, left_at + HOUR, email="mei@example.com")
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    worker.wait_until_idle()

    # then
    assert pushes(line, mei.binding.external_id) == []
    assert [(s.status, s.reason) for s in sends_of(shop)] == [("cancelled", "ordered")]


def test_order_by_customer_from_another_device_cancels_the_rest(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given Mei's laptop cart has reminders and she logged in there (customer
    # 5001); Lin, another customer, has a cart too
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop, "mei", customer_id="5001")
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    lin = make_shopper(shop, "lin", customer_id="5002")
    leave_cart(shop, lin, "cart-lin", [(OOLONG_100G, 1)], left_at)

    # when customer 5001 orders from a cart we never saw, with no e-mail
    place_order(shop, 7004, left_at + HOUR, customer_id=5001)
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: pushes(line, lin.binding.external_id), what="Lin's reminder")
    worker.wait_until_idle()

    # then Mei's cart is not reminded; Lin's is
    assert pushes(line, mei.binding.external_id) == []
    assert [run.stop_reason for run in runs_of(shop)] == ["ordered", None]
    assert [(s.status, s.reason) for s in sends_of(shop)] == [
        ("cancelled", "ordered"),
        ("sent", None),
        ("pending", None),
    ]


def test_order_by_phone_from_another_device_cancels_the_rest(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given Mei's laptop checkout carries her phone, and Lin's a number one
    # digit away
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei, lin = make_shopper(shop, "mei"), make_shopper(shop, "lin")
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    leave_cart(shop, lin, "cart-lin", [(OOLONG_100G, 1)], left_at)
    _check_out(shop, "cart-mei", left_at, phone="+886912345678")
    _check_out(shop, "cart-lin", left_at, phone="+886912345679")

    # when an order with her phone comes from a cart we never saw
    place_order(shop, 7005, left_at + HOUR, phone="+886912345678")
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: pushes(line, lin.binding.external_id), what="Lin's reminder")
    worker.wait_until_idle()

    # then Mei's cart is not reminded; Lin's is
    assert pushes(line, mei.binding.external_id) == []
    assert [run.stop_reason for run in runs_of(shop)] == ["ordered", None]
    assert [(s.status, s.reason) for s in sends_of(shop)] == [
        ("cancelled", "ordered"),
        ("sent", None),
        ("pending", None),
    ]


@pytest.mark.parametrize(
    ("at_checkout", "on_the_order"),
    [
        ("+886912345678", "+886 912-345-678"),
        ("+886912345678", "0912-345-678"),
        ("+886912345678", "0912345678"),
        ("0912 345 678", "+886912345678"),
    ],
)
def test_order_by_phone_matches_however_the_number_is_written(
    reminder_shop, at_checkout: str, on_the_order: str
) -> None:
    # given Mei's checkout has her phone written one way; Lin's, a number one
    # digit away
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei, lin = make_shopper(shop, "mei"), make_shopper(shop, "lin")
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    leave_cart(shop, lin, "cart-lin", [(OOLONG_100G, 1)], left_at)
    _check_out(shop, "cart-mei", left_at, phone=at_checkout)
    _check_out(shop, "cart-lin", left_at, phone="+886912345679")

    # when an order carries her number written another way
    place_order(shop, 7006, left_at + HOUR, phone=on_the_order)

    # then her run stops at once; Lin's goes on
    assert [run.stop_reason for run in runs_of(shop)] == ["ordered", None]


def test_order_placed_while_a_send_is_in_flight_never_leads_to_a_later_step(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given LINE takes 1.5 s to answer step 1
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    line.set_latency(1.5)
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    assert line.wsgi_app.arrived.wait(10)

    # when the order lands while step 1 is on its way
    place_order(shop, 7003, clock.now(), cart_token="cart-mei")
    # (it stopped the run at once, not waiting for LINE's answer)
    assert sends_of(shop)[0].status == "sending"
    move_clock_to(left_at + 2 * 24 * HOUR)
    kick()
    worker.wait_until_idle()

    # then step 1 is on record as sent and nothing later went or waits (a
    # step 2 planned as step 1 was recorded, just before the order's stop
    # took the run's lock, is cancelled by it)
    assert len(pushes(line, mei.binding.external_id)) == 1
    sends = sends_of(shop)
    assert (sends[0].position, sends[0].status) == (1, "sent")
    assert [(s.status, s.reason) for s in sends[1:]] in ([], [("cancelled", "ordered")])
    assert runs_of(shop)[0].stop_reason == "ordered"


def test_worker_killed_mid_send_and_restarted_sends_each_step_once(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given the worker is killed while LINE is answering step 1
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    line.set_latency(1.0)
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    assert line.wsgi_app.arrived.wait(10)
    worker.kill()
    wait_for(lambda: line.accepted_count == 1, what="LINE to accept the push")
    assert sends_of(shop)[0].status == "sending"

    # when a new worker starts and the dead worker's claim runs out
    line.set_latency(0)
    worker.restart()
    worker.wait_until_working()
    move_clock_to(clock.now() + CLAIM_LEASE + timedelta(minutes=1))
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "sent", what="the retry")
    worker.wait_until_idle()

    # then LINE saw the same retry key twice and delivered once (409 = sent)
    assert len(pushes(line, mei.binding.external_id)) == 1
    assert (line.count_calls(200), line.count_calls(409)) == (1, 1)
    sends = sends_of(shop)
    assert (sends[0].duplicate, sends[0].attempts) == (True, 1)
    assert [(s.position, s.status) for s in sends] == [(1, "sent"), (2, "pending")]


def test_flushed_redis_loses_no_due_reminder(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given a planned reminder whose wake-up job lived only in Redis
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    current().redis.flushdb()

    # when it falls due and the periodic sweep runs
    move_clock_to(left_at + WAIT + HOUR + timedelta(minutes=2))
    enqueue_due_reminders()
    wait_for(lambda: pushes(line, mei.binding.external_id), what="the reminder")

    # then it went, once
    worker.wait_until_idle()
    assert len(pushes(line, mei.binding.external_id)) == 1
    assert sends_of(shop)[0].status == "sent"


def test_429_with_retry_after_is_honoured(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given LINE answers the first push 429 with Retry-After: 2
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    line.inject_faults([429], retry_after="2")

    # when the step falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "sent", what="the retry")

    # then the retry waited at least the 2 seconds asked for, then went
    first, second = line.wsgi_app.arrivals
    assert second - first >= 2.0
    send = sends_of(shop)[0]
    assert (send.status, send.attempts, send.error_code) == ("sent", 2, "429")


def test_400_is_stored_with_the_reason_and_not_retried(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given LINE refuses the push with a 400
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    line.inject_faults([400])

    # when it falls due, and later the sweep runs again
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "failed", what="the failure")
    move_clock_to(left_at + WAIT + 2 * HOUR)
    kick()
    worker.wait_until_idle()

    # then the platform's reason is stored, no retry was made, the flow goes on
    failed, following = sends_of(shop)
    assert (failed.reason, failed.error_code, failed.error_detail) == (
        "platform_refused",
        "400",
        "Error",
    )
    assert line.count_calls() == 1
    assert (following.position, following.status) == (2, "pending")


def test_quiet_hours_defer_a_step_to_their_end(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given a cart left at 21:00, its first step due at 22:30 (quiet hours)
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 21))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when it falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].deferred_reason, what="the deferral")

    # then it waits for 09:00, and goes then
    send = sends_of(shop)[0]
    assert (send.status, send.deferred_reason) == ("pending", "quiet_hours")
    assert send.due_at == taipei(4, 9)
    assert pushes(line, mei.binding.external_id) == []
    move_clock_to(taipei(4, 9))
    kick()
    wait_for(lambda: pushes(line, mei.binding.external_id), what="the morning send")


def test_deferred_send_is_woken_by_a_job_of_its_own(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given a step that falls due in quiet hours
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 21))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    move_clock_to(left_at + WAIT + HOUR)

    # when the worker defers it to 09:00
    kick()
    wait_for(lambda: sends_of(shop)[0].deferred_reason, what="the deferral")
    worker.wait_until_idle()

    # then RQ holds a wake-up for 09:00 under a new id, with its job intact
    # (the job that deferred it is finished, and finished jobs expire)
    wakeup = job_id(_cart_id(shop), 1, 1, taipei(4, 9))
    registry = ScheduledJobRegistry(QUEUE, connection=current().redis)
    assert wakeup in registry.get_job_ids()
    assert Job.exists(wakeup, connection=current().redis)
    wall = clock.to_wall(taipei(4, 9)).timestamp()
    assert registry.get_scheduled_time(wakeup) == datetime.fromtimestamp(
        math.ceil(wall), UTC
    )


def test_quiet_hours_past_a_steps_latest_time_skip_it_with_the_reason(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given step 1 may go at most 2 hours late, and falls due at 22:30
    shop = reminder_shop
    _first_step_latest(shop, 120)
    left_at = move_clock_to(taipei(3, 21))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when it falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "skipped", what="the skip")

    # then it is skipped, said why, and the next step is planned
    skipped, following = sends_of(shop)
    assert skipped.reason == "quiet_hours_past_latest_time"
    assert following.status == "pending"
    assert pushes(line, mei.binding.external_id) == []


def test_frequency_cap_defers_a_second_reminder(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given at most one reminder a day per shopper, and two carts of Mei
    shop = reminder_shop
    update_flow(shop, {"frequency_cap": 1})
    db.session.commit()
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-a", [(OOLONG_100G, 1)], left_at)
    leave_cart(shop, mei, "cart-b", [(MATCHA_TIN, 1)], left_at)

    # when both fall due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(
        lambda: (
            {s.status for s in sends_of(shop) if s.position == 1} == {"sent", "pending"}
        ),
        what="one send and one deferral",
    )

    # then the second waits until a day after the first
    sent, waiting = sorted(
        (s for s in sends_of(shop) if s.position == 1), key=lambda s: s.status != "sent"
    )
    assert waiting.deferred_reason == "frequency_cap"
    # (counted from the first's send, or from the batch that sent it)
    gap = waiting.due_at - (sent.sent_at + 24 * HOUR)
    assert abs(gap) < timedelta(seconds=5)
    assert len(pushes(line, mei.binding.external_id)) == 1


def test_frequency_cap_counts_the_person_on_every_device(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given at most one reminder a day, and Mei's phone and laptop, both bound
    # to her one LINE account, each with a cart
    shop = reminder_shop
    update_flow(shop, {"frequency_cap": 1})
    db.session.commit()
    left_at = move_clock_to(taipei(3, 10))
    phone = make_shopper(shop, "mei")
    laptop = make_shopper(shop, "mei-laptop", external_id=phone.binding.external_id)
    leave_cart(shop, phone, "cart-phone", [(OOLONG_100G, 1)], left_at)
    leave_cart(shop, laptop, "cart-laptop", [(MATCHA_TIN, 1)], left_at)

    # when both fall due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(
        lambda: (
            {s.status for s in sends_of(shop) if s.position == 1} == {"sent", "pending"}
        ),
        what="one send and one deferral",
    )
    worker.wait_until_idle()

    # then Mei got one reminder; the other cart's waits for the cap
    assert len(pushes(line, phone.binding.external_id)) == 1
    first_steps = [s for s in sends_of(shop) if s.position == 1]
    statuses = sorted((s.status, s.deferred_reason or "") for s in first_steps)
    assert statuses == [("pending", "frequency_cap"), ("sent", "")]


def test_line_sends_after_a_quota_pause_wait_for_one_to_try_it(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given the shop's LINE pause reached its recheck time, and two carts due
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    account = db.session.scalar(
        select(ChannelAccount).where(
            ChannelAccount.shop_id == shop.id, ChannelAccount.channel == "line"
        )
    )
    account.quota_exhausted_until = left_at
    db.session.commit()
    mei, lin = make_shopper(shop, "mei"), make_shopper(shop, "lin")
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    leave_cart(shop, lin, "cart-lin", [(OOLONG_100G, 1)], left_at)

    # when both fall due, while LINE still refuses (the quota is still spent)
    line.set_monthly_quota(LINE_CHANNEL_ID, 0)
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(
        lambda: all(s.deferred_reason for s in sends_of(shop)), what="both waiting"
    )
    worker.wait_until_idle()

    # then LINE was asked once, not once per cart
    assert line.count_calls() == 1
    reasons = sorted(s.deferred_reason for s in sends_of(shop))
    assert reasons == ["line_quota_exhausted", "line_quota_recheck"]


def test_messenger_reminder_goes_inside_the_24_hour_window(
    worker, reminder_shop, messenger: FakeMessengerPlatform
) -> None:
    # given a shopper bound on Messenger who wrote to the page at 10:00
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    psid = "6024000000000001"
    shopper = make_shopper(
        shop, "kai", channel=MESSENGER, external_id=psid, last_inbound_at=left_at
    )
    messenger.receive_message(PAGE_ID, psid, left_at)
    leave_cart(shop, shopper, "cart-kai", [(OOLONG_100G, 1)], left_at)

    # when the step falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "sent", what="the Messenger send")

    # then it went on Messenger
    assert sends_of(shop)[0].channel == "messenger"
    assert len(messenger.delivered_to(psid)) == 2


def test_messenger_step_past_the_window_is_skipped_with_the_reason(
    worker, reminder_shop, messenger: FakeMessengerPlatform
) -> None:
    # given the shopper last wrote at 02:00; the step, due at 22:30, would
    # wait for quiet hours to end at 09:00, after the window closed at 02:00
    shop = reminder_shop
    wrote_at = taipei(3, 2)
    left_at = move_clock_to(taipei(3, 21))
    psid = "6024000000000002"
    shopper = make_shopper(
        shop, "kai", channel=MESSENGER, external_id=psid, last_inbound_at=wrote_at
    )
    messenger.receive_message(PAGE_ID, psid, wrote_at)
    leave_cart(shop, shopper, "cart-kai", [(OOLONG_100G, 1)], left_at)

    # when the step falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "skipped", what="the skip")

    # then nothing went, and the reason says why
    assert sends_of(shop)[0].reason == "quiet_hours_past_messenger_window"
    assert messenger.count_calls() == 0


def test_monthly_quota_pauses_the_shops_line_sends_and_tells_the_merchant(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given the LINE account's monthly quota is used up, and two shoppers' carts
    shop = reminder_shop
    line.set_monthly_quota(LINE_CHANNEL_ID, 0)
    left_at = move_clock_to(taipei(3, 10))
    mei, lin = make_shopper(shop, "mei"), make_shopper(shop, "lin")
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when Mei's step falls due, then Lin's a little later
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].deferred_reason == "line_quota_exhausted")
    # (the refused send is woken at once, and the gates hold it to the pause)
    worker.wait_until_idle()
    leave_cart(shop, lin, "cart-lin", [(OOLONG_100G, 1)], clock.now())
    move_clock_to(clock.now() + WAIT + HOUR)
    kick()
    worker.wait_until_idle()

    # then LINE was asked once; both wait; the merchant has a notice
    assert line.count_calls() == 1
    assert [(s.status, s.deferred_reason) for s in sends_of(shop)] == [
        ("pending", "line_quota_exhausted"),
        ("pending", "line_quota_exhausted"),
    ]
    account = db.session.scalar(
        select(ChannelAccount).where(
            ChannelAccount.shop_id == shop.id, ChannelAccount.channel == "line"
        )
    )
    assert account.quota_paused(clock.now())
    notice = db.session.scalars(select(ReminderNotice)).one()
    assert (notice.kind, notice.resolved_at) == ("line_quota_exhausted", None)
    assert "monthly message limit" in notice.detail


def test_removed_and_out_of_stock_items_are_left_out(
    worker, reminder_shop, line: FakeLinePlatform, platform: FakeShopifyPlatform
) -> None:
    # given Mei's cart holds oolong, matcha (now sold out) and a kettle (deleted)
    shop = reminder_shop
    platform.set_inventory(SHOP_DOMAIN, MATCHA_TIN, 0)
    platform.remove_product(SHOP_DOMAIN, KETTLE)
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(
        shop,
        mei,
        "cart-mei",
        [(OOLONG_100G, 2), (MATCHA_TIN, 1), (KETTLE_STEEL, 1)],
        left_at,
    )

    # when the step falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: pushes(line, mei.binding.external_id), what="the reminder")

    # then the carousel shows only the oolong, and the link back rebuilds a
    # cart of the oolong alone (the platform refuses a link with a sold-out line)
    carousel = pushes(line, mei.binding.external_id)[0][1]["contents"]["contents"]
    titles = [bubble["body"]["contents"][0]["text"] for bubble in carousel]
    assert titles == ["High Mountain Oolong"]
    assert sends_of(shop)[0].target_url == (
        f"https://{SHOP_DOMAIN}/cart/{OOLONG_100G}:2"
    )


def test_nothing_is_sent_when_nothing_is_left_for_sale(
    worker, reminder_shop, line: FakeLinePlatform, platform: FakeShopifyPlatform
) -> None:
    # given everything in Mei's cart sold out
    shop = reminder_shop
    platform.set_inventory(SHOP_DOMAIN, MATCHA_TIN, 0)
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(MATCHA_TIN, 1)], left_at)

    # when the step falls due
    move_clock_to(left_at + WAIT + HOUR)
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "skipped", what="the skip")

    # then
    assert sends_of(shop)[0].reason == "nothing_available"
    assert line.count_calls() == 0


S = timedelta(seconds=1)


def _check_out(shop, cart_token: str, at: datetime, *, phone: str) -> None:  # noqa: ANN001
    """The shopper opened checkout for the cart and gave a phone number."""
    stamp = at.isoformat()
    apply_checkout(
        shop,
        {
            "token": f"checkout-{cart_token}",
            "cart_token": cart_token,
            "phone": phone,
            "created_at": stamp,
            "updated_at": stamp,
            "line_items": [],
        },
    )
    db.session.commit()


def _cart_id(shop) -> int:  # noqa: ANN001
    return runs_of(shop)[0].cart_id


def _first_step_latest(shop, minutes: int) -> None:  # noqa: ANN001
    from engine.reminders.defaults import DEFAULT_STEPS

    steps = [dict(step) for step in DEFAULT_STEPS]
    steps[0]["latest_minutes"] = minutes
    update_flow(shop, {"steps": steps})
    db.session.commit()


__all__ = ["line_user_id"]
