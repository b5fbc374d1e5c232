"""``engine.ratelimit``: budgets decided in the process, charged all together or
not at all, and shared between processes through Redis."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from engine import ratelimit
from engine.ops.connections import prompt_redis
from engine.ratelimit import Budget, Charge, InvalidBudget, Limiter
from engine.runtime import current

# Nothing listens on port 1: a connection is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("120/60", Budget(120, 60.0)),
        (" 5 / 0.5s ", Budget(5, 0.5)),
        ("off", None),
        ("OFF", None),
    ],
)
def test_budget_parse_reads_requests_per_seconds(
    text: str, budget: Budget | None
) -> None:
    assert Budget.parse(text) == budget


@pytest.mark.parametrize("text", ["", "120", "120/", "ten/60", "0/60", "5/0", "-1/6"])
def test_budget_parse_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidBudget):
        Budget.parse(text)


def test_hit_allows_the_whole_burst_then_refuses_with_the_wait(app: Flask) -> None:
    # given a budget of 3 requests per 30 s (one every 10 s once spent)
    limiter = Limiter(current().redis)
    charge = Charge("ip", "test:ip:203.0.113.5", Budget(3, 30))

    # when
    verdicts = [limiter.hit([charge]) for _ in range(4)]

    # then
    assert [verdict.allowed for verdict in verdicts] == [True, True, True, False]
    refused = verdicts[3]
    assert refused.refused_by == "ip"
    assert 9.0 < refused.retry_after <= 10.0
    assert refused.retry_after_seconds == 10


def test_hit_refused_by_one_budget_charges_none_of_the_others(app: Flask) -> None:
    # given a tight budget and a roomy one, spent together once
    limiter = Limiter(current().redis)
    tight = Charge("visitor", "test:visitor:1", Budget(1, 60))
    roomy = Charge("shop", "test:shop:1", Budget(5, 60))
    assert limiter.hit([roomy, tight]).allowed

    # when the tight one refuses three more calls
    refusals = [limiter.hit([roomy, tight]) for _ in range(3)]

    # then the roomy budget was charged once only: 4 of its 5 remain
    assert [verdict.refused_by for verdict in refusals] == ["visitor"] * 3
    alone = [limiter.hit([roomy]).allowed for _ in range(5)]
    assert alone == [True, True, True, True, False]


def test_hit_counts_refusals_per_scope(app: Flask) -> None:
    # given
    limiter = Limiter(current().redis)
    address = Charge("ip", "test:ip:198.51.100.1", Budget(1, 60))
    shop = Charge("shop", "test:shop:2", Budget(1, 60))
    limiter.hit([address])
    limiter.hit([shop])

    # when
    limiter.hit([address])
    limiter.hit([address])
    limiter.hit([shop])

    # then, once the limiter has pushed what it counted
    limiter.sync()
    assert ratelimit.refusals(current().redis) == {"ip": 2, "shop": 1}


def test_hit_lets_each_key_expire_after_its_period(app: Flask) -> None:
    # given
    limiter = Limiter(current().redis)

    # when
    limiter.hit([Charge("ip", "test:ip:192.0.2.9", Budget(10, 20))])
    limiter.sync()

    # then the key lives no longer than one request's share of the period
    ttl = current().redis.pttl(ratelimit.KEY_PREFIX + "test:ip:192.0.2.9")
    assert 1000 < ttl <= 2000


def test_limiters_share_their_hits_through_redis_at_each_sync(app: Flask) -> None:
    # given two processes' limiters and a budget of 3 requests per 30 s
    first, second = Limiter(current().redis), Limiter(current().redis)
    charge = Charge("visitor", "test:visitor:shared", Budget(3, 30))

    # when the first spends the budget and pushes its hits, and the second,
    # knowing nothing yet, lets one more through and pushes it
    spent = [first.hit([charge]).allowed for _ in range(3)]
    first.sync()
    unaware = second.hit([charge]).allowed
    second.sync()

    # then the second now refuses, owing the fourth request's share too
    assert spent == [True, True, True]
    assert unaware is True
    verdict = second.hit([charge])
    assert (verdict.allowed, verdict.refused_by) == (False, "visitor")
    assert 19.0 < verdict.retry_after <= 20.0


def test_hit_pushes_to_redis_once_per_sync_interval(app: Flask) -> None:
    # given a limiter on a controlled clock, and a budget of one request
    # every 10 s
    clock = Clock()
    limiter = Limiter(current().redis, clock=clock)
    charge = Charge("ip", "test:ip:203.0.113.20", Budget(10, 100))
    key = ratelimit.KEY_PREFIX + charge.key

    # when a first hit is pushed, a second comes within the interval
    limiter.hit([charge])
    first_debt = current().redis.pttl(key)
    clock.now += ratelimit.SYNC_SECONDS / 2
    limiter.hit([charge])
    unchanged = current().redis.pttl(key)

    # and a third after it
    clock.now += ratelimit.SYNC_SECONDS
    limiter.hit([charge])

    # then Redis heard of the first at once, of the other two together
    assert 9_000 < first_debt <= 10_000
    assert unchanged <= first_debt
    assert 29_000 < current().redis.pttl(key) <= 30_000


def test_hit_without_redis_limits_alone_and_pauses_before_trying_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a limiter whose Redis refuses connections
    clock = Clock()
    limiter = Limiter(prompt_redis(UNREACHABLE_REDIS, 0.2), clock=clock)
    charge = Charge("ip", "test:ip:203.0.113.7", Budget(2, 60))
    caplog.set_level(logging.WARNING, logger="engine.ratelimit")

    # when calls arrive during the pause, then after it
    during = [limiter.hit([charge]).allowed for _ in range(3)]
    clock.now += ratelimit.PAUSE_AFTER_FAILURE_SECONDS + 1
    after = limiter.hit([charge]).allowed

    # then the process kept the budget by itself (one request came back in
    # the 6 s), and Redis was tried (and logged) twice
    assert during == [True, True, False]
    assert after is False
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["ratelimit.redis_unavailable"] * 2
