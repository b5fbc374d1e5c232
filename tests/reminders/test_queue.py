"""The reminders' own RQ queue: taken first, and a lingering job making way.

No worker process here: jobs run in this process (a simple worker in burst
mode, or the job function called directly), so the order of events is the
test's to set.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import Flask
from rq.job import Job

from engine.reminders.dispatch import GATHER, deliver_reminders
from engine.reminders.models import ReminderSend
from engine.reminders.scheduling import QUEUE, WEBHOOKS_QUEUE
from engine.reminders.sweep import enqueue_due_reminders
from engine.runtime import QUEUE_NAMES, current
from engine.shops.models import Shop
from engine.worker import make_worker
from plugin.sandbox.line_platform import FakeLinePlatform
from tests.reminders import (
    HOUR,
    OOLONG_100G,
    WAIT,
    leave_cart,
    make_shopper,
    move_clock_to,
    runs_of,
    sends_of,
    taipei,
)


def test_worker_takes_reminder_jobs_before_earlier_webhook_jobs(app: Flask) -> None:
    # given a webhook job, a tracking job and a default job queued, then a
    # reminder wake-up
    queued = [
        current().queue(name).enqueue("builtins.len", [name])
        for name in ("webhooks", "tracking", "default", QUEUE)
    ]

    # when a worker runs until the queues are empty
    worker = make_worker(app, forking=False)
    worker.work(burst=True, with_scheduler=False)

    # then the reminder ran first, then the rest in the queues' order
    jobs = [Job.fetch(job.id, connection=current().redis) for job in queued]
    started = sorted(jobs, key=lambda job: job.started_at)
    assert [job.origin for job in started] == [QUEUE, "webhooks", "tracking", "default"]
    assert QUEUE_NAMES == (QUEUE, "webhooks", "tracking", "default")


def test_sweep_wakes_due_sends_on_the_reminders_queue(reminder_shop) -> None:
    # given a send due for a minute whose wake-up job Redis lost
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    leave_cart(shop, make_shopper(shop), "cart-mei", [(OOLONG_100G, 1)], left_at)
    move_clock_to(left_at + WAIT + HOUR + timedelta(minutes=1))
    current().redis.flushdb()

    # when the sweep runs
    found = enqueue_due_reminders()

    # then a wake-up waits on the reminders' queue, and none on default
    assert found == 1
    assert [job.func_name for job in current().queue(QUEUE).get_jobs()] == [
        "engine.reminders.dispatch.deliver_reminders"
    ]
    assert current().queue("default").count == 0


def test_lingering_job_gathers_sends_falling_due_soon(
    reminder_shop, line: FakeLinePlatform
) -> None:
    # given one send due now and another due half a second later
    shop = reminder_shop
    first_at, second_at = _two_sends_due(shop)

    # when the first one's job runs, with no webhook job waiting
    began = time.monotonic()
    counts = deliver_reminders(sends_of(shop)[0].id)

    # then it waited for the second and sent both, in one batch once the
    # second had been due for GATHER
    assert counts == {"delivered": 2, "claimed": 2}
    assert time.monotonic() - began >= (second_at - first_at + GATHER).total_seconds()
    assert [send.status for send in first_steps(shop)] == ["sent", "sent"]


def test_lingering_job_makes_way_for_a_waiting_webhook_job(
    reminder_shop, line: FakeLinePlatform
) -> None:
    # given one send due now, another due half a second later, and a
    # webhook job waiting
    shop = reminder_shop
    _two_sends_due(shop)
    current().queue(WEBHOOKS_QUEUE).enqueue("builtins.len", [])

    # when the first one's job runs
    counts = deliver_reminders(sends_of(shop)[0].id)

    # then it sent what was due and ended, leaving the second to its own
    # wake-up job
    assert counts == {"delivered": 1, "claimed": 1}
    first, second = first_steps(shop)
    assert (first.status, second.status) == ("sent", "pending")
    lin_step_1 = f"reminder-c{runs_of(shop)[1].cart_id}-r1-s1-"
    scheduled = current().queue(QUEUE).scheduled_job_registry.get_job_ids()
    assert len([job for job in scheduled if job.startswith(lin_step_1)]) == 1


def first_steps(shop: Shop) -> list[ReminderSend]:
    """Each run's first send (a delivered one has planned the next step)."""
    return [send for send in sends_of(shop) if send.position == 1]


def _two_sends_due(shop: Shop) -> tuple[datetime, datetime]:
    """Mei's step due now and Lin's half a second later; returns both times."""
    left_at = move_clock_to(taipei(3, 10))
    leave_cart(shop, make_shopper(shop, "mei"), "cart-mei", [(OOLONG_100G, 1)], left_at)
    # The clock moves too: a cart reported from the future counts from now,
    # which would leave the two sends as far apart as the calls took.
    later = move_clock_to(left_at + timedelta(milliseconds=500))
    leave_cart(shop, make_shopper(shop, "lin"), "cart-lin", [(OOLONG_100G, 1)], later)
    move_clock_to(left_at + WAIT + HOUR)
    first, second = sends_of(shop)
    return first.due_at, second.due_at
