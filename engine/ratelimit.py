"""Inbound request budgets shared by every web process through Redis.

Each budget is "``limit`` requests per ``period`` seconds", kept as a GCRA
(generic cell rate algorithm): one Redis string per key holding the moment
its next request would be *theoretically* due. A fresh key takes ``limit``
requests at once, then one every ``period / limit`` seconds. One Lua script
checks every budget a request spends (its address, its shop, its visitor)
in a single round trip and charges them only if all of them allow it, so a
request refused by one budget costs the others nothing. The script reads
Redis's own clock, so web machines with skewed clocks agree.

This is not ``engine.channels.rate_limit``: that bucket *reserves* the next
free slot and makes its caller wait for it (outbound sends must all go, in
order), one key per call. A storefront request must never wait; it is
answered or refused at once, against three keys together.

A limiter that cannot reach Redis lets requests through (fail open) and
stops asking for a few seconds, so a Redis outage costs the storefront one
short timeout per process, not one per request.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Budgets are ``<prefix><charge key>``; ``<prefix>refused`` is a hash counting
# refusals per scope ("ip", "shop", ...), for the metrics.
KEY_PREFIX = "revisit:ratelimit:"
# How long a limiter that lost Redis lets everything through before trying
# again.
PAUSE_AFTER_FAILURE_SECONDS = 5.0

_BUDGET_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")

# KEYS: one per budget, then the refusals hash. ARGV: period ms, interval ms
# and scope for each budget, in KEYS' order. Returns {0, '0'} when every
# budget allows the request (all charged), else {i, wait ms} naming the
# budget that refuses it for longest (nothing charged). Waits go back as
# strings, since Redis truncates Lua numbers to integers.
_HIT_SCRIPT = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + clock[2] / 1000
local budgets = #KEYS - 1
local due = {}
local refused, longest = 0, 0

for i = 1, budgets do
  local period = tonumber(ARGV[3 * i - 2])
  local interval = tonumber(ARGV[3 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  due[i] = math.max(tat, now) + interval
  local wait = due[i] - now - period
  if wait > longest then
    refused, longest = i, wait
  end
end

if refused > 0 then
  redis.call('HINCRBY', KEYS[budgets + 1], ARGV[3 * refused], 1)
  return {refused, string.format('%.17g', longest)}
end
for i = 1, budgets do
  redis.call('SET', KEYS[i], string.format('%.17g', due[i]),
    'PX', math.ceil(due[i] - now))
end
return {0, '0'}
"""


class InvalidBudget(ValueError):
    """A budget setting that is not ``<requests>/<seconds>`` or ``off``."""


@dataclass(frozen=True)
class Budget:
    """``limit`` requests per ``period`` seconds, all of them at once if fresh."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= 0:
            raise InvalidBudget(
                f"A budget needs at least 1 request per more than 0 seconds,"
                f" not {self.limit!r}/{self.period!r}."
            )

    @property
    def interval(self) -> float:
        """Seconds between two requests at the sustained rate."""
        return self.period / self.limit

    @classmethod
    def parse(cls, text: str) -> Budget | None:
        """``"120/60"`` (120 requests per 60 s) as a budget; ``"off"`` as None.

        Raises:
            InvalidBudget: the text is neither.
        """
        if text.strip().lower() == "off":
            return None
        match = _BUDGET_TEXT.match(text)
        if match is None:
            raise InvalidBudget(
                f"Budget {text!r} is not '<requests>/<seconds>' (such as"
                " '120/60') or 'off'."
            )
        return cls(int(match[1]), float(match[2]))

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}"


@dataclass(frozen=True)
class Charge:
    """One budget a request spends: its scope ("ip"), key and budget."""

    scope: str
    key: str
    budget: Budget


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on; if not, which scope said no and for how long."""

    allowed: bool
    retry_after: float = 0.0
    refused_by: str | None = None

    @property
    def retry_after_seconds(self) -> int:
        """``retry_after`` rounded up to whole seconds, at least 1 (for headers)."""
        return max(1, math.ceil(self.retry_after))


ALLOWED = Verdict(allowed=True)


class Limiter:
    """Charges requests to their budgets in Redis; fails open without it.

    Give it a Redis client with short timeouts: a request waits for it.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = KEY_PREFIX,
        pause_after_failure: float = PAUSE_AFTER_FAILURE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(_HIT_SCRIPT)
        self._prefix = prefix
        self._pause_after_failure = pause_after_failure
        self._clock = clock
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def hit(self, charges: Sequence[Charge]) -> Verdict:
        """Charge one request to every budget, or to none if any refuses it."""
        if not charges or self._clock() < self._paused_until:
            return ALLOWED

        keys = [self._prefix + charge.key for charge in charges]
        args: list[object] = []
        for charge in charges:
            budget = charge.budget
            args += [budget.period * 1000, budget.interval * 1000, charge.scope]
        try:
            refused, wait_ms = self._script(
                keys=[*keys, self._prefix + "refused"], args=args
            )
        except RedisError as exc:
            self._pause(exc)
            return ALLOWED

        if int(refused) == 0:
            return ALLOWED
        return Verdict(
            allowed=False,
            retry_after=float(_text(wait_ms)) / 1000,
            refused_by=charges[int(refused) - 1].scope,
        )

    def _pause(self, error: RedisError) -> None:
        with self._lock:
            # Threads that failed together log once.
            if self._clock() < self._paused_until:
                return
            self._paused_until = self._clock() + self._pause_after_failure
        logger.warning(
            "ratelimit.redis_unavailable",
            extra={
                "error": type(error).__name__,
                "open_for_seconds": self._pause_after_failure,
            },
        )


def refusals(redis: Redis, prefix: str = KEY_PREFIX) -> dict[str, int]:
    """How many requests each scope has refused since Redis last lost them."""
    counts = redis.hgetall(prefix + "refused")
    return {_text(scope): int(count) for scope, count in counts.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
