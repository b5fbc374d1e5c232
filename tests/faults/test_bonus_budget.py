"""The bonus game's budget while the web process collecting is killed outright.

Collecting happens in the web process (``engine.game.collecting``), one
transaction per tap. Shoppers tap through one gunicorn process until it is
SIGKILLed mid-burst (after a stall, so some taps are surely under way); a
tap that got no answer is sent again, with the same collect token, through
a second process, as the widget would. The books: the campaign never spends
more than its budget, what it spent is exactly what the collects and the
wallets' ledger say, and every wallet's balance is its ledger's sum.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.game.models import COLLECTED, GameCampaign, GameCollect, GameLedgerEntry
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import WebProcess
from tests.game import (
    GAME_PATH,
    a_campaign,
    assert_ledger_explains_balances,
    install_paying_shop,
)
from tests.widget_api import storefront

pytestmark = needs_postgresql

SHOPPERS = 30
PAGES = ("chew-toy", "rope-tug")
REWARD = Decimal("5.00")
BUDGET = Decimal("100.00")


def test_bonus_budget_holds_under_a_killed_worker(
    client: FlaskClient, platform: FakeShopifyPlatform, processes: Processes
) -> None:
    # given a campaign giving NT$5 a page, NT$100 in all: 30 shoppers on two
    # pages each could take NT$300
    shop = install_paying_shop(client, platform, SHOP_DOMAIN)
    a_campaign(
        shop,
        min_seconds=0,
        budget=str(BUDGET),
        targets=[
            {"kind": "product", "value": page, "reward": str(REWARD)} for page in PAGES
        ],
    )
    first = processes.web("web-a", wait=False)
    second = processes.web("web-b", wait=False)
    first.wait_ready()
    second.wait_ready()
    widget = _Widget(shop.widget_key, storefront(shop))
    taps = []
    for _ in range(SHOPPERS):
        landed = widget.page_view(first, PAGES[0], None)
        taps += [landed, widget.page_view(first, PAGES[1], landed["visitor_token"])]
    assert all(tap["collectible"] for tap in taps)

    # when they all tap at once through the first process, which stalls for
    # 0.3 s once 10 taps were answered and is killed (master and worker,
    # SIGKILL); a tap left unanswered is sent again through the second
    answered = threading.Semaphore(0)
    with ThreadPoolExecutor(8) as pool:
        results = pool.map(
            lambda tap: widget.collect(first, second, tap, answered), taps
        )
        for _ in range(10):
            assert answered.acquire(timeout=30), "10 answers never came"
        first.freeze()
        time.sleep(0.3)
        first.kill()
        outcomes = list(results)

    # then the budget was spent to the last coin and not one more
    db.session.expire_all()
    campaign = db.session.scalars(select(GameCampaign)).one()
    collected = db.session.scalar(select(func.sum(GameCollect.amount)))
    credited = db.session.scalar(
        select(func.sum(GameLedgerEntry.amount)).where(
            GameLedgerEntry.kind == COLLECTED
        )
    )
    assert campaign.spent == collected == credited == BUDGET
    assert_ledger_explains_balances(shop)

    # and every tap answered 200 is a collect on record; one answered a
    # refusal after its first try was cut off may be one too
    credited_taps = sum(1 for status, _ in outcomes if status == 200)
    collects = db.session.scalar(select(func.count(GameCollect.id)))
    cut_off_then_used = sum(
        1 for status, code in outcomes if status == 409 and code == "token_used"
    )
    assert credited_taps <= collects == BUDGET / REWARD
    assert collects - credited_taps <= cut_off_then_used
    assert {code for status, code in outcomes if status != 200} <= {
        "budget_spent",
        "token_used",
    }
    assert widget.cut_off, "the kill cut off no tap"


class _Widget:
    """What the widget sends: page views and taps, from the shop's storefront."""

    def __init__(self, widget_key: str, origin: str) -> None:
        self.widget_key = widget_key
        self.origin = origin
        # Taps whose first try was under way when its process died.
        self.cut_off = 0
        self._lock = threading.Lock()

    def page_view(
        self, process: WebProcess, page: str, visitor_token: str | None
    ) -> dict[str, Any]:
        url = f"https://{SHOP_DOMAIN}/products/{page}"
        answer = self._post(
            process,
            "/api/widget/v1/page",
            {
                "visitor_token": visitor_token,
                "page": {"url": url, "page_type": "product", "product_handle": page},
                "locale": "zh-TW",
                "event_id": str(uuid.uuid4()),
            },
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def collect(
        self,
        first: WebProcess,
        second: WebProcess,
        tap: dict[str, Any],
        answered: threading.Semaphore,
    ) -> tuple[int, str | None]:
        """One tap: through ``first``, and again through ``second`` (same
        collect token) if it got no answer; the final status and refusal code."""
        token = tap["collectible"]["token"]
        body = {"visitor_token": tap["visitor_token"], "collect_token": token}
        for process in (first, second):
            try:
                response = self._post(process, GAME_PATH + "collect", body)
            except httpx.TransportError as failure:
                if not isinstance(failure, httpx.ConnectError):
                    with self._lock:
                        self.cut_off += 1
                continue
            answered.release()
            code = None if response.status_code == 200 else response.json()["code"]
            return response.status_code, code
        raise AssertionError("Neither process answered a tap.")

    def _post(self, process: WebProcess, path: str, body: dict) -> httpx.Response:
        return httpx.post(
            f"{process.base}{path}",
            content=json.dumps({"widget_key": self.widget_key, **body}),
            headers={"Content-Type": "text/plain", "Origin": self.origin},
            timeout=10,
        )
