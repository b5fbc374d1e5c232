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
import threading
import time
from collections import defaultdict, deque
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

    @classmethod
    def under(cls, limit: float) -> Budget:
        """80 % of a platform's per-second limit, in any one second: a rate
        of 75 % and a burst of 5 %, since a burst after a quiet spell comes
        on top of that second's rate."""
        return cls(rate=limit * 0.75, burst=max(1.0, limit * 0.05))


# LINE push: 2,000 requests/s per channel. Messenger Send API: 300 calls/s per
# Page (https://developers.facebook.com/docs/messenger-platform/overview/rate-limiting).
# Deployments set other limits through engine.settings.
LINE_PUSH_BUDGET = Budget.under(2000)
MESSENGER_SEND_BUDGET = Budget.under(300)
DEFAULT_BUDGETS = {"line": LINE_PUSH_BUDGET, "messenger": MESSENGER_SEND_BUDGET}

# KEYS[1]: the bucket. ARGV: rate per second, burst, longest wait we accept in
# milliseconds for the first slot, how many slots to take. Returns {granted
# 0/1, wait ms for the first slot, Redis's time ms, tokens before} as strings,
# since Redis would truncate Lua numbers to integers; "%.17g" keeps every
# digit of a double (Lua's tostring keeps 14, a tenth of a millisecond of
# today's time). Slot i (from 0) of the block falls (i + 1 - before) / rate
# seconds after that time, or at once if that is not positive.
_RESERVE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
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
local before = string.format('%.17g', tokens)
if wait > max_wait then
  return {'0', string.format('%.17g', wait), string.format('%.17g', now), before}
end

tokens = tokens - count
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {'1', string.format('%.17g', wait), string.format('%.17g', now), before}
"""


@dataclass(frozen=True)
class Reservation:
    """Slots in the budget: the first ``wait`` seconds from now, at ``slot_at``
    (Redis's clock); ``waits`` gives each slot of a block, the first included."""

    granted: bool
    wait: float
    slot_at: float
    waits: tuple[float, ...] = ()


class RateLimiter:
    """Reserves send slots for channel keys such as ``line:<channel id>``.

    ``block`` > 1 takes that many slots per round trip to Redis and hands
    them out to this limiter's callers (threads of one batch) in turn: a
    send then costs a Redis call only every ``block`` sends. A block's slots
    not used before the limiter is dropped are simply lost to the budget,
    which errs on the safe side.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        sleep: Callable[[float], None] = time.sleep,
        block: int = 1,
    ) -> None:
        if block < 1:
            raise ValueError(f"A block needs at least one slot, not {block!r}.")
        self._redis = redis
        self._script = redis.register_script(_RESERVE_SCRIPT)
        self._sleep = sleep
        self._block = block
        # Reserved slots not handed out yet, as time.monotonic() moments.
        self._slots: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def reserve(
        self, channel_key: str, budget: Budget, max_wait: float, count: int = 1
    ) -> Reservation:
        """Take the next ``count`` slots if the first comes within ``max_wait`` s.

        A refused reservation (``granted`` false) takes nothing from the bucket.
        """
        granted, wait_ms, now_ms, before = self._script(
            keys=[KEY_PREFIX + channel_key],
            args=[budget.rate, budget.burst, max_wait * 1000, count],
        )
        before = float(_text(before))
        waits = tuple(
            max(0.0, (index + 1 - before) / budget.rate) for index in range(count)
        )
        wait = float(_text(wait_ms)) / 1000
        return Reservation(
            granted=_text(granted) == "1",
            wait=wait,
            slot_at=float(_text(now_ms)) / 1000 + wait,
            waits=waits,
        )

    def acquire(self, channel_key: str, budget: Budget, timeout: float = 30.0) -> float:
        """Block until a send slot is ours; returns the seconds waited.

        Raises ``LocallyThrottledError`` (with ``retry_after``) when the next
        slot is further than ``timeout`` away, so a job can hand its work
        back instead of holding a worker.
        """
        with self._lock:
            slot = self._next_slot(channel_key, budget, timeout)
        wait = slot - time.monotonic()
        if wait > timeout:
            raise self._backlogged(channel_key, wait)
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)

    def _next_slot(self, channel_key: str, budget: Budget, timeout: float) -> float:
        slots = self._slots[channel_key]
        if not slots:
            reservation = self.reserve(channel_key, budget, timeout, self._block)
            if not reservation.granted:
                raise self._backlogged(channel_key, reservation.wait)
            reserved_at = time.monotonic()
            slots.extend(reserved_at + wait for wait in reservation.waits)
        return slots.popleft()

    def _backlogged(self, channel_key: str, wait: float) -> LocallyThrottledError:
        logger.warning(
            "channels.rate_limit.backlogged",
            extra={"channel_key": channel_key, "wait": wait},
        )
        return LocallyThrottledError(
            channel_key.split(":", 1)[0],
            f"The send budget of {channel_key!r} is taken for the next {wait:.1f} s.",
            "rate_limited_locally",
            retry_after=wait,
        )


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
