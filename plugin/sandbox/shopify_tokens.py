"""Authorization codes, access tokens and refresh tokens of the fake platform.

The rules mirror Shopify's documented token contract (shopify.dev, "Offline
access tokens", "Expiring offline access tokens", "Token exchange"): codes are
single-use, expiring offline tokens live an hour with a 90-day refresh token
that rotates on use, and non-expiring offline tokens are handed out again on
re-authorization. The ledger is not thread-safe: the platform holds its lock.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

logger = logging.getLogger(__name__)

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_REFRESH_TOKEN = "refresh_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"

CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
ONLINE_TOKEN_LIFETIME = timedelta(days=1)
SESSION_TOKEN_LEEWAY = timedelta(seconds=10)


class TokenRequestError(Exception):
    """A token request the platform refuses, with the OAuth error it answers."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class AuthorizationCode:
    code: str
    shop_domain: str
    scope: str
    online: bool
    user_id: int
    issued_at: datetime
    used: bool = False


@dataclass
class AccessToken:
    """One issued access token, with the refresh token that came with it."""

    access_token: str
    shop_domain: str
    scope: str
    issued_at: datetime
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    refresh_used: bool = False
    user_id: int | None = None
    revoked: bool = False

    def is_usable(self, now: datetime) -> bool:
        if self.revoked:
            return False
        return self.expires_at is None or now < self.expires_at

    def response(self, now: datetime) -> dict[str, Any]:
        """The JSON body Shopify answers for this token."""
        body: dict[str, Any] = {"access_token": self.access_token, "scope": self.scope}
        if self.expires_at is not None:
            body["expires_in"] = _seconds_until(self.expires_at, now)
        if self.refresh_token is not None and self.refresh_expires_at is not None:
            body["refresh_token"] = self.refresh_token
            body["refresh_token_expires_in"] = _seconds_until(
                self.refresh_expires_at, now
            )
        if self.user_id is not None:
            body["associated_user_scope"] = self.scope
            body["associated_user"] = _associated_user(self.user_id)
        return body


