"""The shared token bucket: one budget for every process and thread that sends.

The checks are on the slots Redis hands out (times on Redis's clock), not on
how fast this machine is: in any stretch between two granted slots, no more
than ``burst + rate × length`` slots may fall.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from redis import Redis

from engine.channels.errors import RetryableChannelError
from engine.channels.rate_limit import (
    DEFAULT_BUDGETS,
    LINE_PUSH_BUDGET,
    MESSENGER_SEND_BUDGET,
    Budget,
    RateLimiter,
)
from tests.channels.limiter_process import reserve_slots
from tests.conftest import BACKENDS

KEY = "line:2000000001"
BUDGET = Budget(rate=200, burst=5)
# One slot a second: however slow this machine, a test's few calls to Redis
# refill next to nothing of it.
SLOW = Budget(rate=1, burst=5)


def assert_within_budget(slots: list[float], budget: Budget) -> None:
    ordered = sorted(slots)
    for first in range(len(ordered)):
        for last in range(first, len(ordered)):
            granted = last - first + 1
            allowed = budget.burst + budget.rate * (ordered[last] - ordered[first])
            assert granted <= allowed + 1e-3, (first, last, ordered[first : last + 1])


def test_default_budgets_keep_any_second_within_80_percent_of_the_limits() -> None:
    # then LINE push 2,000/s and Messenger 300/s per Page: a second's rate
    # plus a burst after a quiet spell stays at 80 %
    assert (LINE_PUSH_BUDGET.rate, LINE_PUSH_BUDGET.burst) == (1500, 100)
    assert (MESSENGER_SEND_BUDGET.rate, MESSENGER_SEND_BUDGET.burst) == (225, 15)
    assert DEFAULT_BUDGETS == {
        "line": LINE_PUSH_BUDGET,
        "messenger": MESSENGER_SEND_BUDGET,
    }
    for budget, limit in ((LINE_PUSH_BUDGET, 2000), (MESSENGER_SEND_BUDGET, 300)):
        assert budget.rate + budget.burst == pytest.approx(0.8 * limit)


def test_reserve_grants_burst_then_spaces_slots(redis: Redis) -> None:
    # given
    limiter = RateLimiter(redis)

    # when
    reservations = [limiter.reserve(KEY, SLOW, max_wait=10) for _ in range(8)]

    # then five at once, then one slot a second, back to back
    assert [r.wait for r in reservations[:5]] == [0.0] * 5
    assert all(r.wait > 0.5 for r in reservations[5:])
    assert all(r.granted for r in reservations)
    slots = [r.slot_at for r in reservations]
    assert slots[6] - slots[5] == pytest.approx(1.0, abs=1e-6)
    assert slots[7] - slots[6] == pytest.approx(1.0, abs=1e-6)
    assert_within_budget(slots, SLOW)


def test_reserve_beyond_max_wait_takes_nothing(redis: Redis) -> None:
    # given an emptied bucket
    limiter = RateLimiter(redis)
    for _ in range(5):
        limiter.reserve(KEY, SLOW, max_wait=10)

    # when a caller will not wait for the next slot, a second away
    refused = limiter.reserve(KEY, SLOW, max_wait=0.5)
    after = limiter.reserve(KEY, SLOW, max_wait=10)

    # then it got nothing, and the next caller gets that very slot
    assert refused.granted is False
    assert after.granted is True
    assert after.slot_at == pytest.approx(refused.slot_at, abs=0.1)


def test_acquire_sleeps_until_its_slot(redis: Redis) -> None:
    # given
    slept: list[float] = []
    limiter = RateLimiter(redis, sleep=slept.append)

    # when
    waits = [limiter.acquire(KEY, SLOW) for _ in range(7)]

    # then the first five went at once, the others slept for their slot
    assert waits[:5] == [0.0] * 5
    assert slept == waits[5:]
    assert all(wait > 0.5 for wait in slept)


def test_acquire_backlogged_raises_retryable_with_retry_after(redis: Redis) -> None:
    # given a slow budget, emptied
    slow = Budget(rate=1, burst=1)
    limiter = RateLimiter(redis, sleep=lambda seconds: None)
    limiter.acquire(KEY, slow)

    # when the next slot is further away than the caller's timeout
    with pytest.raises(RetryableChannelError) as backlogged:
        limiter.acquire(KEY, slow, timeout=0.5)

    # then
    assert backlogged.value.channel == "line"
    assert backlogged.value.retry_after == pytest.approx(1.0, abs=0.3)


def test_limiter_shared_by_two_processes(redis: Redis) -> None:
    # given two processes ready to take 60 slots each at the same moment
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(
            target=reserve_slots,
            args=(BACKENDS.redis_url, KEY, BUDGET, 60, start, results),
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()

    # when
    start.set()
    slots = results.get(timeout=60) + results.get(timeout=60)
    for worker in workers:
        worker.join(timeout=30)

    # then 120 slots, and never more than the budget in any stretch
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert len(slots) == 120
    assert_within_budget(slots, BUDGET)


def test_limiter_shared_by_threads(redis: Redis) -> None:
    # given
    limiter = RateLimiter(redis)
    slots: list[float] = []
    lock = threading.Lock()

    def take(count: int) -> None:
        taken = [
            limiter.reserve(KEY, BUDGET, max_wait=60).slot_at for _ in range(count)
        ]
        with lock:
            slots.extend(taken)

    # when four threads take 30 slots each at once
    threads = [threading.Thread(target=take, args=(30,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert len(slots) == 120
    assert_within_budget(slots, BUDGET)


def test_budgets_of_different_channels_are_independent(redis: Redis) -> None:
    # given one channel's bucket emptied
    limiter = RateLimiter(redis)
    for _ in range(5):
        limiter.reserve(KEY, SLOW, max_wait=10)

    # when another channel asks
    other = limiter.reserve("line:2000000002", SLOW, max_wait=10)

    # then it is not held back
    assert other.wait == 0.0


def test_limiter_in_blocks_takes_one_round_trip_per_block(redis: Redis) -> None:
    # given a limiter taking its slots eight at a time, from a bucket that
    # refills too slowly to matter while the test runs
    limiter = RateLimiter(redis, sleep=lambda seconds: None, block=8)
    calls = []
    reserve = limiter.reserve
    limiter.reserve = lambda *args: calls.append(args) or reserve(*args)

    # when 20 sends go
    for _ in range(20):
        limiter.acquire(KEY, SLOW, timeout=60)

    # then Redis was asked three times, and the bucket gave 24 slots
    assert len(calls) == 3
    tokens = float(redis.hget("revisit:channels:rate:" + KEY, "tokens"))
    assert tokens == pytest.approx(SLOW.burst - 24, abs=0.5)


def test_block_slots_keep_to_the_budget(redis: Redis) -> None:
    # given a block bigger than the burst
    limiter = RateLimiter(redis)

    # when one reservation takes 12 slots of a 5-burst budget
    reservation = limiter.reserve(KEY, SLOW, max_wait=30, count=12)

    # then the first five are free and the rest one second apart
    assert reservation.granted
    assert reservation.waits[:5] == (0.0,) * 5
    assert [round(wait) for wait in reservation.waits[5:]] == [1, 2, 3, 4, 5, 6, 7]
