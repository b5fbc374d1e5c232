"""The fake Shopify platform on its own, checked against Shopify's own libraries.

ShopifyAPI (query HMAC, session tokens) and shopifyapp (webhook verification,
token exchange, refresh) serve as independent oracles: if the fake drifts from
what Shopify's libraries expect, these tests fail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
import shopify
import shopify.session_token
from flask import Flask, request
from shopify_app import ShopifyApp
from werkzeug.serving import make_server

from engine.shopify import queries
from plugin.sandbox.shopify_platform import (
    INVALID_TOKEN_ERROR,
    FakeShopifyPlatform,
    load_payload,
)

API_KEY = "sandbox-client-id"
API_SECRET = "sandbox-client-secret-0123456789abcdef"
APP_URL = "https://app.example.com"
SHOP = "revisit-demo.myshopify.com"
TOKEN_PATH = f"/{SHOP}/admin/oauth/access_token"
GRAPHQL_PATH = f"/{SHOP}/admin/api/2026-10/graphql.json"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
SHOP_QUERY = "{ shop { name myshopifyDomain currencyCode ianaTimezone } }"


@pytest.fixture
def platform() -> FakeShopifyPlatform:
    fake = FakeShopifyPlatform(API_KEY, API_SECRET, APP_URL)
    fake.add_shop(SHOP, name="Revisit Demo Store")
    return fake


@pytest.fixture
def client(platform):
    return platform.wsgi_app.test_client()


class _ToSandbox(httpx.BaseTransport):
    """Sends ``https://<shop>/...`` to the fake's WSGI app, as our transport does."""

    def __init__(self, platform: FakeShopifyPlatform) -> None:
        self._inner = httpx.WSGITransport(app=platform.wsgi_app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme="http", host="sandbox", path=f"/{request.url.host}{request.url.path}"
        )
        return self._inner.handle_request(request)


def _graphql(client, token: str, query: str, variables: dict | None = None):
    return client.post(
        GRAPHQL_PATH,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
    )


def _install(client) -> dict[str, str]:
    """Walk the grant screen and return the callback's query parameters."""
    params = {
        "client_id": API_KEY,
        "scope": "read_orders,read_customers",
        "redirect_uri": f"{APP_URL}/auth/callback",
        "state": "nonce-123",
    }
    response = client.post(f"/{SHOP}/admin/oauth/authorize", data=params)
    assert response.status_code == 302
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))


def _redeem(client, code: str, **extra) -> dict:
    body = {"client_id": API_KEY, "client_secret": API_SECRET, "code": code, **extra}
    return client.post(TOKEN_PATH, data=body)


def _expiring_token(client) -> dict:
    return _redeem(client, _install(client)["code"], expiring="1").get_json()


# --- OAuth ------------------------------------------------------------------------


def test_authorize_renders_grant_screen(client):
    # when
    response = client.get(
        f"/{SHOP}/admin/oauth/authorize",
        query_string={
            "client_id": API_KEY,
            "scope": "read_orders",
            "redirect_uri": f"{APP_URL}/auth/callback",
            "state": "abc",
        },
    )

    # then
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Install Revisit on Revisit Demo Store?" in page
    assert 'name="state" value="abc"' in page


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [
        ("someone-else", f"{APP_URL}/auth/callback"),
        (API_KEY, "https://evil.example.net/callback"),
    ],
)
def test_authorize_rejects_unknown_client_or_redirect(client, client_id, redirect_uri):
    response = client.get(
        f"/{SHOP}/admin/oauth/authorize",
        query_string={"client_id": client_id, "redirect_uri": redirect_uri},
    )

    assert response.status_code == 400


def test_authorize_callback_is_signed_like_shopify(client):
    # when
    callback = _install(client)

    # then: ShopifyAPI, Shopify's own library, accepts the signature
    assert set(callback) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    shopify.Session.setup(api_key=API_KEY, secret=API_SECRET)
    assert shopify.Session.validate_params(callback)
    assert callback["shop"] == SHOP
    assert callback["state"] == "nonce-123"
    padded = callback["host"] + "=" * (-len(callback["host"]) % 4)
    assert base64.b64decode(padded) == b"admin.shopify.com/store/revisit-demo"


def test_sign_query_matches_shopify_library(platform):
    shopify.Session.setup(api_key=API_KEY, secret=API_SECRET)
    params = {"shop": SHOP, "timestamp": "1700000000", "note": "a&b%c"}

    signed = platform.sign_query(params)

    assert signed["hmac"] == shopify.Session.calculate_hmac(params)


