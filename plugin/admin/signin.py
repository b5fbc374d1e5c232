"""Signing team members in and out of the panel outside the store admin.

The sign-in form has its own CSRF token before any session exists: a random
value in a strict same-site cookie that the form must repeat, so no other
site can sign a browser into an account of its choosing.
"""

from __future__ import annotations

import logging
import secrets

from flask import Response, make_response, redirect, render_template, request, url_for

from engine.db import db
from engine.runtime import current
from engine.shopify.errors import OAuthError
from engine.shopify.oauth import clean_shop_domain
from engine.shops.install import shop_by_domain
from engine.team.accounts import sign_in as sign_in_member
from engine.team.errors import SignInRefused, TooManyAttempts
from engine.team.sessions import (
    IDLE_TIMEOUT,
    MAX_AGE,
    csrf_matches,
    end_session,
    find_session,
    open_session,
)
from plugin.admin import bp
from plugin.admin.access import session_cookie_name
from plugin.admin.screens import with_panel_headers
from plugin.admin.texts import t
from plugin.errors import ApiError

logger = logging.getLogger(__name__)

SIGN_IN_CSRF_COOKIE = "revisit_sign_in"


@bp.get("/admin/login")
def sign_in() -> Response:
    return _form(200)


@bp.post("/admin/login")
def sign_in_submit() -> Response:
    # As bytes: compare_digest raises TypeError on non-ASCII text.
    presented = request.form.get("csrf_token", "").encode()
    expected = request.cookies.get(SIGN_IN_CSRF_COOKIE, "").encode()
    if not expected or not secrets.compare_digest(presented, expected):
        return _form(403, t("login.form_expired"))

    shop_domain = request.form.get("shop", "")
    try:
        shop = shop_by_domain(clean_shop_domain(shop_domain))
    except OAuthError:
        shop = None
    try:
        if shop is None or not shop.is_installed:
            raise SignInRefused()
        member = sign_in_member(
            shop, request.form.get("email", ""), request.form.get("password", "")
        )
    except TooManyAttempts as refusal:
        db.session.commit()
        minutes = max(1, refusal.retry_after // 60)
        return _form(429, t("login.too_many", minutes=minutes))
    except SignInRefused:
        db.session.commit()
        return _form(401, t("login.refused"))

    opened = open_session(member)
    db.session.commit()
    response = redirect(_next_page())
    response.set_cookie(
        session_cookie_name(),
        opened.token,
        max_age=int(MAX_AGE.total_seconds()),
        secure=not current().settings.demo,
        httponly=True,
        samesite="Lax",
        path="/",
    )
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path="/admin/login")
    return response


@bp.post("/admin/logout")
def sign_out() -> Response:
    # Signing out needs the session's CSRF token, so no other site can sign
    # a member out; an ended session has nothing left to end.
    token = request.cookies.get(session_cookie_name())
    found = find_session(token)
    if found.session is not None:
        if not csrf_matches(found.session, request.form.get("csrf_token")):
            raise ApiError(403, "csrf_failed", "The form is out of date; reload it.")
        end_session(token)
    db.session.commit()
    response = redirect(url_for("admin.sign_in"))
    response.delete_cookie(session_cookie_name(), path="/")
    return response


def _form(status: int, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    page = render_template(
        "admin/login.html",
        csrf_token=token,
        error=error,
        shop=request.form.get("shop", request.args.get("shop", "")),
        email=request.form.get("email", ""),
        next=_next_page(),
        idle_hours=int(IDLE_TIMEOUT.total_seconds() // 3600),
    )
    response = with_panel_headers(make_response(page, status), "'none'")
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        max_age=3600,
        secure=not current().settings.demo,
        httponly=True,
        samesite="Strict",
        path="/admin/login",
    )
    return response


def _next_page() -> str:
    """Where to go after signing in: a panel page of ours, never another site."""
    target = request.values.get("next", "")
    if target.startswith("/admin") and not target.startswith("/admin/login"):
        return target
    return url_for("admin.home")
