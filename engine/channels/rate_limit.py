"""The per-channel send budget, shared by every worker process through Redis.

A token bucket kept in one Redis hash per channel key, updated by a Lua
script so concurrent processes never both take the last token. The script
reads Redis's own clock, so workers on machines with skewed clocks agree. A
caller that finds the bucket empty *reserves* the next free slot (the bucket
goes negative) and sleeps until it, which keeps callers in arrival order and
costs one round trip per send. LINE asks for exactly this: a token bucket
with headroom, shared across processes
(https://developers.line.biz/en/docs/messaging-api/preventing-http-429-errors/).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis

from engine.channels.errors import LocallyThrottledError
from engine.runtime import current

logger = logging.getLogger(__name__)

KEY_PREFIX = "revisit:channels:rate:"


@dataclass(frozen=True)
class Budget:
    """Sends per second, and how many may go at once after a quiet spell."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(
                f"A budget needs rate > 0 and burst >= 1, not {self.rate!r}"
                f" and {self.burst!r}."
            )


# 80 % of each platform's documented limit, with a tenth of a second of burst:
# within any one second at most rate + burst = 88 % of the limit goes out.
# LINE push: 2,000 requests/s per channel. Messenger Send API: 300 calls/s per
# Page (https://developers.facebook.com/docs/messenger-platform/overview/rate-limiting).
LINE_PUSH_BUDGET = Budget(rate=1600, burst=160)
MESSENGER_SEND_BUDGET = Budget(rate=240, burst=24)
DEFAULT_BUDGETS = {"line": LINE_PUSH_BUDGET, "messenger": MESSENGER_SEND_BUDGET}

# KEYS[1]: the bucket. ARGV: rate per second, burst, longest wait we accept in
# milliseconds. Returns {granted 0/1, wait ms, slot time ms} as strings, since
# Redis would truncate Lua numbers to integers; "%.17g" keeps every digit of a
# double (Lua's tostring keeps 14, a tenth of a millisecond of today's time).
_RESERVE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + clock[2] / 1000

local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)

local wait = 0
if tokens < 1 then
  wait = (1 - tokens) * 1000 / rate
end
if wait > max_wait then
  return {'0', string.format('%.17g', wait), string.format('%.17g', now + wait)}
end

tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {'1', string.format('%.17g', wait), string.format('%.17g', now + wait)}
"""


@dataclass(frozen=True)
class Reservation:
    """A slot in the budget: ``wait`` seconds from now, at ``slot_at`` (Redis clock)."""

    granted: bool
    wait: float
    slot_at: float


class RateLimiter:
    """Reserves send slots for channel keys such as ``line:<channel id>``."""

    def __init__(
        self, redis: Redis, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(_RESERVE_SCRIPT)
        self._sleep = sleep

    def reserve(self, channel_key: str, budget: Budget, max_wait: float) -> Reservation:
        """Take the next slot if it comes within ``max_wait`` seconds.

        A refused reservation (``granted`` false) takes nothing from the bucket.
        """
        granted, wait_ms, slot_ms = self._script(
            keys=[KEY_PREFIX + channel_key],
            args=[budget.rate, budget.burst, max_wait * 1000],
        )
        return Reservation(
            granted=_text(granted) == "1",
            wait=float(_text(wait_ms)) / 1000,
            slot_at=float(_text(slot_ms)) / 1000,
        )

    def acquire(self, channel_key: str, budget: Budget, timeout: float = 30.0) -> float:
        """Block until a send slot is ours; returns the seconds waited.

        Raises ``LocallyThrottledError`` (with ``retry_after``) when the next
        slot is further than ``timeout`` away, so a job can hand its work
        back instead of holding a worker.
        """
        reservation = self.reserve(channel_key, budget, timeout)
        if not reservation.granted:
            logger.warning(
                "channels.rate_limit.backlogged",
                extra={"channel_key": channel_key, "wait": reservation.wait},
            )
            raise LocallyThrottledError(
                channel_key.split(":", 1)[0],
                f"The send budget of {channel_key!r} is taken for the next"
                f" {reservation.wait:.1f} s.",
                "rate_limited_locally",
                retry_after=reservation.wait,
            )

        if reservation.wait > 0:
            self._sleep(reservation.wait)
        return reservation.wait


def acquire(
    channel_key: str,
    budget: Budget | None = None,
    *,
    redis: Redis | None = None,
    timeout: float = 30.0,
) -> float:
    """Block until ``channel_key`` may send once more; returns the seconds waited.

    The budget defaults to the platform's (the part of the key before ":",
    "line" or "messenger"); Redis defaults to the app's. Channels from
    ``registry.channel_for`` already call this for every request they make.
    """
    if budget is None:
        budget = DEFAULT_BUDGETS[channel_key.split(":", 1)[0]]
    if redis is None:
        redis = current().redis
    return RateLimiter(redis).acquire(channel_key, budget, timeout)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