def test_code_grant_without_expiring_returns_permanent_token(client):
    # when
    response = _redeem(client, _install(client)["code"])

    # then
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "scope"}
    assert body["scope"] == "read_orders,read_customers"
    assert body["access_token"].startswith("shpat_")

    # and re-authorizing hands out the same non-expiring token
    again = _redeem(client, _install(client)["code"]).get_json()
    assert again["access_token"] == body["access_token"]


def test_code_grant_with_expiring_returns_refreshable_pair(client):
    body = _expiring_token(client)

    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 7_776_000
    assert body["refresh_token"]


def test_code_is_single_use(client):
    code = _install(client)["code"]
    assert _redeem(client, code).status_code == 200

    reused = _redeem(client, code)

    assert reused.status_code == 400
    assert reused.get_json()["error"] == "invalid_request"


def test_code_expires_after_ten_minutes(client, platform):
    code = _install(client)["code"]

    platform.advance_clock(601)
    response = _redeem(client, code)

    assert response.status_code == 400


def test_wrong_client_secret_is_refused(client):
    code = _install(client)["code"]

    response = client.post(
        TOKEN_PATH,
        json={"client_id": API_KEY, "client_secret": "wrong", "code": code},
    )

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_token_exchange_with_shopify_library(platform):
    # given: the session token App Bridge would hand the embedded admin
    session_token = platform.session_token(SHOP)
    claims = jwt.decode(session_token, options={"verify_signature": False})
    app = ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)

    # when
    result = app.exchange_using_token_exchange(
        "offline",
        id_token={"exchangeable": True, "token": session_token, "claims": claims},
        http_client=httpx.Client(transport=_ToSandbox(platform)),
    )

    # then
    assert result.ok, result.log
    assert result.access_token.refresh_token
    assert platform.count_calls("access_token", TOKEN_EXCHANGE) == 1


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({}, True),
        ({"exp_in": -5}, True),  # inside the 10 s leeway
        ({"exp_in": -20}, False),
        ({"aud": "another-app"}, False),
        ({"dest": "https://other-shop.myshopify.com"}, False),
        ({"sid": None, "dest": None}, False),
    ],
)
def test_token_exchange_checks_session_token(client, platform, overrides, accepted):
    # given
    exp_in = overrides.pop("exp_in", 60)
    session_token = platform.session_token(SHOP, exp_in=exp_in, **overrides)

    # when
    response = client.post(
        TOKEN_PATH,
        json={
            "client_id": API_KEY,
            "client_secret": API_SECRET,
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": session_token,
            "subject_token_type": ID_TOKEN,
            "requested_token_type": OFFLINE,
            "expiring": 1,
        },
    )

    # then
    if accepted:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_subject_token"


def test_session_token_decodes_with_shopify_library(platform):
    token = platform.session_token(SHOP, user_id=42)

    claims = shopify.session_token.decode_from_header(
        f"Bearer {token}", API_KEY, API_SECRET
    )

    assert claims["sub"] == "42"
    assert claims["iss"] == f"https://{SHOP}/admin"


def test_refresh_rotates_and_kills_old_refresh_token(client, platform):
    # given
    first = _expiring_token(client)
    refresh = {
        "client_id": API_KEY,
        "client_secret": API_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
    }

    # when
    rotated = client.post(TOKEN_PATH, json=refresh)
    reused = client.post(TOKEN_PATH, json=refresh)

    # then
    assert rotated.status_code == 200
    second = rotated.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert reused.status_code == 400
    assert reused.get_json()["error"] == "invalid_grant"
    assert platform.count_calls("access_token", "refresh_token") == 2

    # the old access token survives the 60 s grace period, then dies
    assert _graphql(client, first["access_token"], SHOP_QUERY).status_code == 200
    platform.advance_clock(61)
    assert _graphql(client, first["access_token"], SHOP_QUERY).status_code == 401
    assert _graphql(client, second["access_token"], SHOP_QUERY).status_code == 200


def test_refresh_with_shopify_library(platform):
    issued = platform.issue_access_token(SHOP, expiring=True)
    app = ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)

    result = app.refresh_token_exchanged_access_token(
        {
            "shop": "revisit-demo",
            "access_mode": "offline",
            "refresh_token": issued["refresh_token"],
            "expires": "2000-01-01T00:00:00Z",
            "refresh_token_expires": "2999-01-01T00:00:00Z",
        },
        http_client=httpx.Client(transport=_ToSandbox(platform)),
    )

    assert result.ok, result.log
    assert result.access_token.token != issued["access_token"]


