"""Collecting under load, on PostgreSQL: real threads, real transactions.

Each request runs in its own thread with its own database session, through
the whole web stack, as gunicorn's threads would run them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.game.models import GameCampaign, GameCollect, GameLedgerEntry
from engine.shops.models import Shop
from plugin.widget_api.limits import LIMITER_KEY
from tests.game import (
    a_campaign,
    assert_ledger_explains_balances,
    collect,
    view_page,
)


@pytest.fixture(autouse=True)
def _postgresql_only(app: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is shown on PostgreSQL; CI runs this case.")


@pytest.fixture(autouse=True)
def _no_rate_limits(app: Flask) -> Iterator[None]:
    # A thousand shoppers sent by one test client share one address, which
    # the widget's rate limits (tests/ops) would rightly stop.
    limiter = app.extensions[LIMITER_KEY]
    app.extensions[LIMITER_KEY] = None
    yield
    app.extensions[LIMITER_KEY] = limiter


def outcome(response) -> str:  # noqa: ANN001 - a test response
    return "credited" if response.status_code == 200 else response.get_json()["code"]


def test_hundred_concurrent_collects_from_one_visitor_credit_once(
    client: FlaskClient, shop: Shop
) -> None:
    # given one visitor on a target page, with 50 tokens from 50 page views
    a_campaign(shop, min_seconds=0)
    first = view_page(client, shop)
    visitor = first["visitor_token"]
    tokens = [first["collectible"]["token"]] + [
        view_page(client, shop, token=visitor)["collectible"]["token"]
        for _ in range(49)
    ]
    # (the answers above all offered a collectible: nothing was collected yet)

    # when 100 requests fire at once: each token twice (double taps, two tabs)
    start = threading.Barrier(100)

    def tap(token: str):  # noqa: ANN202 - a test response
        start.wait()
        return collect(client, shop, first, token=token)

    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(tap, tokens * 2))

    # then exactly one credit, and every other request refused as a repeat
    outcomes = Counter(outcome(response) for response in responses)
    assert outcomes["credited"] == 1
    assert (
        outcomes["credited"] + outcomes["already_collected"] + outcomes["token_used"]
        == 100
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(GameCollect)) == 1
    assert db.session.scalar(select(func.sum(GameLedgerEntry.amount))) == Decimal(
        "5.00"
    )
    assert db.session.scalar(select(GameCampaign.spent)) == Decimal("5.00")
    assert_ledger_explains_balances(shop)


def test_thousand_concurrent_collectors_never_overspend_the_budget(
    client: FlaskClient, shop: Shop
) -> None:
    # given a NT$500 budget (100 rewards of NT$5) and 1,000 visitors on the page
    a_campaign(shop, min_seconds=0, budget="500")
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: view_page(client, shop), range(1000)))
    assert all(answer["collectible"] for answer in answers)

    # when all of them tap at once
    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(
            pool.map(lambda answer: collect(client, shop, answer), answers)
        )

    # then exactly the budget was given out, to 100 of them
    outcomes = Counter(outcome(response) for response in responses)
    assert outcomes == {"credited": 100, "budget_spent": 900}
    db.session.expire_all()
    assert db.session.scalar(select(GameCampaign.spent)) == Decimal("500.00")
    assert db.session.scalar(select(func.count()).select_from(GameCollect)) == 100
    assert db.session.scalar(select(func.sum(GameLedgerEntry.amount))) == Decimal(
        "500.00"
    )
    assert_ledger_explains_balances(shop)
