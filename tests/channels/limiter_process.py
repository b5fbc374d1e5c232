"""The body of a separate process in the rate-limit tests (kept light to start)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Event

from redis import Redis

from engine.channels.rate_limit import Budget, RateLimiter


def reserve_slots(
    redis_url: str,
    key: str,
    budget: Budget,
    count: int,
    start: Event,
    results: multiprocessing.Queue,
) -> None:
    """Wait for ``start``, take ``count`` slots as fast as Redis answers, report."""
    limiter = RateLimiter(Redis.from_url(redis_url))
    start.wait(timeout=30)
    slots = [limiter.reserve(key, budget, max_wait=60).slot_at for _ in range(count)]
    results.put(slots)
