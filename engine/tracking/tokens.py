"""Visitor tokens: the signed first-party id the widget keeps for a visitor.

A token is ``URLSafeSerializer(SECRET_KEY, salt="revisit.visitor.v1")`` over
``{"s": shop_id, "v": public_id}``. It proves only that this server issued the
id for that shop; it names no person. Verified tokens are memoized per process,
since the same visitor sends the same token with every page view and beacon.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadData, URLSafeSerializer

from engine.tracking.errors import InvalidVisitorToken

SALT = "revisit.visitor.v1"
# 16 random bytes: 22 url-safe characters.
PUBLIC_ID_BYTES = 16
PUBLIC_ID_LENGTH = 22
# Longer than any token we issue (about 70 characters); refused unread.
MAX_TOKEN_LENGTH = 200

logger = logging.getLogger(__name__)


def new_public_id() -> str:
    """A fresh random visitor id (22 url-safe characters)."""
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def issue_token(secret_key: str, shop_id: int, public_id: str) -> str:
    """Sign a visitor id for one shop."""
    return _serializer(secret_key).dumps({"s": shop_id, "v": public_id})


def read_token(secret_key: str, shop_id: int, token: str) -> str:
    """Return the visitor id a token carries for ``shop_id``.

    Raises:
        InvalidVisitorToken: the token was not issued by us for this shop.
    """
    # Tokens we issue are short URL-safe ASCII; itsdangerous raises on a lone
    # surrogate (it cannot encode one) instead of refusing it.
    readable = len(token) <= MAX_TOKEN_LENGTH and token.isascii()
    decoded = _decode(secret_key, token) if readable else None
    if decoded is None or decoded[0] != shop_id:
        raise InvalidVisitorToken(shop_id)
    return decoded[1]


@lru_cache(maxsize=8)
def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


@lru_cache(maxsize=65536)
def _decode(secret_key: str, token: str) -> tuple[int, str] | None:
    """(shop id, visitor id) of a token that verifies, else None (memoized)."""
    try:
        payload = _serializer(secret_key).loads(token)
    except BadData:
        return None
    if not isinstance(payload, dict):
        return None
    shop_id, public_id = payload.get("s"), payload.get("v")
    if type(shop_id) is not int or not isinstance(public_id, str):
        return None
    if len(public_id) != PUBLIC_ID_LENGTH:
        return None
    return shop_id, public_id


@dataclass(frozen=True)
class Identity:
    """Who sent a page view: a verified visitor, or a new one just issued."""

    public_id: str
    token: str
    known: bool


def identify(secret_key: str, shop_id: int, token: str | None) -> Identity:
    """The visitor behind ``token``, or a new visitor if it does not verify."""
    if token:
        try:
            return Identity(read_token(secret_key, shop_id, token), token, True)
        except InvalidVisitorToken:
            # Another shop's token, a forged one, or one signed before the
            # secret changed: this browser starts over as a new visitor.
            logger.debug("tracking.visitor_token_replaced", extra={"shop_id": shop_id})
    public_id = new_public_id()
    return Identity(public_id, issue_token(secret_key, shop_id, public_id), False)
