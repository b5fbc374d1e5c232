"""Reconciliation fills in what missed webhooks never told us."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.commerce.models import Checkout, Order
from engine.db import db
from engine.runtime import current
from engine.shopify.reconcile import enqueue_reconciliation, reconcile_shop
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop, run_jobs
from tests.webhooks import post_webhook

CHECKOUT_TOKEN = load_payload("checkouts/create")["token"]
# The sample payloads were updated on 2026-11-20 and 21.
BEFORE_SAMPLES = datetime(2026, 11, 19, tzinfo=UTC)


def reconciled_before_samples(shop: Shop) -> None:
    shop.reconciled_through = BEFORE_SAMPLES
    db.session.commit()


def checkout(shop: Shop) -> Checkout | None:
    return db.session.scalar(select(Checkout).where(Checkout.shop_id == shop.id))


def test_reconcile_fills_missed_checkout(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a checkout the platform has but whose webhook never arrived
    reconciled_before_samples(shop)
    platform.add_abandoned_checkout(shop.shop_domain, load_payload("checkouts/create"))

    # when
    counts = reconcile_shop(shop.id)

    # then it is stored under its token, with its customer and lines
    assert counts == {"checkouts": 1, "orders": 0}
    stored = checkout(shop)
    assert stored.token == CHECKOUT_TOKEN
    assert stored.email == load_payload("checkouts/create")["email"]
    assert len(stored.line_items) == len(load_payload("checkouts/create")["line_items"])
    assert stored.completed_at is None


def test_reconcile_fills_missed_order_and_completes_checkout(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given the checkout arrived by webhook but the order's webhook was lost
    post_webhook(client, platform, "checkouts/create", load_payload("checkouts/create"))
    run_jobs(app)
    platform.add_order(shop.shop_domain, load_payload("orders/paid"))
    reconciled_before_samples(shop)

    # when
    reconcile_shop(shop.id)

    # then
    db.session.expire_all()
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert order.order_id == str(load_payload("orders/paid")["id"])
    assert order.financial_status == "paid"
    assert checkout(shop).completed_at == order.placed_at


def test_reconcile_keeps_newer_webhook_state(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given the platform's API lags behind a newer checkouts/update webhook
    platform.add_abandoned_checkout(shop.shop_domain, load_payload("checkouts/create"))
    post_webhook(client, platform, "checkouts/update", load_payload("checkouts/update"))
    run_jobs(app)
    newer = load_payload("checkouts/update")
    reconciled_before_samples(shop)

    # when
    reconcile_shop(shop.id)

    # then
    db.session.expire_all()
    assert checkout(shop).email == newer["email"]
    assert str(checkout(shop).total_price) == newer["total_price"]


def test_reconcile_moves_watermark_and_reads_only_newer_changes(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    reconcile_shop(shop.id)
    first = db.session.get(Shop, shop.id).reconciled_through
    calls = platform.graphql_calls

    counts = reconcile_shop(shop.id)

    assert counts == {"checkouts": 0, "orders": 0}
    assert db.session.get(Shop, shop.id).reconciled_through > first
    # one query each for checkouts, orders and the store's domains
    assert platform.graphql_calls == calls + 3


def test_reconcile_skips_uninstalled_shop(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    shop.uninstalled_at = shop.installed_at
    db.session.commit()

    assert reconcile_shop(shop.id) == {}
    assert platform.graphql_calls == 0


def test_enqueue_reconciliation_queues_each_installed_shop(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    install_shop(client, platform, OTHER_SHOP_DOMAIN)

    count = enqueue_reconciliation()

    assert count == 2
    assert set(current().queue("default").job_ids) >= {
        f"reconcile-{shop.id}",
        f"reconcile-{shop.id + 1}",
    }
