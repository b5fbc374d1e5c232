"""Binding against the fake LINE and Messenger, with the app served live.

The fakes deliver webhooks over HTTP, so the app runs on a loopback port
(``live_app``); this process's settings point the app at the fakes for one
test (``binding_shop``), and ``run_jobs`` applies what was delivered.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from engine.binding import popup
from engine.channels.accounts import connect_line, connect_messenger
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking import storefronts
from engine.tracking.tokens import issue_token, new_public_id
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.shopify_http import QuietRequestHandler

LINE_CHANNEL = "2000000001"
LINE_TOKEN = "line-access-token-0123456789"
LINE_SECRET = "line-channel-secret-0123456789"
LOGIN_CHANNEL = "2000000099"
LOGIN_SECRET = "line-login-channel-secret-0123456789abcdef"
BASIC_ID = "@revisit-test"
PAGE_ID = "100000000000001"
PAGE_TOKEN = "page-access-token-0123456789"
APP_SECRET = "messenger-app-secret-0123456789"
VERIFY_TOKEN = "messenger-verify-token"
ORIGIN = "https://revisit-test.myshopify.com"


@pytest.fixture(scope="session")
def live_app(session_app: Flask) -> Iterator[str]:
    server = make_server(
        "127.0.0.1", 0, session_app, threaded=True, request_handler=QuietRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def line_fake() -> Iterator[FakeLinePlatform]:
    fake = FakeLinePlatform()
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="session")
def messenger_fake() -> Iterator[FakeMessengerPlatform]:
    fake = FakeMessengerPlatform(APP_SECRET)
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture
def binding_shop(
    shop: Shop,
    live_app: str,
    line_fake: FakeLinePlatform,
    messenger_fake: FakeMessengerPlatform,
) -> Iterator[Shop]:
    """The installed shop with LINE (Login included) and a Page, both on fakes."""
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(
        original,
        app_url=live_app,
        line_api_base_url=line_fake.base_url,
        line_access_base_url=line_fake.base_url,
        line_web_base_url=line_fake.base_url,
        messenger_graph_base_url=messenger_fake.base_url,
        messenger_me_base_url=messenger_fake.me_url,
        messenger_app_secret=APP_SECRET,
        messenger_verify_token=VERIFY_TOKEN,
    )
    storefronts.forget_all()
    popup.forget_all()
    line_fake.reset()
    messenger_fake.reset()
    shop.name = "Tea House"
    account = connect_line(
        shop,
        LINE_CHANNEL,
        LINE_SECRET,
        LINE_TOKEN,
        login_channel_id=LOGIN_CHANNEL,
        login_channel_secret=LOGIN_SECRET,
        basic_id=BASIC_ID,
    )
    connect_messenger(shop, PAGE_ID, PAGE_TOKEN)
    db.session.commit()

    line_fake.add_channel(LINE_CHANNEL, LINE_TOKEN, LINE_SECRET)
    line_fake.add_login_channel(
        LOGIN_CHANNEL, LOGIN_SECRET, LINE_CHANNEL, basic_id=BASIC_ID
    )
    line_fake.set_webhook(
        LINE_CHANNEL, f"{live_app}/webhooks/line/{account.line_webhook_key}"
    )
    messenger_fake.add_page(PAGE_ID, PAGE_TOKEN)
    assert messenger_fake.set_webhook(f"{live_app}/webhooks/messenger", VERIFY_TOKEN)
    yield shop
    runtime.settings = original


def visitor_token(shop: Shop, public_id: str | None = None) -> tuple[str, str]:
    """A new visitor's (public id, token), as a page view would issue them."""
    public_id = public_id or new_public_id()
    return public_id, issue_token(current().settings.secret_key, shop.id, public_id)


def widget_call(
    client: FlaskClient, shop: Shop, action: str, token: str, **fields: Any
) -> Any:
    body = {"widget_key": shop.widget_key, "visitor_token": token, **fields}
    return client.post(
        f"/api/widget/v1/binding/{action}",
        json=body,
        headers={"Origin": ORIGIN},
    )


def form_fields(html: str) -> dict[str, str]:
    """The named inputs of a fake's page (hidden ones included)."""
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))


def consent_through_line(
    authorize_url: str, user_id: str, *, add_friend: bool = True
) -> str:
    """Go through the fake LINE's consent and add-friend screens; the callback URL."""
    with httpx.Client(follow_redirects=False) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        base = authorize_url.split("/oauth2/")[0]
        grant = form_fields(page.text)["grant"]
        answer = browser.post(
            f"{base}/oauth2/v2.1/authorize",
            data={"grant": grant, "user_id": user_id, "decision": "allow"},
        )
        if answer.status_code == 200:
            answer = browser.post(
                f"{base}/oauth2/v2.1/friend",
                data={"grant": grant, "add": "yes" if add_friend else "no"},
            )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]
