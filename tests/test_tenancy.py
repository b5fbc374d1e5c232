"""One shop's requests never read or change another shop's rows."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Select, select

from engine.binding.models import ChannelDelivery
from engine.binding.popup import update_popup
from engine.channels.accounts import connect_line
from engine.channels.models import SandboxMessage
from engine.chat.casework import assign
from engine.chat.models import Conversation
from engine.chat.setup import create_tag, save_reply
from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.game import create_campaign
from engine.onsite.rules import create_message
from engine.privacy.models import DataExport
from engine.reminders.defaults import flow_for
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.models import TeamSession
from engine.tracking.tokens import issue_token
from engine.visitors.models import Visitor
from engine.webhooks.models import WebhookDelivery
from plugin.admin.openapi import document
from plugin.sandbox.shopify_app_proxy import signed_proxy_query
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.admin import HTTPS, bearer, member, sign_in
from tests.chat import a_conversation, a_member, a_visitor
from tests.conftest import (
    API_SECRET,
    OTHER_SHOP_DOMAIN,
    SHOP_DOMAIN,
    install_shop,
    run_jobs,
)
from tests.install.test_code_grant import approve
from tests.install.test_code_grant import begin as begin_grant
from tests.install.test_code_grant import callback as grant_callback
from tests.webhooks import count_rows, post_webhook, sample_payload

CHECKOUT_TOKEN = "5e8c1b7a3d2f4a90b6e4c2d8f1a7b3c5"
ORDER_ID = "6123456789012"
SHARED_EMAIL = "mei.chen@example.com"
ORDER_PLACED_AT = datetime(2026, 11, 21, 1, 31, 5, tzinfo=UTC)
# Written into every row of the other shop the admin could show.
MARKER = "zebraquartz"
# Nothing listens on port 9 (discard): a call there is refused at once.
CLOSED_PORT = "http://127.0.0.1:9"
FOLLOW = {
    "type": "follow",
    "mode": "active",
    "timestamp": 1763688665000,
    "source": {"type": "user", "userId": "U" + "4" * 32},
    "replyToken": "r" * 32,
    "webhookEventId": "01JD0000000000000000000000",
    "deliveryContext": {"isRedelivery": False},
}


@dataclass(frozen=True)
class NoShopData:
    """A route that reads and changes no shop's rows, and why."""

    reason: str


# A test that shows a route keeps shops apart: a test of this module by name,
# or "tests/<path>.py::<name>" for one elsewhere.
Reference = str

WIDGET = "tests/widget_api/test_tenancy.py::"
WIDGET_CHAT = "tests/widget_api/test_chat.py::"
GAME = "tests/game/test_tenancy.py::"
ADMIN = "tests/admin/test_tenancy.py::"
INBOX = "tests/admin/test_inbox_api.py::"
EVERY_ADMIN_OPERATION = "test_admin_api_never_shows_or_changes_another_shops_rows"
BINDING_REFUSED = WIDGET + "test_binding_calls_refuse_another_shops_visitor_token"
CHAT_REFUSED = WIDGET_CHAT + "test_another_shops_widget_key_refuses_this_shops_tokens"
INBOX_IDS = INBOX + "test_another_shops_conversation_is_404_everywhere"
INBOX_STREAM = (
    INBOX + "test_a_stream_token_opens_the_shops_notices_only",
    INBOX + "test_a_stale_or_foreign_stream_token_is_refused",
)

