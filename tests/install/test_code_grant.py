"""The authorization-code grant for installs outside the admin, and its refusals."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.shops.install import shop_by_domain
from plugin.install.routes import STATE_COOKIE
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN


def begin(client: FlaskClient, shop_domain: str = SHOP_DOMAIN) -> str:
    """Start the grant; return the grant screen URL it redirects to."""
    response = client.get(f"/auth?shop={shop_domain}")
    assert response.status_code == 302
    return response.headers["Location"]


def approve(grant_url: str) -> dict[str, str]:
    """The merchant presses Install; return the callback's query parameters."""
    parts = urlsplit(grant_url)
    form = {key: values[0] for key, values in parse_qs(parts.query).items()}
    response = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", data=form)
    assert response.status_code == 302, response.text
    query = urlsplit(response.headers["Location"]).query
    return {key: values[0] for key, values in parse_qs(query).items()}


# Browsers get an HTML page for a refusal; asking for JSON lets tests read the code.
JSON = {"Accept": "application/json"}


def callback(client: FlaskClient, params: dict[str, str]):  # noqa: ANN201
    return client.get(f"/auth/callback?{urlencode(params)}", headers=JSON)


@pytest.fixture
def merchant(platform: FakeShopifyPlatform, app: Flask) -> FakeShopifyPlatform:
    platform.add_shop(SHOP_DOMAIN, installed=False)
    return platform


def test_code_grant_installs_shop_with_expiring_token(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    # given
    grant_url = begin(client)

    # when
    response = callback(client, approve(grant_url))

    # then
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/{SHOP_DOMAIN}/admin/apps/test-api-key"
    )
    shop = shop_by_domain(SHOP_DOMAIN)
    assert shop.is_installed
    assert shop.refresh_token is not None
    assert shop.access_token_expires_at is not None


def test_code_grant_redirects_to_grant_screen_with_state(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    grant_url = begin(client)

    query = parse_qs(urlsplit(grant_url).query)
    assert urlsplit(grant_url).path == f"/{SHOP_DOMAIN}/admin/oauth/authorize"
    assert query["client_id"] == ["test-api-key"]
    assert query["redirect_uri"] == ["http://localhost/auth/callback"]
    assert len(query["state"][0]) >= 32
    assert client.get_cookie(STATE_COOKIE, path="/auth").value == query["state"][0]


@pytest.mark.parametrize(
    "shop",
    [
        "evil.com",
        "x.myshopify.com.evil.com",
        "revisit-test.myshopify.com/../evil.com",
        "https://revisit-test.myshopify.com",
        "",
        "[",
    ],
)
def test_begin_refuses_foreign_shop(client: FlaskClient, shop: str) -> None:
    response = client.get(f"/auth?{urlencode({'shop': shop})}", headers=JSON)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_shop_domain"
    assert STATE_COOKIE not in response.headers.get("Set-Cookie", "")


def test_callback_refuses_bad_hmac(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    params = approve(begin(client))
    params["hmac"] = "0" * 64

    response = callback(client, params)

    assert response.status_code == 401
    assert response.json["code"] == "invalid_hmac"
    assert shop_by_domain(SHOP_DOMAIN) is None


def test_callback_refuses_tampered_parameter(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    params = approve(begin(client))
    params["code"] = "code-of-my-choosing"

    response = callback(client, params)

    assert response.status_code == 401
    assert shop_by_domain(SHOP_DOMAIN) is None


def test_callback_refuses_replayed_state(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    # given a completed install
    grant_url = begin(client)
    params = approve(grant_url)
    state = parse_qs(urlsplit(grant_url).query)["state"][0]
    assert callback(client, params).status_code == 302

    # when the same callback is replayed with the state cookie put back
    client.set_cookie(STATE_COOKIE, state, path="/auth")
    response = callback(client, params)

    # then
    assert response.status_code == 400
    assert response.json["code"] == "invalid_state"
    assert merchant.count_calls("access_token", "authorization_code") == 1


def test_callback_refuses_forged_state(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    # given a callback the platform signed for a state we never issued
    forged = merchant.sign_query(
        {
            "code": "abc",
            "shop": SHOP_DOMAIN,
            "state": "forged-state",
            "timestamp": str(int(time.time())),
            "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvcmV2aXNpdC10ZXN0",
        }
    )
    client.set_cookie(STATE_COOKIE, "forged-state", path="/auth")

    response = callback(client, forged)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_state"
    assert merchant.count_calls("access_token") == 0


def test_callback_refuses_state_from_another_browser(
    client: FlaskClient, merchant: FakeShopifyPlatform, app: Flask
) -> None:
    params = approve(begin(client))
    other_browser = app.test_client()

    response = callback(other_browser, params)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_state"


def test_callback_refuses_state_issued_for_another_shop(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    merchant.add_shop("other-test.myshopify.com", installed=False)
    grant_url = begin(client, "other-test.myshopify.com")
    state = parse_qs(urlsplit(grant_url).query)["state"][0]
    params = merchant.sign_query(
        {
            "code": "abc",
            "shop": SHOP_DOMAIN,
            "state": state,
            "timestamp": str(int(time.time())),
        }
    )

    response = callback(client, params)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_state"


@pytest.mark.parametrize("shop", ["evil.com", "x.myshopify.com.evil.com", "x]"])
def test_callback_refuses_foreign_shop(
    client: FlaskClient, merchant: FakeShopifyPlatform, shop: str
) -> None:
    params = merchant.sign_query(
        {"code": "abc", "shop": shop, "state": "s", "timestamp": str(int(time.time()))}
    )

    response = callback(client, params)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_shop_domain"
    assert merchant.count_calls("access_token") == 0


def test_callback_refuses_stale_timestamp(
    client: FlaskClient, merchant: FakeShopifyPlatform
) -> None:
    # given a callback signed an hour ago
    grant_url = begin(client)
    state = parse_qs(urlsplit(grant_url).query)["state"][0]
    params = merchant.sign_query(
        {
            "code": "abc",
            "shop": SHOP_DOMAIN,
            "state": state,
            "timestamp": str(int(time.time()) - 3600),
        }
    )

    response = callback(client, params)

    assert response.status_code == 400
    assert response.json["code"] == "stale_request"
    assert merchant.count_calls("access_token") == 0


def test_code_grant_lands_in_app_inside_admin(
    client: FlaskClient, merchant: FakeShopifyPlatform, app: Flask
) -> None:
    # given an install through the code grant
    admin_url = callback(client, approve(begin(client))).headers["Location"]

    # when the merchant's browser follows it to the admin, which frames the app
    page = httpx.get(admin_url)

    # then the frame opens our app home with a session token for that shop
    assert page.status_code == 200
    assert "id_token=" in page.text
    assert f"shop={SHOP_DOMAIN}" in page.text
