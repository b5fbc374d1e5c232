"""Which origins may call the widget API, and the CORS preflight."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.db import db
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.errors import InvalidStorefrontOrigin
from engine.tracking.storefronts import add_storefront_origin, normalize_origin
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop
from tests.widget_api import EVENTS_PATH, PAGE_PATH, post_page


def preflight(client: FlaskClient, path: str, origin: str | None):  # noqa: ANN201
    headers = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    if origin is not None:
        headers["Origin"] = origin
    return client.options(path, headers=headers)


@pytest.mark.parametrize("path", [PAGE_PATH, EVENTS_PATH])
def test_preflight_from_a_shops_storefront_is_allowed(
    shop: Shop, client: FlaskClient, path: str
) -> None:
    # when
    response = preflight(client, path, "https://revisit-test.myshopify.com")

    # then
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == (
        "https://revisit-test.myshopify.com"
    )
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert response.headers["Access-Control-Max-Age"] == "7200"
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://not-installed.myshopify.com",
        "http://revisit-test.myshopify.com",
        None,
    ],
)
def test_preflight_from_a_foreign_origin_is_refused(
    shop: Shop, client: FlaskClient, origin: str | None
) -> None:
    # when
    response = preflight(client, PAGE_PATH, origin)

    # then
    assert response.status_code == 403
    assert response.get_json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_recorded_custom_domain_may_post_and_preflight(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    origin = add_storefront_origin(shop, "https://Shop.Example.com/some/page")
    db.session.commit()

    # when
    answer = post_page(client, shop, origin="https://shop.example.com")
    preflighted = preflight(client, EVENTS_PATH, "https://shop.example.com")

    # then
    assert origin == "https://shop.example.com"
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert preflighted.status_code == 204
    assert widget_state.pending() == 1


def test_custom_domain_of_one_shop_is_foreign_to_another(
    shop: Shop,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    widget_state: EventBuffer,
) -> None:
    # given
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    add_storefront_origin(other, "https://other.example.com")
    db.session.commit()

    # when
    response = post_page(client, shop, origin="https://other.example.com")

    # then
    assert response.status_code == 403
    assert widget_state.pending() == 0


def test_sandbox_platform_origin_is_allowed(
    shop: Shop,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    widget_state: EventBuffer,
) -> None:
    # when
    response = post_page(client, shop, origin=platform.base_url)
    preflighted = preflight(client, PAGE_PATH, platform.base_url)

    # then
    assert response.status_code == 200
    assert preflighted.status_code == 204


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("HTTPS://WWW.Example.COM", "https://www.example.com"),
    ],
)
def test_normalize_origin(url: str, origin: str) -> None:
    assert normalize_origin(url) == origin


@pytest.mark.parametrize("url", ["shop.example.com", "ftp://shop.example.com", ""])
def test_normalize_origin_refuses_non_http(url: str) -> None:
    with pytest.raises(InvalidStorefrontOrigin):
        normalize_origin(url)