# Every route, with the tests that show it keeps shops apart, or why it holds
# no shop's data. A new route fails test_every_route_is_in_tenancy_list until
# it is added here; a reference to a test that does not exist fails it too.
ROUTE_TENANCY: dict[str, tuple[Reference, ...] | NoShopData] = {
    "/webhooks/shopify": (
        "test_webhook_for_one_shop_never_changes_other_shop",
        "test_order_in_one_shop_never_completes_other_shop_checkout",
        "test_same_order_id_in_two_shops_makes_two_orders",
        "test_same_webhook_id_in_two_shops_is_not_a_duplicate",
        "test_customers_redact_in_one_shop_keeps_same_customer_in_other_shop",
        "test_data_request_in_one_shop_exports_nothing_of_other_shop",
        "tests/webhooks/test_shopify_webhooks.py::"
        "test_uninstall_body_naming_another_shop_does_not_revoke",
    ),
    "/": ("test_app_home_shows_only_the_shop_of_the_session_token",),
    "/auth": NoShopData(
        "starts a grant: a redirect and a state in Redis and a cookie, no shop's"
        " rows (the state is checked by /auth/callback)"
    ),
    "/auth/callback": (
        "test_code_grant_for_one_shop_never_changes_other_shop",
        "test_code_grant_state_of_one_shop_changes_nothing_at_another",
        "tests/install/test_code_grant.py::"
        "test_callback_refuses_state_issued_for_another_shop",
    ),
    "/auth/patch-id-token": NoShopData("a static page that fetches a session token"),
    "/static/<path:filename>": NoShopData("static files, the same for every shop"),
    "/static/widget/<name>": NoShopData(
        "the built widget's files, the same for every shop"
    ),
    "/r/<token>": (
        "tests/reminders/test_links.py::"
        "test_link_naming_another_shop_never_counts_on_this_shops_send",
    ),
    "/api/widget/v1/page": (
        WIDGET + "test_another_shops_visitor_token_is_not_accepted",
        WIDGET + "test_a_widget_key_from_another_shops_storefront_is_refused",
        WIDGET + "test_page_never_shows_another_shops_message",
    ),
    "/api/widget/v1/events": (
        WIDGET + "test_another_shops_visitor_token_is_not_accepted",
        WIDGET + "test_events_land_in_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/binding/offer": (
        BINDING_REFUSED,
        WIDGET + "test_binding_offer_and_dismiss_count_in_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/binding/dismiss": (
        BINDING_REFUSED,
        WIDGET + "test_binding_offer_and_dismiss_count_in_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/binding/start": (
        BINDING_REFUSED,
        WIDGET
        + "test_binding_start_and_link_tokens_verify_for_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/binding/status": (
        BINDING_REFUSED,
        WIDGET + "test_binding_status_shows_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/binding/unbind": (
        BINDING_REFUSED,
        WIDGET + "test_binding_unbind_leaves_the_same_visitor_bound_in_another_shop",
    ),
    "/api/widget/v1/binding/link": (
        BINDING_REFUSED,
        WIDGET
        + "test_binding_start_and_link_tokens_verify_for_the_widget_keys_shop_only",
    ),
    "/binding/line/<shop_key>/callback": (
        "tests/binding/test_line.py::test_line_login_refuses_another_shops_state",
    ),
    "/webhooks/line/<shop_key>": (
        "test_line_webhook_signed_for_one_shop_is_refused_at_another_shops_address",
    ),
    "/webhooks/messenger": (
        "tests/binding/test_messenger_and_webhooks.py::"
        "test_m_me_other_shops_ref_is_refused",
    ),
    "/proxy/identify": (
        "test_app_proxy_refuses_another_shops_visitor_token",
        "test_app_proxy_links_the_customer_in_the_signed_shop_only",
    ),
    **{
        page: (ADMIN + "test_panel_pages_of_a_member_show_only_their_shop",)
        for page in (
            "/admin",
            "/admin/binding",
            "/admin/channels",
            "/admin/flow",
            "/admin/messages",
            "/admin/results",
            "/admin/team",
        )
    },
    "/admin/game": (
        "tests/admin/test_game_api.py::"
        "test_the_screen_of_another_shops_campaign_is_not_found",
    ),
    "/admin/inbox": ("test_inbox_screen_shows_only_the_members_shop",),
    # Every operation of the admin API, by the test above, plus the tests that
    # aim at one route's ids.
    **{
        route: (EVERY_ADMIN_OPERATION,)
        for route in (
            "/api/admin/v1/channels/<any(line, messenger):channel>",
            "/api/admin/v1/channels/line",
            "/api/admin/v1/channels/messenger",
            "/api/admin/v1/channels/schedule",
            "/api/admin/v1/inbox/saved-replies",
            "/api/admin/v1/inbox/settings",
            "/api/admin/v1/inbox/shift",
            "/api/admin/v1/inbox/tags",
            "/api/admin/v1/inbox/team",
            "/api/admin/v1/results.csv",
        )
    },
    **{
        route: (
            EVERY_ADMIN_OPERATION,
            ADMIN + "test_admin_api_reads_only_the_token_shop",
        )
        for route in (
            "/api/admin/v1/carts",
            "/api/admin/v1/channels",
            "/api/admin/v1/results",
        )
    },
    **{
        route: (
            EVERY_ADMIN_OPERATION,
            ADMIN + "test_admin_api_reads_only_the_token_shop",
            ADMIN + "test_admin_api_cannot_change_another_shops_rows",
        )
        for route in (
            "/api/admin/v1/messages",
            "/api/admin/v1/messages/<int:message_id>",
            "/api/admin/v1/team",
            "/api/admin/v1/team/<int:member_id>",
        )
    },
    "/api/admin/v1/flow": (
        EVERY_ADMIN_OPERATION,
        ADMIN + "test_admin_api_reads_only_the_token_shop",
        "tests/admin/test_access.py::test_member_sees_only_their_shop",
    ),
    **{
        route: (
            EVERY_ADMIN_OPERATION,
            "test_flow_preview_and_test_send_never_use_another_shops_cart",
        )
        for route in ("/api/admin/v1/flow/preview", "/api/admin/v1/flow/test")
    },
    **{
        route: (
            EVERY_ADMIN_OPERATION,
            ADMIN + "test_binding_api_reads_and_changes_only_the_token_shop",
        )
        for route in ("/api/admin/v1/binding/funnel", "/api/admin/v1/binding/popup")
    },
    **{
        route: (
            EVERY_ADMIN_OPERATION,
            "tests/admin/test_game_api.py::test_another_shops_campaign_is_not_found",
        )
        for route in (
            "/api/admin/v1/game/campaigns",
            "/api/admin/v1/game/campaigns/<int:campaign_id>",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/ledger.csv",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/pause",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/resume",
            "/api/admin/v1/game/campaigns/<int:campaign_id>/results",
            "/api/admin/v1/game/ledger.csv",
        )
    },
    "/api/admin/v1/storefront-origins": (
        EVERY_ADMIN_OPERATION,
        "tests/admin/test_storefront_origins_api.py::"
        "test_another_shops_origins_are_neither_shown_nor_changed",
    ),
    **{
        route: (EVERY_ADMIN_OPERATION, INBOX_IDS)
        for route in (
            "/api/admin/v1/inbox/conversations",
            "/api/admin/v1/inbox/conversations/<public_id>",
            "/api/admin/v1/inbox/conversations/<public_id>/notes",
            "/api/admin/v1/inbox/conversations/<public_id>/read",
            "/api/admin/v1/inbox/conversations/<public_id>/replies",
            "/api/admin/v1/inbox/conversations/<public_id>/saved-replies/"
            "<int:reply_id>",
            "/api/admin/v1/inbox/conversations/<public_id>/sidebar",
            "/api/admin/v1/inbox/conversations/<public_id>/status",
            "/api/admin/v1/inbox/saved-replies/<int:reply_id>",
            "/api/admin/v1/inbox/tags/<int:tag_id>",
        )
    },
    "/api/admin/v1/inbox/conversations/<public_id>/assign": (
        EVERY_ADMIN_OPERATION,
        INBOX_IDS,
        INBOX + "test_back_to_the_queue_and_a_stranger_is_refused",
    ),
    "/api/admin/v1/inbox/conversations/<public_id>/hand-over": (
        EVERY_ADMIN_OPERATION,
        INBOX_IDS,
        "test_hand_over_to_another_shops_member_is_refused",
    ),
    "/api/admin/v1/inbox/hand-over-all": (
        EVERY_ADMIN_OPERATION,
        "test_hand_over_to_another_shops_member_is_refused",
    ),
    "/api/admin/v1/inbox/conversations/<public_id>/tags": (
        EVERY_ADMIN_OPERATION,
        INBOX_IDS,
        INBOX + "test_tags_are_set_exactly_and_only_the_shops_own",
    ),
    "/api/admin/v1/inbox/stream": (EVERY_ADMIN_OPERATION, *INBOX_STREAM),
    "/api/admin/v1/inbox/stream-token": (EVERY_ADMIN_OPERATION, *INBOX_STREAM),
    "/admin/login": ("tests/admin/test_access.py::test_member_sees_only_their_shop",),
    "/admin/logout": ("test_signing_out_ends_only_the_session_of_its_own_cookie",),
    "/admin/previews/<key>": (
        "test_flow_preview_and_test_send_never_use_another_shops_cart",
    ),
    "/admin/static/<path:filename>": NoShopData(
        "the panel's static files, the same for every shop"
    ),
    "/api/admin/v1/openapi.json": NoShopData(
        "the API's document, the same for every shop"
    ),
    "/api/widget/v1/game/seen": (
        GAME + "test_seen_counts_in_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/game/collect": (
        GAME + "test_collect_credits_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/game/wallet": (
        GAME + "test_wallet_shows_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/game/redeem": (
        GAME + "test_redeem_spends_the_widget_keys_shop_only",
    ),
    "/api/widget/v1/chat/history": (CHAT_REFUSED,),
    "/api/widget/v1/chat/stream": (
        CHAT_REFUSED,
        WIDGET_CHAT + "test_a_stream_token_of_another_shop_or_forged_is_refused",
    ),
    **{
        route: (WIDGET + "test_chat_writes_refuse_another_shops_visitor_token",)
        for route in (
            "/api/widget/v1/chat/messages",
            "/api/widget/v1/chat/images",
            "/api/widget/v1/chat/rating",
        )
    },
    "/chat/images/<public_id>": (
        WIDGET + "test_chat_image_address_serves_its_own_shops_image_only",
    ),
    "/healthz": NoShopData("liveness: reads nothing"),
    "/readyz": NoShopData("readiness: SELECT 1 and a Redis PING, no shop's rows"),
    "/metrics": (
        "tests/ops/test_metrics.py::test_metrics_refuses_anything_but_the_bearer_token",
    ),
}
# Routes registered only when REVISIT_DEMO=1, so absent from the app above;
# tests/channels/test_sandbox_outbox.py checks a demo app adds exactly these.
DEMO_ONLY_ROUTES: dict[str, tuple[Reference, ...]] = {
    "/sandbox/outbox": (
        "tests/channels/test_sandbox_outbox.py::"
        "test_sandbox_outbox_page_lists_only_the_named_shop",
    ),
}
TESTS = Path(__file__).resolve().parent


def shop_rows(shop_id: int) -> dict[str, list[tuple]]:
    """Every row the shop owns, table by table: what "nothing changed" compares.

    Every table but ``shops`` has a ``shop_id`` (every query is scoped by it),
    so these are all of a shop's stored data.
    """
    db.session.expire_all()
    shops = Shop.__table__
    rows = {"shops": _rows(select(shops).where(shops.c.id == shop_id))}
    for table in db.metadata.sorted_tables:
        if table is shops:
            continue
        assert "shop_id" in table.c, f"{table.name} has no shop_id"
        query = select(table).where(table.c.shop_id == shop_id)
        rows[table.name] = _rows(query.order_by(*table.primary_key.columns))
    return rows


def _rows(query: Select) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(query)]


def _line_signature(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


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


def test_code_grant_for_one_shop_never_changes_other_shop(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given both shops installed
    shop, other = _install_both(client, platform)
    ours, theirs = shop_rows(shop.id), shop_rows(other.id)

    # when the first shop's merchant installs again through the code grant
    response = grant_callback(client, approve(begin_grant(client, SHOP_DOMAIN)))

    # then the first shop has new tokens, and the other shop is untouched
    assert response.status_code == 302
    assert shop_rows(shop.id)["shops"] != ours["shops"]
    assert shop_rows(other.id) == theirs


def test_code_grant_state_of_one_shop_changes_nothing_at_another(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a state this browser was given for the other shop's grant
    shop, other = _install_both(client, platform)
    grant_url = begin_grant(client, OTHER_SHOP_DOMAIN)
    state = parse_qs(urlsplit(grant_url).query)["state"][0]
    before = (shop_rows(shop.id), shop_rows(other.id))
    exchanges = platform.count_calls("access_token")

    # when a genuine callback for the first shop comes back with it
    response = grant_callback(
        client,
        platform.sign_query(
            {
                "code": "abc",
                "shop": SHOP_DOMAIN,
                "state": state,
                "timestamp": str(int(time.time())),
            }
        ),
    )

    # then it is refused before any code exchange, and neither shop changed
    assert (response.status_code, response.json["code"]) == (400, "invalid_state")
    assert platform.count_calls("access_token") == exchanges
    assert (shop_rows(shop.id), shop_rows(other.id)) == before


def test_app_proxy_refuses_another_shops_visitor_token(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a visitor token of the first shop
    shop, other = _install_both(client, platform)
    theirs = issue_token(current().settings.secret_key, shop.id, "v" * 22)
    before = (shop_rows(shop.id), shop_rows(other.id))

    # when the other shop's storefront proxies it with a logged-in customer
    query = signed_proxy_query(
        API_SECRET, OTHER_SHOP_DOMAIN, "7001", {"visitor_token": theirs}
    )
    response = client.get(f"/proxy/identify?{query}")

    # then it is refused, and no customer is linked in either shop
    assert (response.status_code, response.json["code"]) == (
        401,
        "invalid_visitor_token",
    )
    assert (shop_rows(shop.id), shop_rows(other.id)) == before


def test_app_proxy_links_the_customer_in_the_signed_shop_only(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given one visitor id known to both shops
    shop, other = _install_both(client, platform)
    ours = issue_token(current().settings.secret_key, shop.id, "v" * 22)
    before = shop_rows(other.id)

    # when the first shop's storefront says that visitor is customer 7001
    query = signed_proxy_query(API_SECRET, SHOP_DOMAIN, "7001", {"visitor_token": ours})
    response = client.get(f"/proxy/identify?{query}")

    # then the customer is known in the first shop only
    assert response.json == {"linked": True}
    assert shop_rows(other.id) == before
    linked = db.session.execute(select(Visitor.shop_id, Visitor.customer_id)).all()
    assert [tuple(row) for row in linked] == [(shop.id, "7001")]


def test_line_webhook_signed_for_one_shop_is_refused_at_another_shops_address(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given both shops on LINE, each with its own channel secret
    shop, other = _install_both(client, platform)
    ours = connect_line(shop, "2000000001", "first-shop-secret-0123456789", "t1")
    theirs = connect_line(other, "2000000002", "other-shop-secret-0123456789", "t2")
    db.session.commit()
    body = json.dumps({"destination": "U" + "0" * 32, "events": [FOLLOW]}).encode()
    signature = _line_signature("first-shop-secret-0123456789", body)
    before = shop_rows(other.id)

    # when the first shop's signed delivery is posted to each shop's address
    refused = client.post(
        f"/webhooks/line/{theirs.line_webhook_key}",
        data=body,
        headers={"X-Line-Signature": signature},
    )
    accepted = client.post(
        f"/webhooks/line/{ours.line_webhook_key}",
        data=body,
        headers={"X-Line-Signature": signature},
    )

    # then only its own shop's address records it
    assert (refused.status_code, refused.json["code"]) == (401, "invalid_signature")
    assert accepted.status_code == 200
    assert shop_rows(other.id) == before
    assert db.session.scalars(select(ChannelDelivery.shop_id)).all() == [shop.id]


def test_signing_out_ends_only_the_session_of_its_own_cookie(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a member of each shop signed in, each in their own browser
    shop, other = _install_both(client, platform)
    member(shop, "mei@example.com")
    member(other, "lin@example.com")
    ours, theirs = app.test_client(), app.test_client()
    our_csrf = sign_in(ours, shop, "mei@example.com")
    their_csrf = sign_in(theirs, other, "lin@example.com")
    before = shop_rows(other.id)

    # when the first member signs out, once with the other member's form token
    forged = ours.post("/admin/logout", base_url=HTTPS, data={"csrf_token": their_csrf})
    signed_out = ours.post(
        "/admin/logout", base_url=HTTPS, data={"csrf_token": our_csrf}
    )

    # then only the first member's session ended
    assert (forged.status_code, signed_out.status_code) == (403, 302)
    assert shop_rows(other.id) == before
    assert db.session.scalars(select(TeamSession.shop_id)).all() == [other.id]
    assert theirs.get("/admin/team", base_url=HTTPS).status_code == 200


def test_flow_preview_and_test_send_never_use_another_shops_cart(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a cart of the other shop
    shop, other = _install_both(client, platform)
    _deliver_to(app, client, platform, OTHER_SHOP_DOMAIN, "carts/create")
    theirs = _cart_of(other)
    step = {
        "enabled": True,
        "delay": 1,
        "unit": "hours",
        "channel": "line",
        "message": [{"type": "carousel", "button_label": "Buy now"}],
    }
    body = {"step": step, "cart_id": theirs.id}
    before = shop_rows(other.id)

    # when the first shop previews and test-sends a step with that cart's id
    preview = client.post(
        "/api/admin/v1/flow/preview", headers=bearer(platform, shop), json=body
    )
    sent = client.post(
        "/api/admin/v1/flow/test", headers=bearer(platform, shop), json=body
    )

    # then both use the sample cart; nothing of the other shop's cart shows
    page = client.get(preview.json["renderings"][0]["url"])
    assert (preview.json["cart_id"], preview.json["cart_label"]) == (
        None,
        "Sample cart",
    )
    assert (sent.status_code, sent.json["delivered_to"]) == (200, "sandbox")
    outbox = db.session.scalars(select(SandboxMessage)).one()
    assert outbox.shop_id == shop.id
    for answer in (preview.get_data(as_text=True), page.get_data(as_text=True)):
        assert "Oolong Tea Gift Box" not in answer
    assert "Oolong Tea Gift Box" not in json.dumps(outbox.payload)
    assert shop_rows(other.id) == before


def test_hand_over_to_another_shops_member_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given Mei's open case in the first shop; Kai works for the other shop
    shop, other = _install_both(client, platform)
    mei, kai = a_member(shop, "Mei"), a_member(other, "Kai")
    case = a_conversation(shop, a_visitor(shop, "Lin"), "Hello")
    assign(shop, case, mei, mei)
    db.session.commit()
    headers = {"X-CSRF-Token": sign_in(client, shop, "mei@example.com")}
    before = shop_rows(other.id)

    # when Mei hands her cases over to Kai, one and all
    answers = [
        client.post(
            f"/api/admin/v1/inbox/conversations/{case.public_id}/hand-over",
            base_url=HTTPS,
            headers=headers,
            json={"assignee": kai.id, "note": "Yours now."},
        ),
        client.post(
            "/api/admin/v1/inbox/hand-over-all",
            base_url=HTTPS,
            headers=headers,
            json={"assignee": kai.id, "note": "Yours now."},
        ),
    ]

    # then both are refused at the assignee, and the case stays Mei's
    assert [(a.status_code, a.json["code"]) for a in answers] == [
        (422, "invalid_assignee"),
        (422, "invalid_assignee"),
    ]
    assert shop_rows(other.id) == before
    assert db.session.get(Conversation, case.id).assignee_id == mei.id


def test_inbox_screen_shows_only_the_members_shop(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given the other shop's conversation, tag and saved reply
    shop, other = _install_both(client, platform)
    _other_shops_data(other)
    member(shop)
    sign_in(client, shop)

    # when
    screen = client.get("/admin/inbox", base_url=HTTPS)

    # then
    assert screen.status_code == 200
    assert MARKER not in screen.get_data(as_text=True)


# The admin API as its served document describes it: every route and method.
admin_api = schemathesis.openapi.from_dict(
    document(),
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


@pytest.fixture
def other_shops_ids(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> Iterator[tuple[Shop, dict[str, Any]]]:
    """The other shop, full of data marked ``MARKER``, and its rows' ids by the
    admin API's path parameter names."""
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    ids = _other_shops_data(other)
    # Channel settings are checked against LINE and Meta: let the check fail
    # at once on a closed port rather than reach the real platforms.
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(
        original,
        line_api_base_url=CLOSED_PORT,
        messenger_graph_base_url=CLOSED_PORT,
    )
    yield other, ids
    runtime.settings = original


@admin_api.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_admin_api_never_shows_or_changes_another_shops_rows(
    case: schemathesis.Case,
    app: Flask,
    platform: FakeShopifyPlatform,
    shop: Shop,
    other_shops_ids: tuple[Shop, dict[str, Any]],
) -> None:
    # given the other shop's ids in the path, whatever the body
    other, ids = other_shops_ids
    for name in case.path_parameters or {}:
        case.path_parameters[name] = ids[name]
    before = shop_rows(other.id)

    # when the first shop's admin calls the operation
    response = case.call(app=app, headers=bearer(platform, shop))

    # then nothing of the other shop is shown or changed
    assert response.status_code < 500, response.text
    assert MARKER not in response.text
    assert shop_rows(other.id) == before


def _other_shops_data(other: Shop) -> dict[str, Any]:
    """A row of every kind the admin shows or changes, each named ``MARKER``;
    their ids by the admin API's path parameter names."""
    flow_for(other).abandonment_minutes = 99
    connect_line(other, "2000000002", "other-shop-secret-0123456789", "t2")
    db.session.commit()
    update_popup(other, texts={"en": {"title": MARKER, "success": MARKER}})
    message = create_message(
        other, name=MARKER, kind="text", texts={"en": {"title": MARKER}}
    )
    someone = a_member(other, MARKER.title())
    conversation = a_conversation(other, a_visitor(other, MARKER), MARKER)
    tag = create_tag(other, MARKER)
    reply = save_reply(other, MARKER, MARKER)
    campaign = create_campaign(
        other,
        name=MARKER,
        currency="TWD",
        starts_at=datetime.now(UTC),
        targets=[{"kind": "product", "value": "chew-toy", "reward": "5"}],
        min_seconds=10,
        cap_per_visitor="50",
        budget="1000",
    )
    db.session.commit()
    return {
        "campaign_id": campaign.id,
        "message_id": message.id,
        "member_id": someone.id,
        "public_id": conversation.public_id,
        "reply_id": reply.id,
        "tag_id": tag.id,
        "channel": "line",
    }


def test_every_route_is_in_tenancy_list(app: Flask) -> None:
    # when
    routes = {rule.rule for rule in app.url_map.iter_rules()}

    # then every route is listed, with a reason or tests that exist
    assert routes == set(ROUTE_TENANCY)
    for route, covered_by in {**ROUTE_TENANCY, **DEMO_ONLY_ROUTES}.items():
        if isinstance(covered_by, NoShopData):
            assert covered_by.reason, route
            continue
        assert covered_by, route
        for reference in covered_by:
            assert _test_exists(reference), (route, reference)


def test_tenancy_reference_resolves_only_to_a_defined_test() -> None:
    assert _test_exists("test_every_route_is_in_tenancy_list")
    assert _test_exists(
        "tests/widget_api/test_tenancy.py::test_events_land_in_the_widget_keys_shop_only"
    )
    assert not _test_exists("test_no_such_test")
    assert not _test_exists("tests/widget_api/test_tenancy.py::test_no_such_test")
    assert not _test_exists("tests/no_such_file.py::test_events_land")
    assert not _test_exists("tests/widget_api/test_tenancy.py::both")


def _test_exists(reference: Reference) -> bool:
    """Whether ``reference`` names a test function defined at module level.

    The file is read, not imported: a reference to another file must not
    run that file's imports or fixtures here.
    """
    path, _, name = reference.rpartition("::")
    source = TESTS.parent / path if path else Path(__file__)
    if not name.startswith("test_") or not source.is_file():
        return False
    tree = ast.parse(source.read_text(), filename=str(source))
    return any(
        isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body
    )
