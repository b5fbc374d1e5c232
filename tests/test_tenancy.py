"""One shop's requests never read or change another shop's rows."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.privacy.models import DataExport
from engine.shops.models import Shop
from engine.webhooks.models import WebhookDelivery
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN, install_shop, run_jobs
from tests.webhooks import count_rows, post_webhook, sample_payload

CHECKOUT_TOKEN = "5e8c1b7a3d2f4a90b6e4c2d8f1a7b3c5"
ORDER_ID = "6123456789012"
SHARED_EMAIL = "mei.chen@example.com"
ORDER_PLACED_AT = datetime(2026, 11, 21, 1, 31, 5, tzinfo=UTC)

# Every route, with the test that shows it keeps shops apart or the reason it
# holds no shop's data. A new route fails test_every_route_is_in_tenancy_list
# until it is added here, with its tenancy test.
ROUTE_TENANCY = {
    "/webhooks/shopify": "test_webhook_for_one_shop_never_changes_other_shop",
    "/": "test_app_home_shows_only_the_shop_of_the_session_token",
    "/auth": "starts a grant: reads and writes no shop rows",
    "/auth/callback": "writes only the shop named in its HMAC-signed callback",
    "/auth/patch-id-token": "a static page that fetches a session token",
    "/static/<path:filename>": "static files, the same for every shop",
    "/static/widget/<name>": "the built widget's files, the same for every shop",
    "/r/<token>": "tests/reminders/test_links.py: a signed token counts a click"
    " only on the send of the shop it names",
    "/api/widget/v1/page": "tests/widget_api/test_tenancy.py: a widget key reads"
    " and buffers only its own shop's rows",
    "/api/widget/v1/events": "tests/widget_api/test_tenancy.py: events land in"
    " the widget key's shop only",
    "/api/widget/v1/binding/offer": "widget key and visitor token of one shop;"
    " tests/binding/test_person_and_popup.py counts only that shop's funnel",
    "/api/widget/v1/binding/dismiss": "widget key and visitor token of one shop:"
    " a Redis key of that shop and visitor",
    "/api/widget/v1/binding/start": "widget key and visitor token of one shop; the"
    " token it signs names that shop (tests/binding/test_line.py other-shop tests)",
    "/api/widget/v1/binding/status": "reads the bindings of the widget key's shop",
    "/api/widget/v1/binding/unbind": "unbinds a visitor of the widget key's shop",
    "/api/widget/v1/binding/link": "issues a nonce bound to the widget key's shop",
    "/binding/line/<shop_key>/callback": "tests/binding/test_line.py: a state"
    " signed for another shop is refused",
    "/webhooks/line/<shop_key>": "the shop key picks the shop whose channel secret"
    " must sign the body (tests/binding/test_messenger_and_webhooks.py)",
    "/webhooks/messenger": "each entry's Page id picks its shop; another shop's ref"
    " is refused (tests/binding/test_messenger_and_webhooks.py)",
    "/proxy/identify": "the shop comes from the platform's signed query"
    " (tests/binding/test_person_and_popup.py)",
    **{
        route: "tests/admin/test_tenancy.py: the session token's or the signed-in"
        " member's shop only; another shop's ids are 404"
        for route in (
            "/admin",
            "/admin/binding",
            "/admin/channels",
            "/admin/flow",
            "/admin/messages",
            "/admin/results",
            "/admin/team",
            "/api/admin/v1/binding/funnel",
            "/api/admin/v1/binding/popup",
            "/api/admin/v1/carts",
            "/api/admin/v1/channels",
            "/api/admin/v1/channels/<any(line, messenger):channel>",
            "/api/admin/v1/channels/line",
            "/api/admin/v1/channels/messenger",
            "/api/admin/v1/channels/schedule",
            "/admin/game",
            "/api/admin/v1/game/campaigns",
            "/api/admin/v1/game/campaigns/<int:campaign_id>",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/ledger.csv",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/pause",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/resume",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/results",
            "/api/admin/v1/game/ledger.csv",
            "/api/admin/v1/flow",
            "/api/admin/v1/flow/preview",
            "/api/admin/v1/flow/test",
            "/api/admin/v1/messages",
            "/api/admin/v1/messages/<int:message_id>",
            "/api/admin/v1/results",
            "/api/admin/v1/results.csv",
            "/api/admin/v1/team",
            "/api/admin/v1/team/<int:member_id>",
        )
    },
    "/api/admin/v1/storefront-origins": "tests/admin/test_storefront_origins_api.py:"
    " the session token's or the signed-in member's shop only; another shop's"
    " origins are neither shown nor changed",
    "/admin/login": "tests/admin/test_access.py: signs in to the shop named in"
    " the form only, with that shop's member's password",
    "/admin/logout": "ends only the session of its own cookie",
    "/admin/previews/<key>": "tests/admin/test_csp.py: a preview drawn for the"
    " caller's own shop, found only by its unguessable key; reads no shop rows",
    "/admin/static/<path:filename>": "the panel's static files, the same for"
    " every shop",
    "/api/admin/v1/openapi.json": "the API's document, the same for every shop",
    "/api/widget/v1/game/seen": "tests/game/test_tenancy.py: counts in the"
    " widget key's shop only",
    "/api/widget/v1/game/collect": "tests/game/test_tenancy.py: credits the"
    " widget key's shop only",
    "/api/widget/v1/game/wallet": "tests/game/test_tenancy.py: shows the widget"
    " key's shop only",
    "/api/widget/v1/game/redeem": "tests/game/test_tenancy.py: spends the widget"
    " key's shop only",
    **{
        route: "tests/widget_api/test_chat.py: the visitor token and stream"
        " token name their shop; another shop's widget key refuses them"
        for route in (
            "/api/widget/v1/chat/history",
            "/api/widget/v1/chat/messages",
            "/api/widget/v1/chat/images",
            "/api/widget/v1/chat/rating",
            "/api/widget/v1/chat/stream",
        )
    },
    **{
        route: "tests/admin/test_inbox_api.py: the session token's or the signed-in"
        " member's shop only; another shop's conversations, tags and saved replies"
        " are 404, and a stream token names its shop"
        for route in (
            "/admin/inbox",
            "/api/admin/v1/inbox/conversations",
            "/api/admin/v1/inbox/conversations/<public_id>",
            "/api/admin/v1/inbox/conversations/<public_id>/assign",
            "/api/admin/v1/inbox/conversations/<public_id>/hand-over",
            "/api/admin/v1/inbox/conversations/<public_id>/notes",
            "/api/admin/v1/inbox/conversations/<public_id>/read",
            "/api/admin/v1/inbox/conversations/<public_id>/replies",
            "/api/admin/v1/inbox/conversations/<public_id>/saved-replies/"
            "<int:reply_id>",
            "/api/admin/v1/inbox/conversations/<public_id>/sidebar",
            "/api/admin/v1/inbox/conversations/<public_id>/status",
            "/api/admin/v1/inbox/conversations/<public_id>/tags",
            "/api/admin/v1/inbox/hand-over-all",
            "/api/admin/v1/inbox/saved-replies",
            "/api/admin/v1/inbox/saved-replies/<int:reply_id>",
            "/api/admin/v1/inbox/settings",
            "/api/admin/v1/inbox/shift",
            "/api/admin/v1/inbox/stream",
            "/api/admin/v1/inbox/stream-token",
            "/api/admin/v1/inbox/tags",
            "/api/admin/v1/inbox/tags/<int:tag_id>",
            "/api/admin/v1/inbox/team",
        )
    },
    "/chat/images/<public_id>": "an image by its unguessable id, like a share"
    " link; no shop's listing",
    "/healthz": "liveness: reads nothing",
    "/readyz": "readiness: SELECT 1 and a Redis PING, no shop's rows",
    "/metrics": "operator-only (bearer token) sums across all shops, never one"
    " shop's rows (tests/ops/test_metrics.py)",
}
# Routes registered only when REVISIT_DEMO=1, so absent from the app above;
# tests/channels/test_sandbox_outbox.py checks a demo app adds exactly these.
DEMO_ONLY_ROUTES = {
    "/sandbox/outbox": "tests/channels/test_sandbox_outbox.py: lists only the"
    " sandbox messages of the shop in its query",
}


def _install_both(client: FlaskClient, platform: FakeShopifyPlatform) -> list[Shop]:
    return [
        install_shop(client, platform, SHOP_DOMAIN),
        install_shop(client, platform, OTHER_SHOP_DOMAIN),
    ]


def _deliver_to(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop_domain: str,
    *deliveries: str | tuple[str, dict[str, Any]],
) -> None:
    """Deliver topics (with their sample payload) or (topic, payload), then apply."""
    for delivery in deliveries:
        topic, payload = (
            (delivery, sample_payload(delivery, shop_domain))
            if isinstance(delivery, str)
            else delivery
        )
        response = post_webhook(
            client, platform, topic, payload, shop_domain=shop_domain
        )
        assert response.status_code == 200
    run_jobs(app)
    db.session.expire_all()


def _checkout_of(shop: Shop) -> Checkout:
    return db.session.scalars(select(Checkout).where(Checkout.shop_id == shop.id)).one()


def _cart_of(shop: Shop) -> Cart:
    return db.session.scalars(select(Cart).where(Cart.shop_id == shop.id)).one()


def _order_of(shop: Shop) -> Order:
    return db.session.scalars(select(Order).where(Order.shop_id == shop.id)).one()


def _other_shoppers_checkout() -> dict[str, Any]:
    """checkouts_create.json with the same token, as another shop's shopper."""
    payload = load_payload("checkouts/create")
    payload["email"] = payload["customer"]["email"] = "lin.wei@example.com"
    payload["customer"]["id"] = 7012345678902
    payload["total_price"] = "99.00"
    return payload


