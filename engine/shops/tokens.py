"""Admin API access tokens: storing grants and refreshing expiring ones.

Offline tokens expire after an hour and come with a refresh token that the
platform rotates on every use. Two processes refreshing at once would burn
the same refresh token and lock the shop out, so refreshes run one at a time
per shop under a Redis lock, and each re-reads the shop before refreshing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.db import db
from engine.runtime import current
from engine.shopify.errors import AccessRevokedError, TokenRefreshError
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

TOKEN_FIELDS = (
    "access_token",
    "access_token_expires_at",
    "refresh_token",
    "refresh_token_expires_at",
    "scopes",
)


@dataclass(frozen=True)
class TokenGrant:
    """An offline access token as the platform granted it."""

    access_token: str
    scopes: str | None = None
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None

    @classmethod
    def from_token_response(cls, body: dict, now: datetime) -> TokenGrant:
        """Read the platform's ``/admin/oauth/access_token`` JSON answer."""
        return cls(
            access_token=body["access_token"],
            scopes=body.get("scope"),
            expires_at=_after(now, body.get("expires_in")),
            refresh_token=body.get("refresh_token"),
            refresh_token_expires_at=_after(now, body.get("refresh_token_expires_in")),
        )

    @classmethod
    def from_shopify_app(cls, token: object) -> TokenGrant:
        """Read shopifyapp's ``TokenExchangeAccessToken`` (ISO 8601 expiries)."""
        return cls(
            access_token=token.token,
            scopes=token.scope,
            expires_at=_parse_iso(token.expires),
            refresh_token=token.refresh_token,
            refresh_token_expires_at=_parse_iso(token.refresh_token_expires),
        )


def store_grant(shop: Shop, grant: TokenGrant) -> None:
    shop.access_token = grant.access_token
    shop.access_token_expires_at = grant.expires_at
    shop.refresh_token = grant.refresh_token
    shop.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scopes is not None:
        shop.scopes = grant.scopes


def _after(now: datetime, seconds: object) -> datetime | None:
    if seconds in (None, ""):
        return None
    return now + timedelta(seconds=int(seconds))


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def access_token_for(shop: Shop) -> str:
    """Return a usable access token for the shop, refreshing it if due.

    Raises:
        AccessRevokedError: the shop uninstalled or its refresh token expired.
        TokenRefreshError: the platform refused or failed the refresh.
    """
    if shop.access_token_is_fresh():
        return shop.access_token

    with _refresh_lock(shop.id):
        values = _refresh_if_due(shop.id)

    # The refresh ran in its own transaction; show its result to the caller's
    # copy without marking it changed.
    for name, value in values.items():
        set_committed_value(shop, name, value)
    return shop.access_token


def forget_access_token(shop_id: int) -> None:
    """Drop a token the platform refused, so the next admin visit exchanges anew.

    Runs in its own transaction: the caller's work is failing and may roll
    back, but the token is no good either way.
    """
    with Session(db.engine) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            return
        shop.access_token = shop.refresh_token = None
        shop.access_token_expires_at = shop.refresh_token_expires_at = None
        session.commit()
    logger.warning("shops.token_refused", extra={"shop_id": shop_id})


def _refresh_if_due(shop_id: int) -> dict[str, object]:
    # A session of its own: a fresh transaction sees a refresh another process
    # committed while we waited for the lock.
    with Session(db.engine, expire_on_commit=False) as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            raise AccessRevokedError(
                "The shop has no access token; it must install the app again.",
                shop_domain=shop.shop_domain if shop else None,
            )

        if not shop.access_token_is_fresh():
            store_grant(shop, _refresh(shop))
            session.commit()
            logger.info("shops.token_refreshed", extra={"shop_id": shop.id})

        return {name: getattr(shop, name) for name in TOKEN_FIELDS}


def _refresh(shop: Shop) -> TokenGrant:
    if not shop.refresh_token:
        raise AccessRevokedError(
            "The shop's access token expired and it has no refresh token.",
            shop_domain=shop.shop_domain,
        )

    runtime = current()
    result = runtime.shopify.refresh_token_exchanged_access_token(
        {
            "shop": shop.shop_name,
            "refresh_token": shop.refresh_token,
            "expires": _iso(shop.access_token_expires_at),
            "refresh_token_expires": _iso(shop.refresh_token_expires_at),
            "access_mode": "offline",
        },
        http_client=runtime.http,
    )
    if result.ok and result.access_token is not None:
        return TokenGrant.from_shopify_app(result.access_token)

    logger.warning(
        "shops.token_refresh_failed",
        extra={"shop_id": shop.id, "code": result.log.code},
    )
    if result.log.code == "refresh_token_expired" or result.response.status == 401:
        raise AccessRevokedError(
            f"The platform refused to refresh the token ({result.log.code});"
            " the merchant must open the app again to re-authorize it.",
            shop_domain=shop.shop_domain,
        )
    raise TokenRefreshError(
        f"Refreshing the access token failed ({result.log.code}).",
        shop_domain=shop.shop_domain,
    )


@contextmanager
def _refresh_lock(shop_id: int) -> Iterator[None]:
    # Longer than the HTTP client's timeouts, so the lock outlives a slow call.
    lock = current().redis.lock(
        f"revisit:shop:{shop_id}:token-refresh", timeout=60, blocking_timeout=45
    )
    if not lock.acquire():
        raise TokenRefreshError("Timed out waiting for another token refresh.")
    try:
        yield
    finally:
        lock.release()


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def reencrypt_all_tokens() -> int:
    """Write every stored token again, so it is encrypted under the newest key."""
    from sqlalchemy import select
    from sqlalchemy.orm.attributes import flag_modified

    count = 0
    for shop in db.session.scalars(select(Shop)):
        for name in ("access_token", "refresh_token"):
            if getattr(shop, name) is not None:
                flag_modified(shop, name)
        count += 1
    db.session.commit()
    logger.info("shops.tokens_reencrypted", extra={"shops": count})
    return count
