"""Results per campaign: the funnel from sight to order, and cost against revenue."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient

from engine.game import campaign_results
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import run_jobs
from tests.game import (
    OTHER_PRODUCT_URL,
    TWO_PAGES,
    a_campaign,
    collect,
    deliver,
    game_post,
    order_payload,
    report_seen,
    the_redemption,
    view_page,
)


def test_results_follow_the_funnel_to_the_order(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given three visitors shown a collectible: one collects twice, redeems and
    # buys; one collects once; one only looks
    campaign = a_campaign(shop, min_seconds=0, targets=TWO_PAGES)
    buyer, collector, onlooker = (view_page(client, shop) for _ in range(3))
    for answer in (buyer, collector, onlooker):
        report_seen(client, shop, answer)
    for answer in (buyer, collector):
        assert collect(client, shop, answer).status_code == 200
    rope = view_page(client, shop, token=buyer["visitor_token"], url=OTHER_PRODUCT_URL)
    assert collect(client, shop, rope).status_code == 200
    game_post(client, shop, "redeem", {"visitor_token": buyer["visitor_token"]})
    run_jobs(app)
    code = the_redemption().code
    deliver(
        app,
        client,
        platform,
        shop,
        "orders/create",
        order_payload(discount_codes=[{"code": code, "amount": "12.00"}]),
    )

    # when the merchant reads the results
    [results] = campaign_results(shop)

    # then every step of the funnel is counted
    assert results.campaign_id == campaign.id
    assert (results.shown_to, results.collectors, results.collects) == (3, 2, 3)
    assert (results.collected, results.expired) == (Decimal("17.00"), Decimal("0.00"))
    assert (results.codes_issued, results.credits_issued) == (1, 0)
    assert (results.codes_used, results.credits_used) == (1, 0)
    assert (results.issued_amount, results.used_amount) == (
        Decimal("12.00"),
        Decimal("12.00"),
    )
    assert (results.orders, results.revenue) == (1, Decimal("1520.00"))
    assert results.conversion_rate == 0.5
    assert results.cost == Decimal("12.00")
    assert results.cost_to_revenue == float(Decimal("12.00") / Decimal("1520.00"))


def test_an_order_is_shared_between_the_campaigns_its_code_came_from(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given NT$5 from one campaign and NT$7 from another in one code
    first = a_campaign(shop, min_seconds=0)
    second = a_campaign(
        shop,
        name="Rope week",
        min_seconds=0,
        targets=[{"kind": "product", "value": "rope-tug", "reward": "7"}],
    )
    answer = view_page(client, shop)
    assert collect(client, shop, answer).status_code == 200
    rope = view_page(client, shop, token=answer["visitor_token"], url=OTHER_PRODUCT_URL)
    assert collect(client, shop, rope).status_code == 200
    game_post(client, shop, "redeem", {"visitor_token": answer["visitor_token"]})
    run_jobs(app)

    # when an order of NT$1,520 uses the code
    deliver(
        app,
        client,
        platform,
        shop,
        "orders/create",
        order_payload(discount_codes=[{"code": the_redemption().code}]),
    )

    # then each campaign counts the order, with its share of the revenue
    by_id = {row.campaign_id: row for row in campaign_results(shop)}
    assert (by_id[first.id].orders, by_id[first.id].revenue) == (
        1,
        Decimal("633.33"),
    )
    assert (by_id[second.id].orders, by_id[second.id].revenue) == (
        1,
        Decimal("886.67"),
    )
    assert by_id[first.id].used_amount == Decimal("5.00")
    assert by_id[second.id].used_amount == Decimal("7.00")
