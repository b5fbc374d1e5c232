"""Who is asking: a store-admin user with a session token, or a signed-in member.

Inside the store admin, App Bridge gives each request a one-minute session
token (a JWT signed HS256 with the app secret): page loads carry it as
``id_token`` in the query, API calls as ``Authorization: Bearer``.
shopifyapp checks its signature, ``exp`` and ``nbf`` (10 seconds' leeway)
and ``aud``; we add what it leaves out: that ``exp``, ``nbf``, ``iss`` and
``dest`` are there, that ``iss`` and ``dest`` name the same shop, and that
the shop is installed. Store-admin users act as owners.

Outside the admin, a team member's session cookie counts instead, and every
changing request must carry the session's CSRF token (the ``X-CSRF-Token``
header, or a ``csrf_token`` form field).

Who acts in the chat is always a team member (``agent_of``): the signed-in
one, or the store-admin staff user's own, so "mine", read marks and the
assignment log mean the same person either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Response, g, request

from engine.db import db
from engine.runtime import current
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.team.accounts import member_for_platform_user
from engine.team.errors import InvalidMemberError
from engine.team.models import OWNER, TeamMember, TeamSession
from engine.team.sessions import csrf_matches, find_session
from plugin.errors import ApiError
from plugin.shopify_request import as_shopify_request

logger = logging.getLogger(__name__)

PATCH_ID_TOKEN_PATH = "/auth/patch-id-token"
ADMIN = "admin"
TEAM = "team"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"
_REQUIRED_CLAIMS = ("exp", "nbf", "iss", "dest", "aud")
# shopifyapp's log codes, as the API's error codes.
_TOKEN_CODES = {
    "expired_id_token": "expired_session_token",
    "invalid_aud": "wrong_audience",
}
# A store-admin token without a ``sub`` names nobody (``admin_viewer`` writes
# "None").
_NO_STAFF_ID = (None, "", "None")


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, and the one shop they may see."""

    shop: Shop
    via: str
    role: str
    member: TeamMember | None = None
    session: TeamSession | None = None
    # The platform's staff id (the token's ``sub``) inside the store admin.
    platform_user_id: str | None = None

    @property
    def embedded(self) -> bool:
        return self.via == ADMIN

    @property
    def csrf_token(self) -> str | None:
        return self.session.csrf_token if self.session is not None else None

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


class SessionExpired(Exception):
    """A team member's session ended; the page says so and offers to sign in."""


class SignInNeeded(Exception):
    """No session at all: the page sends the browser to the sign-in form."""


def api_viewer() -> Viewer:
    """The viewer of an API call; raises ``ApiError`` 401 or 403."""
    if request.headers.get("Authorization"):
        return _admin_viewer_of_api_call()

    found = find_session(_session_cookie())
    db.session.commit()
    if found.session is None:
        code = "session_expired" if found.expired else "not_signed_in"
        raise ApiError(
            401,
            code,
            "Your session has expired; sign in again."
            if found.expired
            else "Sign in, or open the app from the store admin.",
        )
    if request.method in UNSAFE_METHODS and not csrf_matches(
        found.session, request.headers.get("X-CSRF-Token")
    ):
        raise ApiError(
            403,
            "csrf_failed",
            "The X-CSRF-Token header is missing or wrong; reload the page.",
        )
    return _team_viewer(found.session, found.member, found.shop)


def page_viewer() -> Viewer | Response:
    """The viewer of a page load, or the response to send instead.

    An ``id_token`` in the query is verified (a stale one goes through the
    platform's patch-id-token page for a fresh one). Else the team
    session cookie counts. Raises ``SessionExpired`` or ``SignInNeeded``.
    """
    if "id_token" in request.args or request.args.get("embedded") == "1":
        return _admin_viewer_of_page()

    found = find_session(_session_cookie())
    db.session.commit()
    if found.session is None:
        raise SessionExpired() if found.expired else SignInNeeded()
    return _team_viewer(found.session, found.member, found.shop)


def check_form_csrf(viewer: Viewer) -> None:
    """For a plain form post by a team member: its ``csrf_token`` field must match."""
    if viewer.session is not None and not csrf_matches(
        viewer.session, request.form.get("csrf_token")
    ):
        raise ApiError(403, "csrf_failed", "The form is out of date; reload the page.")


