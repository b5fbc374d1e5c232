"""Who gets into the panel: session tokens inside the admin, members outside it."""

from __future__ import annotations

import re
from datetime import timedelta

import jwt
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db, utcnow
from engine.reminders.models import ReminderFlow
from engine.shops.models import Shop
from engine.team.models import TeamSession
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, PASSWORD, bearer, member, sign_in
from tests.conftest import API_KEY, API_SECRET, OTHER_SHOP_DOMAIN, install_shop

FLOW = "/api/admin/v1/flow"


def _abandonment_minutes(shop: Shop) -> int | None:
    return db.session.scalar(
        select(ReminderFlow.abandonment_minutes).where(ReminderFlow.shop_id == shop.id)
    )


# --- the session token inside the store admin ---------------------------------


def test_session_token_valid_reads_its_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(FLOW, headers=bearer(platform, shop))

    # then
    assert response.status_code == 200
    assert response.json["abandonment_minutes"] == 30
    assert [step["delay"] for step in response.json["steps"]] == [1, 7, 15]


def test_session_token_expired_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a token that expired 30 s ago (past the 10 s leeway)
    now = int(platform.current_time().timestamp())
    headers = bearer(platform, shop, exp=now - 30, nbf=now - 90, iat=now - 90)

    # when
    response = client.get(FLOW, headers=headers)

    # then
    assert response.status_code == 401
    assert response.json["code"] == "expired_session_token"
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_session_token_not_yet_valid_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    now = int(platform.current_time().timestamp())
    headers = bearer(platform, shop, nbf=now + 120, exp=now + 180)

    # when
    response = client.get(FLOW, headers=headers)

    # then
    assert response.status_code == 401
    assert response.json["code"] == "invalid_session_token"


def test_session_token_wrong_signature_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a token with the right claims, signed with another secret
    claims = jwt.decode(
        platform.session_token(shop.shop_domain),
        API_SECRET,
        algorithms=["HS256"],
        audience=API_KEY,
    )
    forged = jwt.encode(claims, "not-the-app-secret-0123456789abcdef", "HS256")

    # when
    response = client.put(
        FLOW,
        headers={"Authorization": f"Bearer {forged}"},
        json={"abandonment_minutes": 45},
    )

    # then
    assert response.status_code == 401
    assert response.json["code"] == "invalid_session_token"
    assert _abandonment_minutes(shop) is None


def test_session_token_wrong_audience_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(FLOW, headers=bearer(platform, shop, aud="another-app"))

    # then
    assert response.status_code == 401
    assert response.json["code"] == "wrong_audience"


def test_session_token_issuer_of_another_shop_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    headers = bearer(platform, shop, iss=f"https://{OTHER_SHOP_DOMAIN}/admin")
    response = client.get(FLOW, headers=headers)

    # then
    assert response.status_code == 401
    assert response.json["code"] == "shop_mismatch"


def test_session_token_without_expiry_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(FLOW, headers=bearer(platform, shop, exp=None))

    # then
    assert response.status_code == 401
    assert response.json["code"] == "invalid_session_token"
    assert "exp" in response.json["detail"]


def test_session_token_of_uninstalled_shop_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the shop uninstalled the app
    shop.uninstalled_at = utcnow()
    shop.access_token = None
    db.session.commit()

    # when
    response = client.put(
        FLOW, headers=bearer(platform, shop), json={"abandonment_minutes": 45}
    )

    # then
    assert response.status_code == 401
    assert response.json["code"] == "shop_not_installed"
    assert _abandonment_minutes(shop) is None


