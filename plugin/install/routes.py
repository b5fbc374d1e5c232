"""Routes that install the app and open its home inside the store admin.

Embedded (the platform's managed install): the admin loads ``/`` with an
``id_token``; shopifyapp verifies it and, for a shop without a usable token,
exchanges it for an expiring offline token. Outside the admin: ``/auth``
and ``/auth/callback`` run the authorization-code grant.
"""

from __future__ import annotations

import logging

from flask import Response, g, redirect, request, url_for

from engine.db import db
from engine.runtime import current
from engine.shopify.errors import AccessRevokedError, OAuthError
from engine.shopify.http import admin_app_url
from engine.shopify.oauth import (
    STATE_TTL_SECONDS,
    begin_install,
    clean_shop_domain,
    exchange_code,
    verify_callback,
)
from engine.shops.install import record_install, shop_by_domain
from engine.shops.models import Shop
from engine.shops.tokens import TokenGrant, access_token_for
from plugin.admin.access import admin_viewer, token_shop_domain
from plugin.admin.pages import render_home
from plugin.admin.screens import page_response
from plugin.errors import ApiError
from plugin.install import bp
from plugin.shopify_request import as_flask_response, as_shopify_request

logger = logging.getLogger(__name__)

from plugin.admin.access import PATCH_ID_TOKEN_PATH  # noqa: E402

STATE_COOKIE = "revisit_oauth_state"


@bp.get("/")
def app_home() -> Response:
    runtime = current()
    verified = runtime.shopify.verify_app_home_req(
        as_shopify_request(), app_home_patch_id_token_path=PATCH_ID_TOKEN_PATH
    )
    if not verified.ok:
        return as_flask_response(verified)

    claims = verified.id_token.claims
    token_shop_domain(claims)
    shop = _installed_shop(verified)
    if not isinstance(shop, Shop):
        return shop

    # The app home is the panel's first page inside the store admin.
    viewer = admin_viewer(shop, claims)
    g.viewer = viewer
    g.admin_response_headers = dict(verified.response.headers)
    return page_response(render_home(viewer), viewer)


@bp.get(PATCH_ID_TOKEN_PATH)
def patch_id_token() -> Response:
    return as_flask_response(
        current().shopify.app_home_patch_id_token(as_shopify_request())
    )


@bp.get("/auth")
def begin_grant() -> Response:
    shop_domain = _clean_shop(request.args.get("shop"))
    url, state = begin_install(
        shop_domain, url_for("install.finish_grant", _external=True)
    )
    response = redirect(url)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_TTL_SECONDS,
        httponly=True,
        secure=not current().settings.demo,
        samesite="Lax",
        path="/auth",
    )
    return response


@bp.get("/auth/callback")
def finish_grant() -> Response:
    try:
        shop_domain = verify_callback(request.args, request.cookies.get(STATE_COOKIE))
        grant = exchange_code(shop_domain, request.args.get("code", ""))
    except OAuthError as exc:
        logger.warning(
            "install.callback_refused",
            extra={"code": exc.code, "shop_domain": exc.shop_domain},
        )
        raise ApiError(
            400 if exc.code != "invalid_hmac" else 401, exc.code, str(exc)
        ) from None

    record_install(shop_domain, grant)
    db.session.commit()
    # Straight into the app inside the store admin, where App Bridge hands
    # the page a session token: the grant itself proves nothing to a browser.
    response = redirect(admin_app_url(current().settings, shop_domain))
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response


def _installed_shop(verified: object) -> Shop | Response:
    """The verified shop with a usable token, exchanging the id token if needed."""
    runtime = current()
    shop_domain = f"{verified.shop}.myshopify.com"
    shop = shop_by_domain(shop_domain)

    if shop is not None and shop.is_installed:
        try:
            access_token_for(shop)
            return shop
        except AccessRevokedError:
            logger.info("install.token_unusable", extra={"shop_id": shop.id})

    exchanged = runtime.shopify.exchange_using_token_exchange(
        access_mode="offline",
        id_token=verified.id_token,
        invalid_token_response=verified.invalid_token_response,
        expiring=True,
        http_client=runtime.http,
    )
    if not exchanged.ok:
        return as_flask_response(exchanged)

    shop = record_install(
        shop_domain, TokenGrant.from_shopify_app(exchanged.access_token)
    )
    db.session.commit()
    return shop


def _clean_shop(value: str | None) -> str:
    try:
        return clean_shop_domain(value)
    except OAuthError as exc:
        raise ApiError(400, exc.code, str(exc)) from None
