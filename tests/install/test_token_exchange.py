"""Embedded install by token exchange, and expiring tokens refreshed safely."""

from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import db, utcnow
from engine.shops.install import shop_by_domain
from engine.shops.tokens import access_token_for
from engine.tracking.models import StorefrontOrigin
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.shopify_tokens import GRANT_TOKEN_EXCHANGE
from tests.conftest import SHOP_DOMAIN, install_shop, run_jobs


def test_app_home_installs_shop_by_token_exchange(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    # given
    platform.add_shop(SHOP_DOMAIN, name="Tea House")
    token = platform.session_token(SHOP_DOMAIN)

    # when
    response = client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={token}")

    # then
    assert response.status_code == 200
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    shop = shop_by_domain(SHOP_DOMAIN)
    assert shop.is_installed
    assert shop.refresh_token is not None
    expires_in = shop.access_token_expires_at - utcnow()
    assert timedelta(minutes=55) < expires_in <= timedelta(hours=1)
    assert platform.count_calls("access_token", GRANT_TOKEN_EXCHANGE) == 1


def test_app_home_stores_tokens_encrypted(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    shop = install_shop(client, platform, SHOP_DOMAIN)

    raw = db.session.execute(
        db.text("SELECT access_token, refresh_token FROM shops WHERE id = :id"),
        {"id": shop.id},
    ).one()

    assert shop.access_token not in raw.access_token
    assert shop.refresh_token not in raw.refresh_token
    assert raw.access_token.startswith("gAAAA")


def test_app_home_without_id_token_redirects_to_patch_page(client: FlaskClient) -> None:
    response = client.get(f"/?shop={SHOP_DOMAIN}&embedded=1")

    assert response.status_code == 302
    assert "/auth/patch-id-token" in response.headers["Location"]


def test_app_home_refuses_token_signed_with_another_secret(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    platform.add_shop(SHOP_DOMAIN)
    forged = FakeShopifyPlatform(
        "test-api-key", "wrong-secret-0123456789abcdef012345"
    ).session_token(SHOP_DOMAIN)

    response = client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={forged}")

    assert response.status_code == 302  # sent to fetch a fresh token
    assert shop_by_domain(SHOP_DOMAIN) is None


def test_second_visit_reuses_stored_token(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    install_shop(client, platform, SHOP_DOMAIN)

    token = platform.session_token(SHOP_DOMAIN)
    response = client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={token}")

    assert response.status_code == 200
    assert platform.count_calls("access_token", GRANT_TOKEN_EXCHANGE) == 1


def test_expired_token_is_refreshed_before_use(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    # given a shop whose access token has expired
    shop = install_shop(client, platform, SHOP_DOMAIN)
    old_token = shop.access_token
    shop.access_token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    # when
    token = access_token_for(shop)

    # then
    assert token != old_token
    assert platform.count_calls("access_token", "refresh_token") == 1
    db.session.expire_all()
    stored = shop_by_domain(SHOP_DOMAIN)
    assert stored.access_token == token
    assert stored.access_token_expires_at > utcnow() + timedelta(minutes=55)


def test_racing_refreshes_use_the_refresh_token_once(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    # given an expired token and two workers that need it at the same moment
    shop = install_shop(client, platform, SHOP_DOMAIN)
    shop.access_token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    shop_id = shop.id
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        with app.app_context():
            try:
                racer = db.session.get(type(shop), shop_id)
                start.wait()
                results.append(access_token_for(racer))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    # when
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then one refresh happened and both got the same new token
    assert errors == []
    assert platform.count_calls("access_token", "refresh_token") == 1
    assert len(set(results)) == 1


def test_install_fetches_shop_details(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    platform.add_shop(SHOP_DOMAIN, name="Tea House", currency="TWD")
    token = platform.session_token(SHOP_DOMAIN)
    client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={token}")

    run_jobs(app)

    db.session.expire_all()
    shop = shop_by_domain(SHOP_DOMAIN)
    assert shop.name == "Tea House"
    assert shop.currency == "TWD"
    assert shop.timezone == "Asia/Taipei"


def test_install_lets_the_widget_post_from_the_stores_primary_domain(
    client: FlaskClient, platform: FakeShopifyPlatform, app: Flask
) -> None:
    # given a store whose online store lives on its own domain
    platform.add_shop(SHOP_DOMAIN, primary_domain="shop.tea-house.example")
    token = platform.session_token(SHOP_DOMAIN)

    # when it installs the app
    client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={token}")
    run_jobs(app)

    # then that domain is one of the shop's storefront origins
    shop = shop_by_domain(SHOP_DOMAIN)
    origins = db.session.scalars(
        select(StorefrontOrigin.origin).where(StorefrontOrigin.shop_id == shop.id)
    ).all()
    assert origins == ["https://shop.tea-house.example"]