def test_webhook_for_one_shop_never_changes_other_shop(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given both shops hold a checkout with the same token
    shop, other = _install_both(client, platform)
    _deliver_to(app, client, platform, SHOP_DOMAIN, "checkouts/create")
    _deliver_to(
        app,
        client,
        platform,
        OTHER_SHOP_DOMAIN,
        ("checkouts/create", _other_shoppers_checkout()),
    )

    # when the first shop's checkout is updated
    _deliver_to(app, client, platform, SHOP_DOMAIN, "checkouts/update")

    # then two rows, and only the first changed
    assert count_rows(Checkout, token=CHECKOUT_TOKEN) == 2
    assert _checkout_of(shop).phone == "+886900000123"
    untouched = _checkout_of(other)
    assert (untouched.email, untouched.phone) == ("lin.wei@example.com", None)
    assert str(untouched.total_price) == "99.00"
    assert len(untouched.line_items) == 2


def test_order_in_one_shop_never_completes_other_shop_checkout(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given both shops hold a checkout and cart with the same tokens
    shop, other = _install_both(client, platform)
    for domain in (SHOP_DOMAIN, OTHER_SHOP_DOMAIN):
        _deliver_to(app, client, platform, domain, "carts/create", "checkouts/create")

    # when the first shop gets the order
    _deliver_to(app, client, platform, SHOP_DOMAIN, "orders/create")

    # then
    assert _checkout_of(shop).completed_at == ORDER_PLACED_AT
    assert _cart_of(shop).ordered_at == ORDER_PLACED_AT
    assert _checkout_of(other).completed_at is None
    assert _cart_of(other).ordered_at is None
    assert count_rows(Order, shop_id=other.id) == 0


def test_same_order_id_in_two_shops_makes_two_orders(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    shop, other = _install_both(client, platform)
    _deliver_to(app, client, platform, SHOP_DOMAIN, "orders/paid")

    # when an older state of an order with the same id comes to the other shop
    _deliver_to(app, client, platform, OTHER_SHOP_DOMAIN, "orders/create")

    # then it is the other shop's own order, not a stale update of the first
    assert count_rows(Order, order_id=ORDER_ID) == 2
    assert _order_of(shop).financial_status == "paid"
    assert _order_of(other).financial_status == "pending"


def test_same_webhook_id_in_two_shops_is_not_a_duplicate(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    _install_both(client, platform)
    payload = load_payload("checkouts/create")

    # when
    for domain in (SHOP_DOMAIN, OTHER_SHOP_DOMAIN):
        post_webhook(
            client,
            platform,
            "checkouts/create",
            payload,
            shop_domain=domain,
            webhook_id="wh-1",
            event_id="ev-1",
        )
    run_jobs(app)

    # then
    assert count_rows(WebhookDelivery, webhook_id="wh-1", status="applied") == 2
    assert count_rows(Checkout, token=CHECKOUT_TOKEN) == 2


def test_customers_redact_in_one_shop_keeps_same_customer_in_other_shop(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given the same shopper bought in both shops
    shop, other = _install_both(client, platform)
    for domain in (SHOP_DOMAIN, OTHER_SHOP_DOMAIN):
        _deliver_to(
            app,
            client,
            platform,
            domain,
            "checkouts/update",
            "orders/create",
            "customers/data_request",
        )

    # when only the first shop is asked to forget her
    _deliver_to(app, client, platform, SHOP_DOMAIN, "customers/redact")

    # then
    assert count_rows(Checkout, shop_id=shop.id) == 0
    assert _order_of(shop).email is None
    assert _checkout_of(other).email == SHARED_EMAIL
    order = _order_of(other)
    assert (order.email, order.customer_id) == (SHARED_EMAIL, "7012345678901")
    assert count_rows(DataExport, shop_id=shop.id) == 0
    assert count_rows(DataExport, shop_id=other.id) == 1


def test_data_request_in_one_shop_exports_nothing_of_other_shop(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given the same shopper is known to the other shop only
    shop, other = _install_both(client, platform)
    _deliver_to(
        app, client, platform, OTHER_SHOP_DOMAIN, "checkouts/update", "orders/create"
    )

    # when the first shop gets her data request
    _deliver_to(app, client, platform, SHOP_DOMAIN, "customers/data_request")

    # then its export is empty
    export = db.session.scalars(select(DataExport)).one()
    assert export.shop_id == shop.id
    assert export.document["shop_domain"] == SHOP_DOMAIN
    assert (export.document["checkouts"], export.document["orders"]) == ([], [])


def test_app_home_shows_only_the_shop_of_the_session_token(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    shop, other = _install_both(client, platform)
    token = platform.session_token(OTHER_SHOP_DOMAIN)

    # when the query names the first shop but the token is the other's
    response = client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={token}")

    # then
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert other.widget_key in page
    assert shop.widget_key not in page
    assert SHOP_DOMAIN not in page


def test_every_route_is_in_tenancy_list(app: Flask) -> None:
    # when
    routes = {rule.rule for rule in app.url_map.iter_rules()}

    # then every route is listed, and every listed test exists
    assert routes == set(ROUTE_TENANCY)
    module = sys.modules[__name__]
    for covered_by in ROUTE_TENANCY.values():
        if covered_by.startswith("test_"):
            assert callable(getattr(module, covered_by, None)), covered_by
