"""Every panel page's Content-Security-Policy, pages that need nothing more, and
the flow editor's previews, served with a policy of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.models import TeamMember, TeamSession
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, bearer, member, sign_in

SCREENS = (
    "/admin",
    "/admin/inbox",
    "/admin/flow",
    "/admin/messages",
    "/admin/channels",
    "/admin/binding",
    "/admin/game",
    "/admin/results",
    "/admin/team",
)
OWN_ORIGIN_ONLY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: https:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PREVIEW = "/api/admin/v1/flow/preview"
STEP = {
    "enabled": True,
    "delay": 1,
    "unit": "hours",
    "channel": "any",
    "message": [{"type": "text", "text": "Hi {first_name|there}"}],
}
PREVIEW_POLICY = {
    "default-src": "'none'",
    "style-src": "'unsafe-inline'",
    "img-src": "https: data:",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'self'",
    "sandbox": "",
}
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@pytest.fixture
def owner(client: FlaskClient, shop: Shop) -> TeamMember:
    """The shop's owner, signed in on ``client``."""
    added = member(shop)
    sign_in(client, shop)
    return added


@pytest.fixture
def real_admin() -> Iterator[None]:
    """The app as in production: no sandbox admin, App Bridge from the CDN."""
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(original, shopify_base_url=None)
    yield
    runtime.settings = original


def _policy(header: str) -> dict[str, str]:
    directives = [part.strip() for part in header.split(";") if part.strip()]
    return {
        name: value.strip()
        for name, _, value in (directive.partition(" ") for directive in directives)
    }


def _assert_hardened(headers: dict) -> None:
    header = headers["Content-Security-Policy"]
    assert "unsafe-eval" not in header
    assert "unsafe-inline" not in header
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", SCREENS)
def test_screen_for_a_team_member_allows_only_its_own_origin(
    client: FlaskClient, owner: TeamMember, path: str
) -> None:
    # when
    response = client.get(path, base_url=HTTPS)

    # then
    assert response.status_code == 200
    assert _policy(response.headers["Content-Security-Policy"]) == OWN_ORIGIN_ONLY
    _assert_hardened(response.headers)


@pytest.mark.parametrize("path", SCREENS)
def test_screen_in_the_sandbox_admin_lets_in_its_app_bridge(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, path: str
) -> None:
    # given
    token = platform.session_token(shop.shop_domain)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(platform.base_url))

    # when
    response = client.get(f"{path}?shop={shop.shop_domain}&embedded=1&id_token={token}")

    # then
    assert response.status_code == 200
    policy = _policy(response.headers["Content-Security-Policy"])
    assert policy == {
        **OWN_ORIGIN_ONLY,
        "script-src": f"'self' {origin}",
        "frame-ancestors": platform.base_url,
    }
    assert f'<script src="{platform.base_url}/sandbox/app-bridge.js">' in (
        response.get_data(as_text=True)
    )
    _assert_hardened(response.headers)


def test_app_home_in_the_store_admin_lets_in_app_bridge_and_the_admin_frames(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, real_admin: None
) -> None:
    # given
    token = platform.session_token(shop.shop_domain)

    # when
    response = client.get(f"/?shop={shop.shop_domain}&embedded=1&id_token={token}")

    # then App Bridge's folder of the CDN is allowed, not the merchants' files
    assert response.status_code == 200
    policy = _policy(response.headers["Content-Security-Policy"])
    assert policy == {
        **OWN_ORIGIN_ONLY,
        "script-src": "'self' https://cdn.shopify.com/shopifycloud/",
        "frame-ancestors": f"https://{shop.shop_domain} https://admin.shopify.com",
    }
    page = response.get_data(as_text=True)
    assert (
        '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>'
        in page
    )
    assert "app-bridge.js" in response.headers["Link"]
    _assert_hardened(response.headers)


def test_sign_in_page_has_the_policy(client: FlaskClient) -> None:
    # when
    response = client.get("/admin/login", base_url=HTTPS)

    # then
    assert _policy(response.headers["Content-Security-Policy"]) == OWN_ORIGIN_ONLY
    _assert_hardened(response.headers)


def test_expired_session_page_has_the_policy(
    client: FlaskClient, owner: TeamMember
) -> None:
    # given a session idle for longer than the idle timeout
    session = db.session.scalars(select(TeamSession)).one()
    session.last_seen_at = utcnow() - timedelta(hours=3)
    db.session.commit()

    # when
    response = client.get("/admin/flow", base_url=HTTPS)

    # then
    assert response.status_code == 401
    assert _policy(response.headers["Content-Security-Policy"]) == OWN_ORIGIN_ONLY
    _assert_hardened(response.headers)


@pytest.mark.parametrize("path", [*SCREENS, "/admin/login"])
def test_page_has_no_inline_code_or_style_the_policy_would_refuse(
    client: FlaskClient, owner: TeamMember, path: str
) -> None:
    # when
    page = client.get(path, base_url=HTTPS).get_data(as_text=True)

    # then scripts are files or JSON data, and nothing styles or scripts inline
    inline = [
        attributes
        for attributes, body in SCRIPT.findall(page)
        if "src=" not in attributes and 'type="application/json"' not in attributes
    ]
    assert inline == []
    assert " style=" not in page
    assert INLINE_HANDLER.findall(page) == []
    assert "javascript:" not in page


# --- the flow editor's previews --------------------------------------------------


def test_preview_is_a_document_of_its_own_with_inline_styles_and_no_script(
    client: FlaskClient, shop: Shop
) -> None:
    # given a signed-in owner's preview of a step
    member(shop)
    csrf = sign_in(client, shop)
    renderings = client.post(
        PREVIEW,
        base_url=HTTPS,
        headers={"X-CSRF-Token": csrf},
        json={"step": STEP, "cart_id": None},
    ).json["renderings"]

    # when the editor frames each rendering's address
    pages = [client.get(rendering["url"], base_url=HTTPS) for rendering in renderings]

    # then each is the drawn page, framed by the panel only, allowed no script
    assert [page.status_code for page in pages] == [200, 200]
    assert [page.get_data(as_text=True) for page in pages] == [
        rendering["html"] for rendering in renderings
    ]
    for page in pages:
        assert _policy(page.headers["Content-Security-Policy"]) == PREVIEW_POLICY
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_preview_in_the_store_admin_may_be_framed_by_the_admin_too(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    rendering = client.post(
        PREVIEW,
        headers=bearer(platform, shop),
        json={"step": STEP, "cart_id": None},
    ).json["renderings"][0]

    # when
    page = client.get(rendering["url"])

    # then
    policy = _policy(page.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == f"'self' {platform.base_url}"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/previews/" + "A" * 43,
        "/admin/previews/not-a-key",
        "/admin/previews/" + "A" * 42 + "%2F",
    ],
)
def test_preview_never_drawn_or_expired_is_not_found(
    client: FlaskClient, path: str
) -> None:
    # when
    response = client.get(path)

    # then
    assert response.status_code == 404
