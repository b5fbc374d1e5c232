"""The authorization-code grant, for installs that start outside the admin.

Embedded installs use token exchange instead (see ``plugin.install``). Here
ShopifyAPI builds the grant URL, checks the callback's HMAC and cleans the
shop domain; the code is then exchanged for an *expiring* offline token by
our own call, because ShopifyAPI's ``request_token`` asks only for
non-expiring tokens, which the platform stops accepting in 2027.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping

import httpx
import shopify
from shopify.utils.shop_url import sanitize_shop_domain

from engine.db import utcnow
from engine.runtime import current
from engine.shopify.errors import (
    CodeExchangeError,
    InvalidHmacError,
    InvalidShopDomainError,
    InvalidStateError,
    StaleRequestError,
)
from engine.shopify.http import platform_url
from engine.shops.tokens import TokenGrant

logger = logging.getLogger(__name__)

STATE_TTL_SECONDS = 600
_STATE_KEY = "revisit:oauth-state:{state}"


def clean_shop_domain(value: object) -> str:
    """Return the shop's ``*.myshopify.com`` domain, or refuse the value.

    Only a bare myshopify subdomain passes: ``evil.com`` and
    ``x.myshopify.com.evil.com`` are refused, so we never send a merchant,
    a code or our secret to a host the platform does not own.
    """
    try:
        domain = sanitize_shop_domain(value) if isinstance(value, str) else None
    except ValueError:
        # It parses the value as a URL: "[" is an "Invalid IPv6 URL".
        domain = None
    if not domain or domain != str(value).strip().lower():
        raise InvalidShopDomainError(
            f"Parameter 'shop' must be a *.myshopify.com domain, got {value!r}."
        )
    return domain


def begin_install(shop_domain: str, redirect_uri: str) -> tuple[str, str]:
    """Start a grant: remember a single-use state and return (grant URL, state)."""
    runtime = current()
    state = secrets.token_urlsafe(32)
    runtime.redis.set(_STATE_KEY.format(state=state), shop_domain, ex=STATE_TTL_SECONDS)

    session = _session_class()(shop_domain, runtime.settings.shopify_api_version)
    url = session.create_permission_url(
        scope=runtime.settings.shopify_scopes.split(","),
        redirect_uri=redirect_uri,
        state=state,
    )
    path = url.split(shop_domain, 1)[1]
    return platform_url(runtime.settings, shop_domain, path), state


def verify_callback(params: Mapping[str, str], browser_state: str | None) -> str:
    """Check a grant callback's shop, HMAC, timestamp and state; return the shop.

    The state is consumed here, so a replayed callback fails.
    """
    shop_domain = clean_shop_domain(params.get("shop"))

    if not _session_class().validate_hmac(dict(params)):
        raise InvalidHmacError(
            "The callback's 'hmac' does not match its parameters.",
            shop_domain=shop_domain,
        )
    _check_timestamp(params.get("timestamp"), shop_domain)
    _consume_state(params.get("state"), browser_state, shop_domain)
    return shop_domain


def exchange_code(shop_domain: str, code: str) -> TokenGrant:
    """Trade the grant's code for an expiring offline token."""
    runtime = current()
    settings = runtime.settings
    try:
        response = runtime.http.post(
            f"https://{shop_domain}/admin/oauth/access_token",
            json={
                "client_id": settings.shopify_api_key,
                "client_secret": settings.shopify_api_secret,
                "code": code,
                "expiring": 1,
            },
        )
    except httpx.TransportError as exc:
        raise CodeExchangeError(
            "The platform could not be reached to finish the install; try again.",
            shop_domain=shop_domain,
        ) from exc

    if response.status_code != 200:
        logger.warning(
            "shopify.oauth.code_refused",
            extra={"shop_domain": shop_domain, "status": response.status_code},
        )
        raise CodeExchangeError(
            f"The platform refused the install code (HTTP {response.status_code}).",
            shop_domain=shop_domain,
        )
    return TokenGrant.from_token_response(response.json(), utcnow())


def _check_timestamp(value: str | None, shop_domain: str) -> None:
    tolerance = current().settings.oauth_timestamp_tolerance
    try:
        age = time.time() - int(value or "")
    except ValueError:
        raise StaleRequestError(
            "Parameter 'timestamp' is missing or not a number.",
            shop_domain=shop_domain,
        ) from None
    if abs(age) > tolerance:
        raise StaleRequestError(
            f"Parameter 'timestamp' is {int(age)} s off; at most {tolerance} s"
            " is accepted. Start the install again.",
            shop_domain=shop_domain,
        )


def _consume_state(state: str | None, browser_state: str | None, shop: str) -> None:
    # The state must come back to the browser that started the grant (its
    # cookie) and must still be on record for this shop (single use).
    if (
        not state
        or not browser_state
        or not secrets.compare_digest(state, browser_state)
    ):
        raise InvalidStateError(
            "Parameter 'state' does not match this browser's install; start the"
            " install again.",
            shop_domain=shop,
        )
    recorded = current().redis.getdel(_STATE_KEY.format(state=state))
    if recorded is None or recorded.decode() != shop:
        raise InvalidStateError(
            "Parameter 'state' was already used, has expired or names another"
            " shop; start the install again.",
            shop_domain=shop,
        )


def _session_class() -> type[shopify.Session]:
    """ShopifyAPI's Session configured for this app, without global state.

    ``Session.setup`` sets class attributes on the library's own class; a
    subclass holds ours, so two apps in one process (tests) never mix keys.
    """
    settings = current().settings
    return type(
        "RevisitSession",
        (shopify.Session,),
        {"api_key": settings.shopify_api_key, "secret": settings.shopify_api_secret},
    )