class TokenLedger:
    """Issues, rotates, checks and revokes the tokens of every shop."""

    def __init__(
        self, api_key: str, api_secret: str, rotated_token_grace: timedelta
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.rotated_token_grace = rotated_token_grace
        self._codes: dict[str, AuthorizationCode] = {}
        self._by_access: dict[str, AccessToken] = {}
        self._by_refresh: dict[str, AccessToken] = {}
        # Shopify hands the same non-expiring offline token out again when a
        # merchant re-authorizes, until the app is uninstalled.
        self._permanent: dict[str, AccessToken] = {}

    def issue_code(
        self, shop_domain: str, scope: str, online: bool, user_id: int, now: datetime
    ) -> str:
        code = secrets.token_hex(16)
        self._codes[code] = AuthorizationCode(
            code, shop_domain, scope, online, user_id, issued_at=now
        )
        return code

    def check_client(self, params: dict[str, str]) -> None:
        """Refuse the request unless it carries this app's client credentials."""
        client_id = params.get("client_id", "")
        client_secret = params.get("client_secret", "")
        if client_id == self.api_key and secrets.compare_digest(
            client_secret.encode(), self.api_secret.encode()
        ):
            return
        raise TokenRequestError(
            401,
            "invalid_client",
            "Client authentication failed: unknown client_id or wrong client_secret.",
        )

    def redeem_code(
        self, params: dict[str, str], shop_domain: str, now: datetime
    ) -> AccessToken:
        """Trade a single-use authorization code for an access token."""
        grant = self._codes.get(params.get("code", ""))
        if (
            grant is None
            or grant.used
            or grant.shop_domain != shop_domain
            or now - grant.issued_at > CODE_LIFETIME
        ):
            raise TokenRequestError(
                400,
                "invalid_request",
                "The authorization code was not found or was already used.",
            )

        grant.used = True
        if grant.online:
            return self._issue_online(shop_domain, grant.scope, grant.user_id, now)
        return self.issue_offline(
            shop_domain, grant.scope, _is_truthy(params.get("expiring")), now
        )

    def exchange_session_token(
        self, params: dict[str, str], shop_domain: str, scope: str, now: datetime
    ) -> AccessToken:
        """Trade an App Bridge session token for an offline or online token."""
        if params.get("subject_token_type") != ID_TOKEN_TYPE:
            raise TokenRequestError(
                400, "invalid_request", f"subject_token_type must be {ID_TOKEN_TYPE}."
            )

        claims = self.verify_session_token(
            params.get("subject_token", ""), shop_domain, now
        )

        requested = params.get("requested_token_type", OFFLINE_TOKEN_TYPE)
        if requested == ONLINE_TOKEN_TYPE:
            return self._issue_online(shop_domain, scope, int(claims["sub"]), now)
        if requested != OFFLINE_TOKEN_TYPE:
            raise TokenRequestError(
                400, "invalid_request", f"Unknown requested_token_type {requested!r}."
            )
        return self.issue_offline(
            shop_domain, scope, _is_truthy(params.get("expiring")), now
        )

    def refresh(
        self, params: dict[str, str], shop_domain: str, now: datetime
    ) -> AccessToken:
        """Rotate a refresh token: a new pair, and the old refresh token dies."""
        previous = self._by_refresh.get(params.get("refresh_token", ""))
        if (
            previous is None
            or previous.refresh_used
            or previous.revoked
            or previous.shop_domain != shop_domain
            or previous.refresh_expires_at is None
            or now >= previous.refresh_expires_at
        ):
            raise TokenRequestError(
                400, "invalid_grant", "The refresh token is invalid or expired."
            )

        previous.refresh_used = True
        # Requests already in flight with the old access token still succeed for
        # a short grace period instead of failing the moment we rotate.
        cutoff = now + self.rotated_token_grace
        if previous.expires_at is None or previous.expires_at > cutoff:
            previous.expires_at = cutoff

        rotated = self.issue_offline(shop_domain, previous.scope, True, now)
        logger.info(
            "sandbox.shopify.token_refreshed", extra={"shop_domain": shop_domain}
        )
        return rotated

    def find(
        self, access_token: str, shop_domain: str, now: datetime
    ) -> AccessToken | None:
        """The usable token record for a request header, or ``None``."""
        record = self._by_access.get(access_token)
        if record is None or record.shop_domain != shop_domain:
            return None
        return record if record.is_usable(now) else None

    def revoke_shop(self, shop_domain: str) -> int:
        """Revoke every token and pending code of a shop; returns tokens revoked."""
        revoked = 0
        for record in self._by_access.values():
            if record.shop_domain == shop_domain and not record.revoked:
                record.revoked = True
                revoked += 1
        for grant in self._codes.values():
            if grant.shop_domain == shop_domain:
                grant.used = True
        self._permanent.pop(shop_domain, None)
        return revoked

    def session_token(
        self,
        shop_domain: str,
        user_id: int,
        exp_in: int,
        now: datetime,
        **overrides: Any,
    ) -> str:
        """Sign a session token as App Bridge would; ``None`` overrides drop a claim."""
        issued_at = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": f"https://{shop_domain}/admin",
            "dest": f"https://{shop_domain}",
            "aud": self.api_key,
            "sub": str(user_id),
            "exp": issued_at + exp_in,
            "nbf": issued_at,
            "iat": issued_at,
            "jti": str(uuid.uuid4()),
            "sid": secrets.token_hex(16),
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.api_secret, algorithm="HS256")

    def verify_session_token(
        self, token: str, shop_domain: str, now: datetime
    ) -> dict[str, Any]:
        """Check a session token the way shopify.dev tells apps to."""
        try:
            # Time claims are checked below against the platform's clock, which
            # tests may move; PyJWT would use the wall clock.
            claims = jwt.decode(
                token,
                self.api_secret,
                algorithms=["HS256"],
                audience=self.api_key,
                options={
                    "require": ["iss", "dest", "aud", "sub", "exp", "nbf"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise _invalid_subject_token(f"{type(exc).__name__}: {exc}") from None

        moment = now.timestamp()
        leeway = SESSION_TOKEN_LEEWAY.total_seconds()
        if claims["exp"] <= moment - leeway:
            raise _invalid_subject_token("The session token has expired.")
        if claims["nbf"] > moment + leeway:
            raise _invalid_subject_token("The session token is not valid yet.")
        if claims["dest"] != f"https://{shop_domain}":
            raise _invalid_subject_token("The session token is for another shop.")
        return claims

    def issue_offline(
        self, shop_domain: str, scope: str, expiring: bool, now: datetime
    ) -> AccessToken:
        """An offline token: expiring with a refresh token, or the permanent one."""
        if not expiring:
            return self._permanent_token(shop_domain, scope, now)

        record = AccessToken(
            access_token=_new_token("shpat_"),
            shop_domain=shop_domain,
            scope=scope,
            issued_at=now,
            expires_at=now + ACCESS_TOKEN_LIFETIME,
            # Shopify does not document a refresh-token prefix; this one is ours.
            refresh_token=_new_token("shprt_"),
            refresh_expires_at=now + REFRESH_TOKEN_LIFETIME,
        )
        self._remember(record)
        return record

    def _permanent_token(
        self, shop_domain: str, scope: str, now: datetime
    ) -> AccessToken:
        record = self._permanent.get(shop_domain)
        if record is not None and record.is_usable(now):
            record.scope = scope
            return record

        record = AccessToken(_new_token("shpat_"), shop_domain, scope, issued_at=now)
        self._permanent[shop_domain] = record
        self._remember(record)
        return record

    def _issue_online(
        self, shop_domain: str, scope: str, user_id: int, now: datetime
    ) -> AccessToken:
        record = AccessToken(
            access_token=_new_token("shpua_"),
            shop_domain=shop_domain,
            scope=scope,
            issued_at=now,
            expires_at=now + ONLINE_TOKEN_LIFETIME,
            user_id=user_id,
        )
        self._remember(record)
        return record

    def _remember(self, record: AccessToken) -> None:
        self._by_access[record.access_token] = record
        if record.refresh_token is not None:
            self._by_refresh[record.refresh_token] = record


def _invalid_subject_token(description: str) -> TokenRequestError:
    return TokenRequestError(400, "invalid_subject_token", description)


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))


def _is_truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true"}


def _associated_user(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "first_name": "Sandbox",
        "last_name": f"Staff {user_id}",
        "email": f"staff{user_id}@example.com",
        "email_verified": True,
        "account_owner": user_id == 1,
        "locale": "en",
        "collaborator": False,
    }


def query_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's query-string HMAC: sorted ``k=v`` pairs joined by ``&``, hex.

    ``hmac`` and ``signature`` are left out; ``%``, ``&`` (and ``=`` in keys) are
    escaped first, as the ShopifyAPI library does before comparing.
    """
    pairs = sorted(
        (_escape_key(key), _escape_value(value))
        for key, value in params.items()
        if key not in ("hmac", "signature")
    )
    message = "&".join(f"{key}={value}" for key, value in pairs)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _escape_value(value: str) -> str:
    return str(value).replace("%", "%25").replace("&", "%26")


def _escape_key(key: str) -> str:
    return _escape_value(key).replace("=", "%3D")