def test_session_token_changes_its_shop_without_csrf_token(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when: a bearer token cannot be sent by another site, so no CSRF token
    response = client.put(
        FLOW, headers=bearer(platform, shop), json={"abandonment_minutes": 45}
    )

    # then
    assert response.status_code == 200
    assert _abandonment_minutes(shop) == 45


def test_panel_page_with_stale_id_token_goes_to_patch_page(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    now = int(platform.current_time().timestamp())
    stale = platform.session_token(shop.shop_domain, exp=now - 60, nbf=now - 120)

    # when
    response = client.get(
        f"/admin/flow?shop={shop.shop_domain}&embedded=1&id_token={stale}"
    )

    # then
    assert response.status_code == 302
    assert response.headers["Location"].startswith(
        "http://localhost/auth/patch-id-token?"
    )
    assert "shopify-reload=%2Fadmin%2Fflow" in response.headers["Location"]


# --- team members outside the admin -------------------------------------------


def test_sign_in_opens_a_secure_session(client: FlaskClient, shop: Shop) -> None:
    # given
    member(shop)

    # when
    sign_in(client, shop)

    # then
    cookie = client.get_cookie("__Host-revisit_session", domain="localhost")
    assert cookie is not None
    assert (cookie.secure, cookie.http_only, cookie.same_site) == (True, True, "Lax")
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 1


def test_sign_in_wrong_password_is_refused(client: FlaskClient, shop: Shop) -> None:
    # given
    member(shop)
    form = client.get("/admin/login", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    # when
    response = client.post(
        "/admin/login",
        base_url=HTTPS,
        data={
            "csrf_token": token,
            "shop": shop.shop_domain,
            "email": "owner@example.com",
            "password": PASSWORD + "!",
        },
    )

    # then
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 0


def test_sign_in_with_a_nul_in_the_email_is_refused(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    member(shop)
    form = client.get("/admin/login", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    # when the e-mail holds a NUL, which the database cannot compare
    response = client.post(
        "/admin/login",
        base_url=HTTPS,
        data={
            "csrf_token": token,
            "shop": shop.shop_domain,
            "email": "owner\x00@example.com",
            "password": PASSWORD,
        },
    )

    # then it matches no account, like any wrong e-mail
    assert response.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 0


def test_new_member_with_a_nul_in_the_email_is_422_naming_it(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.post(
        "/api/admin/v1/team",
        headers=bearer(platform, shop),
        json={
            "email": "new\x00@example.com",
            "display_name": "New",
            "role": "agent",
            "password": PASSWORD,
        },
    )

    # then
    assert response.status_code == 422
    assert response.json["field"] == "email"


def test_sign_in_without_form_csrf_token_is_refused(
    client: FlaskClient, shop: Shop
) -> None:
    # given a sign-in posted from another site: no cookie, no token
    member(shop)

    # when
    response = client.post(
        "/admin/login",
        base_url=HTTPS,
        data={
            "shop": shop.shop_domain,
            "email": "owner@example.com",
            "password": PASSWORD,
        },
    )

    # then
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 0


def test_sign_in_with_a_non_ascii_form_token_is_refused(
    client: FlaskClient, shop: Shop
) -> None:
    # given the form's cookie, and a token that is not even ASCII
    member(shop)
    client.get("/admin/login", base_url=HTTPS)

    # when
    response = client.post(
        "/admin/login",
        base_url=HTTPS,
        data={
            "csrf_token": "jeton-falsifié",
            "shop": shop.shop_domain,
            "email": "owner@example.com",
            "password": PASSWORD,
        },
    )

    # then
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 0


def test_member_sees_only_their_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a member of another shop with the same e-mail and password
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    member(shop)
    member(other)
    csrf = sign_in(client, other)

    # when
    response = client.put(
        FLOW,
        base_url=HTTPS,
        headers={"X-CSRF-Token": csrf},
        json={"abandonment_minutes": 50},
    )

    # then
    assert response.status_code == 200
    assert _abandonment_minutes(other) == 50
    assert _abandonment_minutes(shop) is None


def test_member_change_without_csrf_header_is_refused(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    member(shop)
    sign_in(client, shop)
    client.get(FLOW, base_url=HTTPS)
    before = _abandonment_minutes(shop)

    # when
    response = client.put(FLOW, base_url=HTTPS, json={"abandonment_minutes": 45})

    # then
    assert response.status_code == 403
    assert response.json == {
        "detail": "The X-CSRF-Token header is missing or wrong; reload the page.",
        "code": "csrf_failed",
    }
    assert _abandonment_minutes(shop) == before == 30


def test_member_change_with_a_body_nested_past_the_stack_is_400(
    client: FlaskClient, shop: Shop
) -> None:
    # given a signed-in member
    member(shop)
    csrf = sign_in(client, shop)

    # when the body nests arrays deeper than Python's recursion limit
    response = client.put(
        FLOW,
        base_url=HTTPS,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        data="[" * 50_000 + "]" * 50_000,
    )

    # then it is refused as a body that is not JSON, and nothing changes
    assert response.status_code == 400
    assert response.json == {
        "detail": "The request body must be JSON.",
        "code": "invalid_json",
    }
    assert _abandonment_minutes(shop) is None


def test_member_change_with_wrong_csrf_header_is_refused(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    member(shop)
    sign_in(client, shop)

    # when
    response = client.put(
        FLOW,
        base_url=HTTPS,
        headers={"X-CSRF-Token": "guessed"},
        json={"abandonment_minutes": 45},
    )

    # then
    assert response.status_code == 403
    assert _abandonment_minutes(shop) is None


def test_sign_out_without_csrf_token_keeps_the_session(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    member(shop)
    sign_in(client, shop)

    # when
    response = client.post("/admin/logout", base_url=HTTPS, data={})

    # then
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 1


def test_agent_cannot_change_settings(client: FlaskClient, shop: Shop) -> None:
    # given
    member(shop, "agent@example.com", role="agent")
    csrf = sign_in(client, shop, "agent@example.com")

    # when
    response = client.put(
        FLOW,
        base_url=HTTPS,
        headers={"X-CSRF-Token": csrf},
        json={"abandonment_minutes": 45},
    )

    # then
    assert response.status_code == 403
    assert response.json["code"] == "owner_only"
    assert _abandonment_minutes(shop) is None


def test_expired_session_gets_a_clear_page(client: FlaskClient, shop: Shop) -> None:
    # given a session idle for longer than the idle timeout
    member(shop)
    sign_in(client, shop)
    session = db.session.scalars(select(TeamSession)).one()
    session.last_seen_at = utcnow() - timedelta(hours=3)
    db.session.commit()

    # when
    response = client.get("/admin/flow", base_url=HTTPS)

    # then
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your session has ended" in page
    assert "Traceback" not in page
    assert db.session.scalar(select(func.count()).select_from(TeamSession)) == 0


def test_expired_session_api_call_says_so(client: FlaskClient, shop: Shop) -> None:
    # given a session past its twelve hours
    member(shop)
    sign_in(client, shop)
    session = db.session.scalars(select(TeamSession)).one()
    session.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    # when
    response = client.get(FLOW, base_url=HTTPS)

    # then
    assert response.status_code == 401
    assert response.json == {
        "detail": "Your session has expired; sign in again.",
        "code": "session_expired",
    }


def test_page_without_session_goes_to_sign_in(client: FlaskClient) -> None:
    # when
    response = client.get("/admin/results?since=2026-12-01", base_url=HTTPS)

    # then
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/admin/login?next=/admin/results?since%3D2026-12-01"
    )