def test_expiring_access_token_dies_after_an_hour(client, platform):
    token = _expiring_token(client)["access_token"]

    platform.advance_clock(3601)
    response = _graphql(client, token, SHOP_QUERY)

    assert response.status_code == 401
    assert response.get_json() == {"errors": INVALID_TOKEN_ERROR}


def test_uninstall_revokes_everything(client, platform):
    # given
    pair = _expiring_token(client)

    # when
    platform.uninstall(SHOP)

    # then
    assert _graphql(client, pair["access_token"], SHOP_QUERY).status_code == 401
    refresh = client.post(
        TOKEN_PATH,
        json={
            "client_id": API_KEY,
            "client_secret": API_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
        },
    )
    assert refresh.status_code == 400
    exchange = client.post(
        TOKEN_PATH,
        json={
            "client_id": API_KEY,
            "client_secret": API_SECRET,
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": platform.session_token(SHOP),
            "subject_token_type": ID_TOKEN,
        },
    )
    assert exchange.status_code == 400


# --- GraphQL ----------------------------------------------------------------------


@pytest.fixture
def store(platform) -> str:
    """The sample story loaded into the shop; returns an offline access token."""
    platform.add_abandoned_checkout(SHOP, load_payload("checkouts/update"))
    platform.add_order(SHOP, load_payload("orders/paid"))
    return platform.issue_access_token(SHOP)["access_token"]


def test_unknown_token_gets_shopify_401(client):
    response = _graphql(client, "shpat_nope", SHOP_QUERY)

    assert response.status_code == 401
    assert response.get_json() == {"errors": INVALID_TOKEN_ERROR}


def test_shop_details_query(client, store):
    response = _graphql(client, store, queries.SHOP_DETAILS)

    body = response.get_json()
    assert response.headers["X-Shopify-API-Version"] == "2026-10"
    assert "errors" not in body
    assert body["data"]["shop"]["currencyCode"] == "TWD"
    assert body["data"]["shop"]["ianaTimezone"] == "Asia/Taipei"
    assert body["data"]["shop"]["myshopifyDomain"] == SHOP


def test_abandoned_checkout_has_no_token_field(client, store):
    response = _graphql(
        client, store, "{ abandonedCheckouts(first: 1) { nodes { token } } }"
    )

    body = response.get_json()
    assert "data" not in body
    assert "Cannot query field 'token'" in body["errors"][0]["message"]


def test_app_queries_run_and_stay_under_the_cost_cap(client, store):
    since = "updated_at:>'2026-11-01T00:00:00Z'"
    lines = queries.LINE_ITEMS_PAGE_SIZE

    checkouts = _graphql(
        client,
        store,
        queries.ABANDONED_CHECKOUTS,
        {
            "first": queries.ABANDONED_CHECKOUTS_PAGE_SIZE,
            "lineItemsFirst": lines,
            "query": since,
        },
    )
    orders = _graphql(
        client,
        store,
        queries.ORDERS,
        {"first": queries.ORDERS_PAGE_SIZE, "lineItemsFirst": lines, "query": since},
    )

    for response in (checkouts, orders):
        body = response.get_json()
        assert "errors" not in body, body
        assert body["extensions"]["cost"]["requestedQueryCost"] == 582
    node = checkouts.get_json()["data"]["abandonedCheckouts"]["nodes"][0]
    order = orders.get_json()["data"]["orders"]["nodes"][0]
    assert (
        node["abandonedCheckoutUrl"]
        == load_payload("checkouts/update")["abandoned_checkout_url"]
    )
    assert node["customer"]["defaultPhoneNumber"]["phoneNumber"] == "+886900000123"
    assert [line["quantity"] for line in node["lineItems"]["nodes"]] == [1, 2]
    assert order["checkoutToken"] == "5e8c1b7a3d2f4a90b6e4c2d8f1a7b3c5"
    assert order["cartToken"] == "7d0a2c4e9b1f4e63a5c8d2b6f0e91a37"
    assert order["displayFinancialStatus"] == "PAID"


