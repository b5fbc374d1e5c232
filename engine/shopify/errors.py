"""Errors from talking to the store platform.

``PlatformError`` is the root. Callers catch ``AccessRevokedError`` to stop
work for a shop that is gone, and ``OAuthError`` to refuse an install request.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Something went wrong between us and the store platform."""

    def __init__(self, message: str, *, shop_domain: str | None = None) -> None:
        super().__init__(message)
        self.shop_domain = shop_domain


class AccessRevokedError(PlatformError):
    """The shop uninstalled the app or its tokens can no longer be used."""


class TokenRefreshError(PlatformError):
    """Refreshing an expiring access token failed; a retry may succeed."""


class AdminApiError(PlatformError):
    """An Admin API call failed after its retries, or returned GraphQL errors."""

    def __init__(
        self,
        message: str,
        *,
        shop_domain: str | None = None,
        status: int | None = None,
        errors: list | None = None,
    ) -> None:
        super().__init__(message, shop_domain=shop_domain)
        self.status = status
        self.errors = errors or []


class OutcomeUnknownError(AdminApiError):
    """A mutation sent once that may or may not have run (timeout, 5xx).

    Raised only for calls that must not be repeated blindly; the caller
    looks at the platform's records to learn what happened.
    """


class OAuthError(PlatformError):
    """An install request or callback that must be refused.

    ``code`` is the stable machine-readable reason shown to the caller.
    """

    code = "oauth_invalid"


class InvalidShopDomainError(OAuthError):
    code = "invalid_shop_domain"


class InvalidHmacError(OAuthError):
    code = "invalid_hmac"


class InvalidStateError(OAuthError):
    code = "invalid_state"


class StaleRequestError(OAuthError):
    code = "stale_request"


class CodeExchangeError(OAuthError):
    code = "code_exchange_failed"
