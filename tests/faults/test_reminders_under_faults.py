"""Cart reminders under faults: a killed worker, a flushed Redis, a failing platform.

Each test starts a real ``revisit worker`` (forking work-horses, RQ's
scheduler) against the test database and Redis, with fake LINE and Messenger
in this process; reminders fall due by the wall clock, so RQ's scheduler
wakes the worker as in production. The sandbox clock moves only where the
recovery path waits minutes by design (a dead worker's claim expires after
five minutes; a 500 is retried after about 30 seconds).

The books afterwards: every due reminder reached its shopper once (the
fake's outbox, by recipient, and LINE's accepted retry keys), or is on record
as failed with a reason.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from datetime import timedelta

from rq.registry import ScheduledJobRegistry

from engine.binding.models import MESSENGER
from engine.reminders import clock
from engine.reminders.dispatch import CONCURRENCY
from engine.reminders.sweep import CLAIM_LEASE
from engine.runtime import current
from engine.shops.models import Shop
from plugin.sandbox.chat_platform import FakeChatPlatform
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.faults.books import (
    all_ended,
    assert_line_sent_each_once,
    carts_due_in,
    count_status,
    first_steps,
    release_scheduler_locks,
    run_reminder_sweep,
)
from tests.faults.conftest import Processes, needs_postgresql, recorder_of
from tests.faults.processes import wait_until
from tests.reminders import PAGE_ID

pytestmark = needs_postgresql

logger = logging.getLogger(__name__)


def test_worker_killed_mid_send_sends_each_reminder_once(
    reminder_shop: Shop, line: FakeLinePlatform, processes: Processes
) -> None:
    # given a batch's worth of carts and a dozen more (one batch sends
    # CONCURRENCY at a time) whose first reminder falls due in a second, and
    # LINE taking 0.3 s per push
    shop = reminder_shop
    carts = 2 * CONCURRENCY + 12
    line.set_latency(0.3)
    worker = processes.worker()
    shoppers = carts_due_in(shop, carts, seconds=1)

    # when the worker, its work-horse and its scheduler are killed once LINE
    # has accepted the first round, with the second on its way
    wait_until(lambda: line.accepted_count >= CONCURRENCY, 30, "LINE's first round")
    worker.kill()
    time.sleep(1)  # what was on its way reaches LINE
    accepted_by_the_dead = line.accepted_count
    assert count_status(shop) == {"sending": carts}

    # and a new worker starts; once the dead worker's claims have expired
    # the minute's sweep releases them
    line.set_latency(0)
    release_scheduler_locks()
    processes.worker("worker-2")
    clock.advance(CLAIM_LEASE + timedelta(minutes=1))
    run_reminder_sweep()
    wait_until(
        lambda: all_ended(shop),
        30,
        "every reminder to be settled",
        details=lambda: str(count_status(shop)),
    )

    # then each shopper got one push; what LINE had already accepted was
    # answered 409 on the retry and counted as sent, not sent again
    assert_line_sent_each_once(shop, line, shoppers)
    assert CONCURRENCY <= accepted_by_the_dead < carts
    duplicates = [send for send in first_steps(shop) if send.duplicate]
    assert len(duplicates) == line.count_calls(409) == accepted_by_the_dead


def test_redis_flushed_loses_no_due_reminder(
    reminder_shop: Shop, line: FakeLinePlatform, processes: Processes
) -> None:
    # given 20 reminders being sent (LINE answers in 0.5 s), and 20 more due
    # in 15 s whose wake-up jobs live only in Redis
    shop = reminder_shop
    line.set_latency(0.5)
    processes.worker()
    sending = carts_due_in(shop, 20, seconds=1, prefix="sending")
    waiting = carts_due_in(shop, 20, seconds=15, prefix="waiting")
    redis = current().redis
    wait_until(lambda: line.accepted_count >= 1, 30, "the first push")
    assert count_status(shop)["pending"] == len(waiting)

    # when this run's Redis database is flushed (never FLUSHALL: other runs
    # share the server)
    redis.flushdb()
    flushed_at = time.monotonic()

    # then the worker, at its next idle check, puts its periodic jobs back
    registry = ScheduledJobRegistry("default", connection=redis)
    wait_until(
        lambda: any(
            job_id.startswith("periodic-reminders-")
            for job_id in registry.get_job_ids()
        ),
        30,
        "the worker to schedule the reminder sweep again",
    )
    back_after = time.monotonic() - flushed_at

    # and the sweep, run now rather than at its minute, finds the reminders
    # whose wake-ups were lost, 30 s (its grace) after they fell due
    clock.advance(timedelta(minutes=1))
    run_reminder_sweep()
    wait_until(
        lambda: all_ended(shop),
        30,
        "every reminder to be sent",
        details=lambda: str(count_status(shop)),
    )
    assert_line_sent_each_once(shop, line, sending + waiting)
    logger.info("faults.redis_flushed", extra={"periodic_back_after": back_after})


class FaultWindow:
    """For a while, every send request a fake receives fails, in turn, as
    ``faults`` say: an HTTP status (a 429 carries ``Retry-After``),
    ``"timeout"`` (no answer before the client gives up, nothing accepted) or
    ``"late"`` (accepted, but answered after the client gave up)."""

    # Past the LINE and Messenger clients' 10 s read timeouts.
    TOO_LATE = 11.0

    def __init__(
        self, fake: FakeChatPlatform, faults: list[int | str], retry_after: int
    ) -> None:
        self.fake = fake
        self.retry_after = retry_after
        self.given: Counter[str] = Counter()
        self._faults = itertools.cycle(faults)
        self._until = 0.0
        self._lock = threading.Lock()
        recorder_of(fake).before = self._before

    def open_for(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds

    def _before(self) -> float:
        if time.monotonic() >= self._until:
            return 0.0
        with self._lock:
            fault = next(self._faults)
            self.given[str(fault)] += 1
        if fault == "late":
            return self.TOO_LATE
        self.fake.inject_faults(
            [fault], retry_after=str(self.retry_after), timeout_seconds=self.TOO_LATE
        )
        return 0.0


def test_platform_429_500_timeouts_for_a_while(
    reminder_shop: Shop,
    line: FakeLinePlatform,
    messenger: FakeMessengerPlatform,
    processes: Processes,
) -> None:
    # given 12 shoppers on LINE and 8 on Messenger (inside its 24-hour
    # window), their first reminders due in 2 s
    shop = reminder_shop
    processes.worker()
    wrote_at = clock.now() - timedelta(minutes=1)
    on_line = carts_due_in(shop, 12, seconds=2, prefix="line")
    on_messenger = [
        shopper.binding.external_id
        for shopper in carts_due_in(
            shop, 8, seconds=2, prefix="messenger", channel=MESSENGER, wrote_at=wrote_at
        )
    ]
    for psid in on_messenger:
        messenger.receive_message(PAGE_ID, psid, wrote_at)

    # when for 5 s both platforms answer 429 (Retry-After: 3), 500, and
    # nothing in time, LINE also accepting some pushes it answers too late
    line_faults = FaultWindow(line, [429, 500, "timeout", "late"], retry_after=3)
    messenger_faults = FaultWindow(messenger, [429, 500, "timeout"], retry_after=3)
    line_faults.open_for(5)
    messenger_faults.open_for(5)

    # then the sends throttled with Retry-After go again on their own, once
    # the wait is over (RQ's scheduler keeps the wall clock)
    wait_until(
        lambda: not _waiting_for_retry_after(shop),
        40,
        "the throttled sends to go again",
        details=lambda: str(count_status(shop)),
    )

    # and the others once their backoff (30 s and more) has passed
    clock.advance(timedelta(minutes=2))
    run_reminder_sweep()
    wait_until(
        lambda: all_ended(shop),
        30,
        "every reminder to be sent",
        details=lambda: str(count_status(shop)),
    )

    # the books: each LINE shopper got one push, each Messenger shopper each
    # part once; every kind of fault was met; none went before Retry-After
    assert_line_sent_each_once(shop, line, on_line)
    for psid in on_messenger:
        parts = [entry.messages[0] for entry in messenger.delivered_to(psid)]
        assert len(parts) == 2, f"{psid}: {len(parts)} parts delivered"
        assert parts[0] != parts[1]
    sends = first_steps(shop)
    assert {send.status for send in sends} == {"sent"}
    assert all(send.attempts >= 2 for send in sends)
    assert set(line_faults.given) == {"429", "500", "timeout", "late"}
    assert set(messenger_faults.given) == {"429", "500", "timeout"}
    for fake, recipient in [(line, s.binding.external_id) for s in on_line] + [
        (messenger, psid) for psid in on_messenger
    ]:
        _assert_retry_after_honoured(fake, recipient)


def _waiting_for_retry_after(shop: Shop) -> bool:
    """Whether a send still waits out a platform's Retry-After (LINE's 429,
    Messenger's code 4), or has not been tried yet."""
    return any(
        send.status != "sent"
        and (send.attempts == 0 or send.deferred_reason in ("retry_429", "retry_4"))
        for send in first_steps(shop)
    )


def _assert_retry_after_honoured(fake: FakeChatPlatform, recipient: str) -> None:
    answers = recorder_of(fake).to(recipient)
    for answer, following in itertools.pairwise(answers):
        if answer.status == 429 and answer.retry_after:
            waited = following.arrived - answer.answered
            assert waited >= float(answer.retry_after), (
                f"{recipient}: tried again {waited:.2f} s after a 429 asking for"
                f" {answer.retry_after} s"
            )