def test_updated_at_filter_and_paging(client, platform, store):
    # given: three more checkouts, one hour apart
    template = load_payload("checkouts/create")
    for hour in (10, 11, 12):
        checkout = dict(template, token=f"token-{hour}")
        checkout["updated_at"] = f"2026-11-22T{hour}:00:00+08:00"
        platform.add_abandoned_checkout(SHOP, checkout)
    query = """query($after: String) {
      abandonedCheckouts(first: 1, after: $after,
                         query: "updated_at:>='2026-11-22T11:00:00+08:00'") {
        nodes { updatedAt }
        pageInfo { hasNextPage endCursor }
      }
    }"""

    # when
    first = _graphql(client, store, query).get_json()["data"]["abandonedCheckouts"]
    after = first["pageInfo"]["endCursor"]
    second = _graphql(client, store, query, {"after": after}).get_json()["data"]
    second = second["abandonedCheckouts"]

    # then
    assert first["nodes"] == [{"updatedAt": "2026-11-22T03:00:00Z"}]
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["nodes"] == [{"updatedAt": "2026-11-22T04:00:00Z"}]
    assert second["pageInfo"]["hasNextPage"] is False


def test_orders_found_by_checkout_token(client, platform, store):
    other = load_payload("orders/create")
    other.update(id=6123456789999, checkout_token="another", cart_token="another")
    platform.add_order(SHOP, other)
    checkout_token = load_payload("checkouts/update")["token"]
    query = "query($q: String) { orders(first: 5, query: $q) { nodes { id } } }"

    response = _graphql(client, store, query, {"q": f"checkout_token:{checkout_token}"})

    nodes = response.get_json()["data"]["orders"]["nodes"]

    assert nodes == [{"id": "gid://shopify/Order/6123456789012"}]


def test_cursor_paging_walks_every_order(client, platform, store):
    for offset in range(1, 5):
        order = load_payload("orders/create")
        order["id"] = 6123456789012 + offset
        platform.add_order(SHOP, order)
    query = """query($after: String) { orders(first: 2, after: $after, reverse: true)
               { nodes { id } pageInfo { hasNextPage endCursor } } }"""

    seen, after = [], None
    while True:
        page = _graphql(client, store, query, {"after": after}).get_json()
        seen += [node["id"] for node in page["data"]["orders"]["nodes"]]
        if not page["data"]["orders"]["pageInfo"]["hasNextPage"]:
            break
        after = page["data"]["orders"]["pageInfo"]["endCursor"]

    assert seen == [f"gid://shopify/Order/{6123456789016 - n}" for n in range(5)]


def test_unsupported_search_syntax_fails_loudly(client, store):
    query = '{ orders(first: 1, query: "email:x OR email:y") { nodes { id } } }'

    body = _graphql(client, store, query).get_json()

    assert "only field:value terms" in body["errors"][0]["message"]


