"""Helpers for the admin panel's tests: members, signed-in clients, tokens."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.db import db
from engine.shops.models import Shop
from engine.team.accounts import add_member
from engine.team.models import TeamMember
from plugin.sandbox.shopify_platform import FakeShopifyPlatform

PASSWORD = "correct horse battery"
OWNER_EMAIL = "owner@example.com"
AGENT_EMAIL = "agent@example.com"
HTTPS = "https://localhost"


def member(shop: Shop, email: str = OWNER_EMAIL, role: str = "owner") -> TeamMember:
    added = add_member(shop, email, email.split("@")[0].title(), role, PASSWORD)
    db.session.commit()
    return added


def sign_in(
    client: FlaskClient, shop: Shop, email: str = OWNER_EMAIL, password: str = PASSWORD
) -> str:
    """Sign ``client`` in through the form; returns the session's CSRF token."""
    form = client.get("/admin/login", base_url=HTTPS)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))
    response = client.post(
        "/admin/login",
        base_url=HTTPS,
        data={
            "csrf_token": token.group(1),
            "shop": shop.shop_domain,
            "email": email,
            "password": password,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/admin/team", base_url=HTTPS).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def bearer(platform: FakeShopifyPlatform, shop: Shop, **overrides: object) -> dict:
    token = platform.session_token(shop.shop_domain, **overrides)
    return {"Authorization": f"Bearer {token}"}