def require_owner(viewer: Viewer) -> None:
    if not viewer.is_owner:
        raise ApiError(403, "owner_only", "Only the shop's owners can change settings.")


def agent_of(viewer: Viewer) -> TeamMember:
    """The team member behind the request (the staff user's own, in the store
    admin); raises ``ApiError`` 403 when the session token names no staff user."""
    if viewer.member is not None:
        return viewer.member
    if viewer.platform_user_id in _NO_STAFF_ID:
        raise ApiError(
            403, "staff_unknown", "The session token names no staff user; reload."
        )
    try:
        member = member_for_platform_user(viewer.shop, viewer.platform_user_id)
    except InvalidMemberError:
        raise ApiError(
            403, "staff_unknown", "The session token's staff user id is not usable."
        ) from None
    # Committed at once: later reads (the sidebar's wallet) may roll back.
    db.session.commit()
    return member


def session_cookie_name() -> str:
    # __Host- cookies are sent only to this host over HTTPS, path / (RFC 6265bis).
    return "revisit_session" if current().settings.demo else "__Host-revisit_session"


def _session_cookie() -> str | None:
    return request.cookies.get(session_cookie_name())


def _admin_viewer_of_api_call() -> Viewer:
    verified = current().shopify.verify_app_home_req(
        as_shopify_request(), app_home_patch_id_token_path=PATCH_ID_TOKEN_PATH
    )
    if not verified.ok:
        code = _TOKEN_CODES.get(verified.log.code, "invalid_session_token")
        logger.info("admin.session_token_refused", extra={"code": code})
        raise _token_error(code, "The session token was refused; reload the app.")
    return _admin_viewer(verified.id_token.claims)


def _admin_viewer_of_page() -> Viewer | Response:
    from plugin.shopify_request import as_flask_response

    verified = current().shopify.verify_app_home_req(
        as_shopify_request(), app_home_patch_id_token_path=PATCH_ID_TOKEN_PATH
    )
    if not verified.ok:
        return as_flask_response(verified)
    viewer = _admin_viewer(verified.id_token.claims)
    g.admin_response_headers = dict(verified.response.headers)
    g.id_token = verified.id_token.token
    return viewer


def token_shop_domain(claims: dict[str, Any]) -> str:
    """The shop a verified token's claims name, once they all agree on it.

    Raises ``ApiError`` 401 for a missing claim, or an issuer and a
    destination that are not the same ``*.myshopify.com`` shop.
    """
    missing = [name for name in _REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise _token_error(
            "invalid_session_token",
            f"The session token lacks the {', '.join(missing)} claim(s).",
        )
    shop_domain = _host(claims["dest"])
    if not shop_domain.endswith(".myshopify.com") or _host(claims["iss"]) != (
        shop_domain
    ):
        raise _token_error(
            "shop_mismatch",
            "The session token's issuer and destination are not the same shop.",
        )
    return shop_domain


def admin_viewer(shop: Shop, claims: dict[str, Any]) -> Viewer:
    """The store-admin user of an installed shop; they act as its owner."""
    g.viewer_shop_id = shop.id
    return Viewer(
        shop=shop, via=ADMIN, role=OWNER, platform_user_id=str(claims.get("sub"))
    )


def _admin_viewer(claims: dict[str, Any]) -> Viewer:
    shop_domain = token_shop_domain(claims)
    shop = shop_by_domain(shop_domain)
    if shop is None or not shop.is_installed:
        raise _token_error(
            "shop_not_installed",
            f"Revisit is not installed on {shop_domain}; open it from the store"
            " admin to install it.",
        )
    return admin_viewer(shop, claims)


def _team_viewer(session: TeamSession, member: TeamMember, shop: Shop) -> Viewer:
    return Viewer(
        shop=shop,
        via=TEAM,
        role=member.role,
        member=member,
        session=session,
        platform_user_id=member.platform_user_id,
    )


def _token_error(code: str, detail: str) -> ApiError:
    return ApiError(401, code, detail, headers={RETRY_HEADER: "1"})


def _host(url: object) -> str:
    return (urlsplit(str(url)).hostname or "").lower()
