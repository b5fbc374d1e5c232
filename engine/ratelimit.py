"""Inbound request budgets: decided in each web process, shared through Redis.

Each budget is "``limit`` requests per ``period`` seconds", kept as a GCRA
(generic cell rate algorithm): the moment the budget's next request would be
*theoretically* due. A fresh budget takes ``limit`` requests at once, then
one every ``period / limit`` seconds. A request spends every budget it names
(its address's, its shop's, its visitor's) or, if any of them refuses it,
none.

Decisions are made in the process, against its own copy of each budget, so
a storefront call costs no Redis round trip: one call in every
``SYNC_SECONDS`` pushes the hits this process charged since the last push
to Redis in one script, which adds them to the shared budgets and answers
each one's debt (how far its due moment lies ahead of Redis's clock). The
process's copies of those budgets then carry every process's hits up to
that push, and its refusals reach the metrics' count. So a
single process limits exactly; ``N`` processes together can let through at
most what each of them admits within one ``SYNC_SECONDS`` beyond the budget,
before each learns the others' share. That is the price of answering a
storefront in microseconds instead of a Redis round trip (which cost about a
third of an events call), and it is small next to any budget here.

Debts travel relative to Redis's clock (``TIME``), so web machines with
skewed clocks agree. A limiter that cannot reach Redis goes on deciding on
its own copies (each process then limits alone, and ``N`` processes admit up
to ``N`` times a budget) and tries Redis again after a pause; hits charged
meanwhile are pushed when it answers again.

This is not ``engine.channels.rate_limit``: that bucket *reserves* the next
free slot and makes its caller wait for it (outbound sends must all go, in
order). A storefront request must never wait; it is answered or refused at
once.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Budgets are ``<prefix><charge key>``; ``<prefix>refused`` is a hash counting
# refusals per scope ("ip", "shop", ...), for the metrics.
KEY_PREFIX = "revisit:ratelimit:"
# How often a busy process pushes its hits and learns the others'.
SYNC_SECONDS = 0.1
# How long a limiter that lost Redis decides alone before trying again.
PAUSE_AFTER_FAILURE_SECONDS = 5.0
# How many budgets' hits a process keeps while Redis is away.
MAX_UNPUSHED_KEYS = 50_000
# How often a process forgets the budgets that have fully recovered.
FORGET_EVERY_SECONDS = 5.0

_BUDGET_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")

# KEYS: the budgets this push charges, then the refusals hash. ARGV: hits and
# interval (ms) for each budget, in KEYS' order, then scope and count pairs
# of refusals. Returns each budget's debt in ms, as strings, since Redis
# truncates Lua numbers to integers. A key lives as long as its debt.
_SYNC_SCRIPT = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + clock[2] / 1000
local budgets = #KEYS - 1
local debts = {}

for i = 1, budgets do
  local hits = tonumber(ARGV[2 * i - 1])
  local interval = tonumber(ARGV[2 * i])
  local due = tonumber(redis.call('GET', KEYS[i])) or now
  due = math.max(due, now) + hits * interval
  redis.call('SET', KEYS[i], string.format('%.17g', due),
    'PX', math.max(1, math.ceil(due - now)))
  debts[i] = string.format('%.17g', due - now)
end

for j = 2 * budgets + 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[budgets + 1], ARGV[j], ARGV[j + 1])
end
return debts
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
    """Decides requests against this process's copies of their budgets, and
    shares its hits with every other process through Redis.

    Give it a Redis client with short timeouts: the call that pushes waits
    for it.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = KEY_PREFIX,
        sync_every: float = SYNC_SECONDS,
        pause_after_failure: float = PAUSE_AFTER_FAILURE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(_SYNC_SCRIPT)
        self._prefix = prefix
        self._sync_every = sync_every
        self._pause_after_failure = pause_after_failure
        self._clock = clock
        # Each budget's due moment on this process's clock, and what this
        # process charged or refused since its last push.
        self._due: dict[str, float] = {}
        self._unpushed: dict[str, _Unpushed] = {}
        self._refused: Counter[str] = Counter()
        self._next_sync = 0.0
        self._next_forget = 0.0
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()

    def hit(self, charges: Sequence[Charge]) -> Verdict:
        """Charge one request to every budget, or to none if any refuses it."""
        if not charges:
            return ALLOWED

        now = self._clock()
        with self._lock:
            verdict = self._decide(charges, now)

        # One thread pushes at a time; one that finds it busy goes on.
        if now >= self._next_sync and self._sync_lock.acquire(blocking=False):
            try:
                if now >= self._next_sync:
                    self._sync(now)
            finally:
                self._sync_lock.release()
        return verdict

    def sync(self) -> None:
        """Push this process's hits to Redis now and take in every process's."""
        with self._sync_lock:
            self._sync(self._clock())

    def _decide(self, charges: Sequence[Charge], now: float) -> Verdict:
        refused_by, longest = None, 0.0
        dues = []
        for charge in charges:
            budget = charge.budget
            due = max(self._due.get(charge.key, now), now) + budget.interval
            wait = due - now - budget.period
            if wait > longest:
                refused_by, longest = charge.scope, wait
            dues.append(due)

        if refused_by is not None:
            self._refused[refused_by] += 1
            return Verdict(allowed=False, retry_after=longest, refused_by=refused_by)
        for charge, due in zip(charges, dues, strict=True):
            self._due[charge.key] = due
            unpushed = self._unpushed.setdefault(
                charge.key, _Unpushed(charge.budget.interval)
            )
            unpushed.hits += 1
        return ALLOWED

    def _sync(self, now: float) -> None:
        self._next_sync = now + self._sync_every

        with self._lock:
            unpushed, self._unpushed = self._unpushed, {}
            refused, self._refused = self._refused, Counter()
        if not unpushed and not refused:
            self._forget_recovered(now)
            return

        try:
            debts = self._push(unpushed, refused)
        except RedisError as exc:
            self._restore(unpushed, refused)
            self._pause(exc)
            return
        self._take_in(unpushed, debts)
        self._forget_recovered(now)

    def _push(
        self, unpushed: dict[str, _Unpushed], refused: Counter[str]
    ) -> list[float]:
        keys = [self._prefix + key for key in unpushed]
        args: list[object] = []
        for charged in unpushed.values():
            args += [charged.hits, charged.interval * 1000]
        for scope, count in refused.items():
            args += [scope, count]
        debts = self._script(keys=[*keys, self._prefix + "refused"], args=args)
        return [float(_text(debt)) / 1000 for debt in debts]

    def _take_in(self, pushed: dict[str, _Unpushed], debts: list[float]) -> None:
        """Set each pushed budget to the shared debt, plus what this process
        charged while the push was on its way."""
        now = self._clock()
        with self._lock:
            for (key, charged), debt in zip(pushed.items(), debts, strict=True):
                since = self._unpushed.get(key)
                later = since.hits * charged.interval if since else 0.0
                self._due[key] = now + debt + later

    def _restore(self, unpushed: dict[str, _Unpushed], refused: Counter[str]) -> None:
        """Keep what a failed push carried for the next one, within a bound: a
        long outage with many visitors would otherwise grow without end, and
        past it Redis never hears of those hits (this process counted them)."""
        with self._lock:
            if len(self._unpushed) + len(unpushed) > MAX_UNPUSHED_KEYS:
                logger.warning(
                    "ratelimit.hits_dropped", extra={"budgets": len(unpushed)}
                )
                return
            for key, charged in unpushed.items():
                since = self._unpushed.setdefault(key, _Unpushed(charged.interval))
                since.hits += charged.hits
            self._refused.update(refused)

    def _forget_recovered(self, now: float) -> None:
        """Drop budgets back to fresh, so visitors long gone cost no memory."""
        if now < self._next_forget:
            return
        self._next_forget = now + FORGET_EVERY_SECONDS
        with self._lock:
            recovered = [
                key
                for key, due in self._due.items()
                if due <= now and key not in self._unpushed
            ]
            for key in recovered:
                del self._due[key]

    def _pause(self, error: RedisError) -> None:
        self._next_sync = self._clock() + self._pause_after_failure
        logger.warning(
            "ratelimit.redis_unavailable",
            extra={
                "error": type(error).__name__,
                "alone_for_seconds": self._pause_after_failure,
            },
        )


@dataclass
class _Unpushed:
    """Hits a process charged to one budget since its last push."""

    interval: float
    hits: int = 0


def refusals(redis: Redis, prefix: str = KEY_PREFIX) -> dict[str, int]:
    """How many requests each scope has refused since Redis last lost them."""
    counts = redis.hgetall(prefix + "refused")
    return {_text(scope): int(count) for scope, count in counts.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
