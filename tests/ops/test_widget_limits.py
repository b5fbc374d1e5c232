"""The widget API's rate limits: per address, per shop, per visitor, kept by each
process alone while Redis is away."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.ops.connections import prompt_redis
from engine.ratelimit import Budget, Limiter
from engine.shops.models import Shop
from plugin import create_app
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.widget_api.limits import LIMITER_KEY
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop
from tests.widget_api import EVENTS_PATH, PAGE_PATH, new_visitor, post_page, storefront

SHOPPER = "203.0.113.5"
OTHER_SHOPPER = "203.0.113.6"
ROOMY = Budget(1000, 60)


@pytest.fixture
def budgets(set_settings: Callable[..., None]) -> Callable[..., None]:
    """Set the three budgets for one test; any not named is roomy."""

    def set_budgets(
        ip: Budget = ROOMY, shop: Budget = ROOMY, visitor: Budget = ROOMY
    ) -> None:
        set_settings(
            widget_rate_limit_ip=ip,
            widget_rate_limit_shop=shop,
            widget_rate_limit_visitor=visitor,
        )

    return set_budgets


@pytest.fixture
def other_shop(shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    return install_shop(client, platform, OTHER_SHOP_DOMAIN)


def page_from(
    client: FlaskClient, shop: Shop, address: str, token: str | None = None
) -> TestResponse:
    """A page view sent from ``address``."""
    return client.post(
        PAGE_PATH,
        data=json.dumps(
            {
                "widget_key": shop.widget_key,
                "visitor_token": token,
                "page": {"url": f"{storefront(shop)}/products/chew-toy"},
                "locale": "zh-TW",
                "event_id": "6f1c2a8e-0b7d-4e21-9a55-1d2e3f4a5b6c",
            }
        ),
        headers={"Content-Type": "text/plain", "Origin": storefront(shop)},
        environ_base={"REMOTE_ADDR": address},
    )


def statuses(responses: list[TestResponse]) -> list[int]:
    return [response.status_code for response in responses]


def test_flood_from_one_address_is_limited_and_another_address_is_not(
    client: FlaskClient, shop: Shop, budgets: Callable[..., None]
) -> None:
    # given an address budget of 5 calls per minute
    budgets(ip=Budget(5, 60))

    # when one address sends 7 page views, then another address sends one
    flood = [page_from(client, shop, SHOPPER) for _ in range(7)]
    other = page_from(client, shop, OTHER_SHOPPER)

    # then
    assert statuses(flood) == [200] * 5 + [429] * 2
    # (the next call is due 12 s after the first; a slow machine took some)
    wait = flood[5].headers["Retry-After"]
    assert 10 <= int(wait) <= 12
    assert flood[5].get_json() == {
        "detail": f"Too many requests from this address; try again in {wait} s.",
        "code": "rate_limited",
    }
    assert other.status_code == 200


def test_one_shops_flood_does_not_limit_another_shop(
    client: FlaskClient,
    shop: Shop,
    other_shop: Shop,
    budgets: Callable[..., None],
) -> None:
    # given a shop budget of 5 calls per minute
    budgets(shop=Budget(5, 60))

    # when the first shop's storefront is flooded from many addresses
    flood = [page_from(client, shop, f"198.51.100.{n}") for n in range(1, 8)]
    other = [page_from(client, other_shop, f"198.51.100.{n}") for n in range(1, 4)]

    # then only the flooded shop is refused
    assert statuses(flood) == [200] * 5 + [429] * 2
    assert flood[6].get_json()["detail"].startswith("Too many requests for this shop")
    assert statuses(other) == [200] * 3


def test_one_visitors_flood_does_not_limit_another_visitor(
    client: FlaskClient, shop: Shop, budgets: Callable[..., None]
) -> None:
    # given a visitor budget of 3 calls per minute, and two visitors
    budgets(visitor=Budget(3, 60))
    noisy, quiet = new_visitor(client, shop), new_visitor(client, shop)

    # when
    flood = [page_from(client, shop, SHOPPER, noisy) for _ in range(4)]
    other = page_from(client, shop, SHOPPER, quiet)

    # then (a first page view, with no token yet, spends no visitor's budget)
    assert statuses(flood) == [200, 200, 200, 429]
    detail = flood[3].get_json()["detail"]
    assert detail.startswith("Too many requests from this visitor")
    assert other.status_code == 200


def test_refusal_is_readable_by_the_storefront(
    client: FlaskClient, shop: Shop, budgets: Callable[..., None]
) -> None:
    # given
    budgets(ip=Budget(1, 60))
    page_from(client, shop, SHOPPER)

    # when
    refused = page_from(client, shop, SHOPPER)

    # then the widget may read the answer and its Retry-After
    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == storefront(shop)
    assert refused.headers["Access-Control-Expose-Headers"] == "Retry-After"
    assert 58 <= int(refused.headers["Retry-After"]) <= 60


def test_a_call_naming_its_shop_in_the_query_spends_the_shops_budget(
    client: FlaskClient,
    shop: Shop,
    other_shop: Shop,
    budgets: Callable[..., None],
) -> None:
    # given a shop budget of 2, and calls that send raw bytes (as an image
    # upload does) with the widget key in the query string
    budgets(shop=Budget(2, 60))

    def upload(for_shop: Shop) -> TestResponse:
        return client.post(
            f"{EVENTS_PATH}?widget_key={for_shop.widget_key}",
            data=b"\x89PNG\r\n",
            headers={"Content-Type": "image/png", "Origin": storefront(for_shop)},
        )

    # when
    answers = [upload(shop) for _ in range(3)]
    other = upload(other_shop)

    # then the view refused the type twice, and the budget the third call
    assert statuses(answers) == [415, 415, 429]
    assert other.status_code == 415


def test_views_answer_large_and_chunked_bodies_as_without_limits(
    app: Flask, client: FlaskClient, shop: Shop, budgets: Callable[..., None]
) -> None:
    # given a body over the widget's 32 KB, sent with its length or chunked
    budgets(ip=Budget(5, 60))
    body = json.dumps({"widget_key": shop.widget_key, "pad": "x" * 40_000}).encode()
    headers = {"Content-Type": "text/plain", "Origin": storefront(shop)}

    def send_both() -> list[tuple[int, dict]]:
        sized = client.post(PAGE_PATH, data=body, headers=headers)
        chunked = client.post(
            PAGE_PATH,
            input_stream=io.BytesIO(body),
            headers={**headers, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
        return [(each.status_code, each.get_json()) for each in (sized, chunked)]

    # when sent with limits on, then off
    limited = send_both()
    original = app.extensions[LIMITER_KEY]
    app.extensions[LIMITER_KEY] = None
    try:
        unlimited = send_both()
    finally:
        app.extensions[LIMITER_KEY] = original

    # then the views' own checks gave the same answers (the limiter read
    # neither body: one is too large, the other has no length)
    assert limited == unlimited
    assert limited[0] == (
        413,
        {"detail": "The body is over 32 KB.", "code": "payload_too_large"},
    )


def test_redis_out_of_reach_leaves_the_process_its_own_budgets(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    budgets: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a budget of two page views per address, and the limiter's Redis
    # refusing connections
    budgets(ip=Budget(2, 60))
    original = app.extensions[LIMITER_KEY]
    app.extensions[LIMITER_KEY] = Limiter(prompt_redis("redis://127.0.0.1:1/0", 0.25))
    caplog.set_level(logging.WARNING, logger="engine.ratelimit")

    # when
    try:
        answers = [post_page(client, shop) for _ in range(3)]
    finally:
        app.extensions[LIMITER_KEY] = original

    # then the storefront was answered as with Redis, and the outage logged once
    assert statuses(answers) == [200, 200, 429]
    assert [r.getMessage() for r in caplog.records] == ["ratelimit.redis_unavailable"]


def test_limits_off_lets_every_call_through(
    app: Flask, client: FlaskClient, shop: Shop, budgets: Callable[..., None]
) -> None:
    # given a budget of 1, but no limiter (WIDGET_RATE_LIMITS=off)
    budgets(ip=Budget(1, 60))
    original = app.extensions[LIMITER_KEY]
    app.extensions[LIMITER_KEY] = None

    # when
    try:
        answers = [page_from(client, shop, SHOPPER) for _ in range(3)]
    finally:
        app.extensions[LIMITER_KEY] = original

    # then
    assert statuses(answers) == [200, 200, 200]


def test_forwarded_for_counts_only_behind_trusted_proxies(
    app: Flask, settings_env: dict[str, str]
) -> None:
    # given the app behind one trusted proxy (10.0.0.2), and one behind none
    limits = {"WIDGET_RATE_LIMIT_IP": "2/60"}
    proxied = create_app({**settings_env, **limits, "TRUSTED_PROXIES": "1"})
    direct = create_app({**settings_env, **limits})

    def calls(target: Flask, forwarded_for: list[str]) -> list[int]:
        with target.test_client() as client:
            return [
                client.post(
                    PAGE_PATH,
                    headers={"X-Forwarded-For": each},
                    environ_base={"REMOTE_ADDR": "10.0.0.2"},
                ).status_code
                for each in forwarded_for
            ]

    # when three calls name one shopper, then one names another
    behind_proxy = calls(proxied, ["192.0.2.1"] * 3 + ["192.0.2.2"])
    # and a client forges a new address on each call to the direct app
    forged = calls(direct, ["192.0.2.10", "192.0.2.11", "192.0.2.12"])

    # then the proxy's shoppers have their own budgets, the forger one
    # (the calls that pass are refused by the view: they carry no body)
    assert behind_proxy == [400, 400, 429, 400]
    assert forged == [400, 400, 429]
