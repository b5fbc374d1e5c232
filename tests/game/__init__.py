"""Helpers for the bonus game tests: a shop that may pay out, campaigns, visits.

``GAME_SCOPES`` are the scopes the app asks for (shopify.app.toml), so the
fake platform lets it create codes and grant store credit. ``Clock`` moves
the game's server clock (``engine.game.clock``) without sleeping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.db import db
from engine.game import create_campaign, targets
from engine.game.models import (
    GameCampaign,
    GameLedgerEntry,
    GameRedemption,
    GameWallet,
)
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.tracking.tokens import read_token
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import run_jobs
from tests.webhooks import post_webhook
from tests.widget_api import post_page, storefront

GAME_SCOPES = (
    "read_customers,read_orders,read_products,read_store_credit_accounts,"
    "write_app_proxy,write_discounts,write_store_credit_account_transactions"
)
GAME_PATH = "/api/widget/v1/game/"
PRODUCT_URL = "https://revisit-test.myshopify.com/products/chew-toy"
OTHER_PRODUCT_URL = "https://revisit-test.myshopify.com/products/rope-tug"
CUSTOMER_ID = 7012345678901
SECRET_KEY = "test-secret-key"
TWO_PAGES = [
    {"kind": "product", "value": "chew-toy", "reward": "5"},
    {"kind": "product", "value": "rope-tug", "reward": "7"},
]


@dataclass
class Clock:
    """The game's clock, at ``now`` plus whatever ``advance`` added."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def install_paying_shop(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop_domain: str,
    scopes: str = GAME_SCOPES,
) -> Shop:
    """A shop installed the embedded way, granting ``scopes``, in TWD."""
    platform.add_shop(shop_domain, scopes=scopes)
    token = platform.session_token(shop_domain)
    response = client.get(f"/?shop={shop_domain}&embedded=1&id_token={token}")
    assert response.status_code == 200, response.get_data(as_text=True)
    # The install's own job (the shop's details, TWD), so the Admin API calls
    # a test makes or faults are the test's own.
    run_jobs(current_app._get_current_object())
    # The job wrote in a session of its own; this one still holds the shop
    # the install request loaded.
    db.session.expire_all()
    shop = shop_by_domain(shop_domain)
    assert shop.currency == "TWD"
    return shop


def a_campaign(shop: Shop, **fields: Any) -> GameCampaign:
    """A live campaign: NT$5 on the chew toy's page after 10 s; cap 50, budget 1000."""
    values: dict[str, Any] = {
        "name": "Explore the shop",
        "starts_at": datetime.now(UTC) - timedelta(hours=1),
        "targets": [{"kind": "product", "value": "chew-toy", "reward": "5"}],
        "min_seconds": 10,
        "cap_per_visitor": "50",
        "budget": "1000",
        **fields,
    }
    campaign = create_campaign(shop, **values)
    targets.forget_all()
    return campaign


def view_page(
    client: FlaskClient, shop: Shop, token: str | None = None, url: str = PRODUCT_URL
) -> dict[str, Any]:
    """A page view of the product at ``url``; returns the app's answer."""
    handle = url.rsplit("/", 1)[-1]
    page = {
        "url": url,
        "page_type": "product",
        "product_id": None,
        "product_handle": handle,
    }
    response = post_page(client, shop, token=token, page=page)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def game_post(
    client: FlaskClient,
    shop: Shop,
    action: str,
    body: dict[str, Any],
    origin: str | None = None,
) -> TestResponse:
    payload = {"widget_key": shop.widget_key, **body}
    return client.post(
        GAME_PATH + action,
        data=json.dumps(payload),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": origin or storefront(shop),
        },
    )


def collect(
    client: FlaskClient, shop: Shop, answer: dict[str, Any], token: str | None = None
) -> TestResponse:
    """Tap the collectible of a page view's answer."""
    return game_post(
        client,
        shop,
        "collect",
        {
            "visitor_token": answer["visitor_token"],
            "collect_token": token or answer["collectible"]["token"],
        },
    )


def report_seen(client: FlaskClient, shop: Shop, answer: dict[str, Any]) -> None:
    """The widget's report that the page answer's collectible was shown."""
    response = game_post(
        client,
        shop,
        "seen",
        {
            "visitor_token": answer["visitor_token"],
            "collect_token": answer["collectible"]["token"],
        },
    )
    assert response.status_code == 202, response.get_json()


def visitor_of(shop: Shop, visitor_token: str) -> Visitor:
    public_id = read_token(SECRET_KEY, shop.id, visitor_token)
    return db.session.scalars(
        select(Visitor).where(
            Visitor.shop_id == shop.id, Visitor.public_id == public_id
        )
    ).one()


def becomes_customer(shop: Shop, visitor_token: str, customer_id: int | str) -> None:
    """The visitor turns out to be the platform's customer (signed in)."""
    visitor_of(shop, visitor_token).customer_id = str(customer_id)
    db.session.commit()


def wallet_of(client: FlaskClient, shop: Shop, visitor_token: str) -> dict[str, Any]:
    response = game_post(client, shop, "wallet", {"visitor_token": visitor_token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["wallet"]


def ledger_sums(shop: Shop) -> dict[int, Decimal]:
    """Each wallet's ledger sum."""
    rows = db.session.execute(
        select(GameLedgerEntry.wallet_id, func.sum(GameLedgerEntry.amount))
        .where(GameLedgerEntry.shop_id == shop.id)
        .group_by(GameLedgerEntry.wallet_id)
    )
    return dict(rows.all())


def balances(shop: Shop) -> dict[int, Decimal]:
    """Each wallet's balance column."""
    db.session.expire_all()
    rows = db.session.execute(
        select(GameWallet.id, GameWallet.balance).where(GameWallet.shop_id == shop.id)
    )
    return dict(rows.all())


def assert_ledger_explains_balances(shop: Shop) -> None:
    sums = ledger_sums(shop)
    for wallet_id, balance in balances(shop).items():
        assert sums.get(wallet_id, Decimal("0.00")) == balance, wallet_id


def the_redemption() -> GameRedemption:
    db.session.expire_all()
    return db.session.scalars(select(GameRedemption)).one()


def order_payload(**changes: Any) -> dict[str, Any]:
    """orders/create, placed a minute from now, for NT$1,520."""
    payload = load_payload("orders/create")
    placed = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    payload.update(created_at=placed, processed_at=placed, updated_at=placed)
    payload.update(changes)
    return payload


def deliver(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    topic: str,
    payload: dict[str, Any],
) -> None:
    response = post_webhook(
        client, platform, topic, payload, shop_domain=shop.shop_domain
    )
    assert response.status_code == 200
    run_jobs(app)
    db.session.expire_all()