def test_missing_read_orders_scope_is_access_denied(client, platform):
    platform.add_shop("no-orders.myshopify.com", scopes="read_products")
    token = platform.issue_access_token("no-orders.myshopify.com")["access_token"]

    response = client.post(
        "/no-orders.myshopify.com/admin/api/2026-10/graphql.json",
        json={"query": "{ orders(first: 1) { nodes { id } } }"},
        headers={"X-Shopify-Access-Token": token},
    )

    assert response.get_json()["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


def test_throttle_refuses_then_restores():
    # given: a 50-point bucket refilling 10 points a second, and 20 orders
    fake = FakeShopifyPlatform(
        API_KEY, API_SECRET, maximum_available=50, restore_rate=10
    )
    fake.add_shop(SHOP)
    for offset in range(20):
        order = load_payload("orders/create")
        order["id"] = 6123456789100 + offset
        fake.add_order(SHOP, order)
    token = fake.issue_access_token(SHOP)["access_token"]
    client = fake.wsgi_app.test_client()
    query = "{ orders(first: 20) { nodes { id customer { id } } } }"  # 2 + 20 x 2

    # when
    first = _graphql(client, token, query).get_json()
    throttled = _graphql(client, token, query).get_json()
    fake.advance_clock(4)
    restored = _graphql(client, token, query).get_json()

    # then
    assert first["extensions"]["cost"]["actualQueryCost"] == 42
    assert first["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 50.0,
        "currentlyAvailable": 8,
        "restoreRate": 10.0,
    }
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert len(restored["data"]["orders"]["nodes"]) == 20
    assert restored["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 6


def test_throttled_response_shape():
    fake = FakeShopifyPlatform(
        API_KEY, API_SECRET, maximum_available=40, restore_rate=1
    )
    fake.add_shop(SHOP)
    token = fake.issue_access_token(SHOP)["access_token"]
    client = fake.wsgi_app.test_client()
    query = "{ orders(first: 20) { nodes { id customer { id } } } }"

    response = _graphql(client, token, query)

    body = response.get_json()
    assert response.status_code == 200
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 42
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert "data" not in body


def test_single_query_cost_cap(client, store):
    query = (
        "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }"
    )

    body = _graphql(client, store, query).get_json()

    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


# --- faults and serving -----------------------------------------------------------


def test_injected_faults_come_in_order(client, platform, store):
    platform.inject_faults("graphql", [429, 503])

    statuses = [_graphql(client, store, SHOP_QUERY) for _ in range(3)]

    assert [response.status_code for response in statuses] == [429, 503, 200]
    assert statuses[0].headers["Retry-After"] == "1"
    assert platform.graphql_calls == 3


def test_timeout_fault_outlasts_the_client(platform):
    base_url = platform.serve()
    try:
        platform.inject_faults("access_token", ["timeout"], timeout_seconds=0.5)

        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{base_url}{TOKEN_PATH}", json={}, timeout=0.1)
    finally:
        platform.shutdown()


def test_reset_empties_a_served_platform(client, platform, store):
    platform.inject_faults("graphql", [500])
    platform.advance_clock(3600)

    platform.reset()

    assert platform.calls == []
    assert platform.find_shop(SHOP) is None
    assert abs((platform.current_time() - platform.now()).total_seconds()) < 1
    platform.add_shop(SHOP)
    assert _graphql(client, store, SHOP_QUERY).status_code == 401


def test_serve_answers_over_http(platform, store):
    base_url = platform.serve()
    try:
        response = httpx.post(
            f"{base_url}{GRAPHQL_PATH}",
            json={"query": SHOP_QUERY},
            headers={"X-Shopify-Access-Token": store},
        )
    finally:
        platform.shutdown()

    assert response.json()["data"]["shop"]["name"] == "Revisit Demo Store"


# --- webhooks and payloads --------------------------------------------------------


def test_webhook_headers_pass_shopify_verification(platform):
    body = json.dumps(load_payload("orders/paid")).encode()

    headers = platform.webhook_headers("orders/paid", SHOP, body, webhook_id="w-1")

    app = ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)
    result = app.verify_webhook_req(
        {
            "method": "POST",
            "headers": headers,
            "url": f"{APP_URL}/webhooks",
            "body": body.decode(),
        }
    )
    assert result.ok, result.log
    assert headers["X-Shopify-Webhook-Id"] == "w-1"
    assert headers["X-Shopify-Event-Id"]


def test_deliver_webhook_posts_raw_body_and_overrides(platform):
    # given: a receiver that checks the HMAC over the raw body
    received: list[tuple[str, bool]] = []
    receiver = Flask("receiver")

    @receiver.post("/webhooks")
    def webhooks():
        digest = hmac.new(API_SECRET.encode(), request.get_data(), hashlib.sha256)
        expected = base64.b64encode(digest.digest()).decode()
        valid = hmac.compare_digest(expected, request.headers["X-Shopify-Hmac-Sha256"])
        received.append((request.headers["X-Shopify-Topic"], valid))
        return ("", 200) if valid else ("", 401)

    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    url = f"http://127.0.0.1:{server.server_port}/webhooks"

    # when
    try:
        good = platform.deliver_webhook(
            url, "carts/update", SHOP, load_payload("carts_update")
        )
        forged = platform.deliver_webhook(
            url, "carts/update", SHOP, {"id": "x"}, **{"X-Shopify-Hmac-Sha256": "bad"}
        )
    finally:
        server.shutdown()

    # then
    assert (good, forged) == (200, 401)
    assert received == [("carts/update", True), ("carts/update", False)]


def test_payloads_tell_one_story():
    cart = load_payload("carts/create")
    checkout = load_payload("checkouts/update")
    created = load_payload("orders/create")
    paid = load_payload("orders/paid")

    assert cart["id"] == cart["token"] == checkout["cart_token"] == paid["cart_token"]
    assert checkout["token"] == created["checkout_token"] == paid["checkout_token"]
    assert "id" not in load_payload("checkouts/create")
    assert "id" not in checkout
    assert "checkout_id" not in created and "checkout_id" not in paid
    assert (created["financial_status"], paid["financial_status"]) == (
        "pending",
        "paid",
    )
    for name in ("customers_data_request", "customers_redact", "shop_redact"):
        assert load_payload(name)["shop_domain"] == SHOP
