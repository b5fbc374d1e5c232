"""``GET /sandbox/outbox``: a demo-only page of one shop's sandbox messages."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.channels.messages import Buttons, Option, Text
from engine.channels.sandbox import SandboxChannel
from engine.db import db
from engine.shops.models import Shop
from plugin import create_app
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.channels.parts import carousel
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN, install_shop
from tests.test_tenancy import DEMO_ONLY_ROUTES


@pytest.fixture(scope="module")
def demo_app(settings_env: dict[str, str]) -> Flask:
    """The app as ``revisit demo`` builds it, on the tests' database."""
    app = create_app({**settings_env, "REVISIT_DEMO": "1"})
    app.config["TESTING"] = True
    return app


@pytest.fixture
def demo_client(app: Flask, demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


def routes_of(app: Flask) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules()}


def test_sandbox_outbox_page_lists_only_the_named_shop(
    shop: Shop,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    demo_client: FlaskClient,
) -> None:
    # given both shops sent themselves a test
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    parts = (
        Text("Tea for you 🍵"),
        carousel(2, see_all_total=4),
        Buttons("Still thinking?", (Option("No thanks", postback="snooze"),)),
    )
    SandboxChannel(shop.id).send("merchant-mine", parts, retry_key="k-1")
    SandboxChannel(other.id).send(
        "merchant-theirs", (Text("Other shop"),), retry_key="k"
    )
    db.session.commit()

    # when
    response = demo_client.get(f"/sandbox/outbox?shop={SHOP_DOMAIN}")

    # then the phone shows this shop's message, carousel and chips only
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Tea for you 🍵" in page
    assert "Alishan Oolong 2" in page
    assert "See all 4 items" in page
    assert "No thanks" in page
    assert "merchant-mine" in page
    assert "Other shop" not in page
    assert "merchant-theirs" not in page


def test_sandbox_outbox_without_messages_says_so(
    shop: Shop, demo_client: FlaskClient
) -> None:
    response = demo_client.get(f"/sandbox/outbox?shop={SHOP_DOMAIN}")
    assert response.status_code == 200
    assert "Nothing has been sent yet." in response.get_data(as_text=True)


def test_sandbox_outbox_needs_a_known_shop(demo_client: FlaskClient) -> None:
    # when
    missing = demo_client.get("/sandbox/outbox", headers={"Accept": "application/json"})
    unknown = demo_client.get(
        "/sandbox/outbox?shop=nobody.myshopify.com",
        headers={"Accept": "application/json"},
    )

    # then
    assert (missing.status_code, missing.json["code"]) == (400, "missing_shop")
    assert (unknown.status_code, unknown.json["code"]) == (404, "unknown_shop")


def test_sandbox_outbox_is_not_served_outside_demo(
    shop: Shop, client: FlaskClient
) -> None:
    assert client.get(f"/sandbox/outbox?shop={SHOP_DOMAIN}").status_code == 404


def test_demo_adds_exactly_the_demo_only_routes(app: Flask, demo_app: Flask) -> None:
    # then every demo-only route is listed in tests/test_tenancy.py
    assert routes_of(demo_app) - routes_of(app) == set(DEMO_ONLY_ROUTES)
