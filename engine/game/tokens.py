"""Collect tokens: the server's own record of a page view on a target page.

Tracked page views reach the database only after the event buffer and the
drain (a second or more later, and possibly never if a process dies), so a
collect cannot ask ``visitor_events`` whether the page view happened.
Instead the page endpoint's answer carries a token, signed with the app's
``SECRET_KEY`` (``URLSafeSerializer``, salt ``revisit.game.collect.v1``),
over the shop, the visitor, the campaign and target, the page view's event
id, the server's time of the page view in milliseconds and a random nonce.

A collect then checks the signature, that the token names this shop and
this visitor, and that the server's clock has moved on by the campaign's
minimum time since the stamped page view: the shopper's device never says
how long they stayed. The nonce is stored with the collect, which makes the
token single-use (and each target once per visitor anyway). A token is good
for ``MAX_AGE`` after its page view.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from itsdangerous import BadData, URLSafeSerializer

from engine.game.errors import InvalidCollectToken

SALT = "revisit.game.collect.v1"
MAX_AGE = timedelta(hours=12)
# Longer than any token we issue (about 200 characters); refused unread.
MAX_TOKEN_LENGTH = 400
NONCE_BYTES = 12


@dataclass(frozen=True)
class CollectTicket:
    """What a verified collect token says."""

    shop_id: int
    public_id: str
    campaign_id: int
    target_id: int
    page_event_id: str
    viewed_at: datetime
    nonce: str


def issue_collect_token(
    secret_key: str,
    shop_id: int,
    public_id: str,
    campaign_id: int,
    target_id: int,
    page_event_id: str,
    viewed_at: datetime,
) -> str:
    """Sign a ticket for one page view of one target, stamped ``viewed_at``."""
    payload = {
        "s": shop_id,
        "v": public_id,
        "c": campaign_id,
        "t": target_id,
        "e": page_event_id,
        "at": int(viewed_at.timestamp() * 1000),
        "n": secrets.token_urlsafe(NONCE_BYTES),
    }
    return _serializer(secret_key).dumps(payload)


def read_collect_token(
    secret_key: str, shop_id: int, public_id: str, token: str
) -> CollectTicket:
    """The ticket a token carries, if it was issued to this visitor of this shop.

    Raises:
        InvalidCollectToken: forged, altered, another shop's or visitor's.
    """
    # Tokens we issue are URL-safe ASCII; itsdangerous raises on a lone
    # surrogate (it cannot encode one) instead of refusing it.
    readable = len(token) <= MAX_TOKEN_LENGTH and token.isascii()
    ticket = _decode(secret_key, token) if readable else None
    if ticket is None or ticket.shop_id != shop_id or ticket.public_id != public_id:
        raise InvalidCollectToken(shop_id)
    return ticket


@lru_cache(maxsize=8)
def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def _decode(secret_key: str, token: str) -> CollectTicket | None:
    try:
        payload = _serializer(secret_key).loads(token)
    except BadData:
        return None
    if not isinstance(payload, dict):
        return None
    try:
        return CollectTicket(
            shop_id=_integer(payload["s"]),
            public_id=_text(payload["v"]),
            campaign_id=_integer(payload["c"]),
            target_id=_integer(payload["t"]),
            page_event_id=_text(payload["e"]),
            viewed_at=datetime.fromtimestamp(_integer(payload["at"]) / 1000, UTC),
            nonce=_text(payload["n"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _integer(value: object) -> int:
    if type(value) is not int:
        raise TypeError(value)
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise TypeError(value)
    return value
