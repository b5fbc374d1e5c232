"""Jobs for the fault tests, importable by a real worker process."""

from __future__ import annotations

import time

from engine.runtime import current


def sleep_then_mark(seconds: float, key: str) -> str:
    """Note the start in Redis, sleep, then note the end: what a kill cuts short."""
    redis = current().redis
    redis.set(f"{key}:started", "1")
    time.sleep(seconds)
    redis.set(key, "done")
    return "done"
