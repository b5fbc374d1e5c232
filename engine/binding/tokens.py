"""The short-lived tokens a binding starts from, and their single use.

A shopper's press of a button becomes an ``Intent``: bind this visitor of
this shop, with this consent. It travels in one of four forms, each
expiring after ``LIFETIME`` and bound to one shop:

* LINE Login's ``state`` and an m.me ``ref``: signed (``itsdangerous``
  ``URLSafeTimedSerializer`` over ``SECRET_KEY``, one salt each), so they
  carry the intent themselves;
* a one-time code typed (pre-filled) into the LINE chat, and the nonce of
  LINE's account link: short random keys, so the intent is kept in Redis.

Each intent has a ``nonce``; ``claim`` records which account used it, so a
repeat by the same account (a webhook redelivered) is harmless and any
other use is refused as replayed. Records outlive the tokens by a day, so
a late use is told "expired" or "used" rather than "unknown".
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from engine.binding.errors import (
    EXPIRED,
    OTHER_SHOP,
    REPLAYED,
    TAMPERED,
    UNKNOWN,
    InvalidBindingToken,
)
from engine.runtime import current

LIFETIME = timedelta(minutes=10)
RECORD_SECONDS = 24 * 60 * 60
PREFIX = "revisit:binding:"

LOGIN_STATE = "LINE Login state"
MESSENGER_REF = "m.me ref"
LINE_CODE = "one-time code"
LINK_NONCE = "account-link nonce"
_SALTS = {
    LOGIN_STATE: "revisit.binding.line-state.v1",
    MESSENGER_REF: "revisit.binding.messenger-ref.v1",
}

# Codes avoid 0/O and 1/I, which look alike on a phone screen.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_PATTERN = re.compile(r"\bRV-([2-9A-HJ-NP-Z]{8})\b")
# Longer than anything we sign (about 120 characters); refused unread.
MAX_TOKEN_LENGTH = 250


@dataclass(frozen=True)
class Intent:
    """A visitor of a shop asking to be bound, with what they agreed to."""

    shop_id: int
    public_id: str
    marketing: bool
    nonce: str

    @classmethod
    def new(cls, shop_id: int, public_id: str, marketing: bool) -> Intent:
        return cls(shop_id, public_id, marketing, secrets.token_urlsafe(12))

    def as_dict(self) -> dict[str, object]:
        return {"s": self.shop_id, "v": self.public_id, "m": self.marketing}

    @classmethod
    def from_dict(cls, data: object, nonce: str | None = None) -> Intent | None:
        if not isinstance(data, dict):
            return None
        shop_id, public_id = data.get("s"), data.get("v")
        marketing, nonce = data.get("m"), nonce or data.get("n")
        if type(shop_id) is not int or not isinstance(public_id, str):
            return None
        if not isinstance(marketing, bool) or not isinstance(nonce, str):
            return None
        return cls(shop_id, public_id, marketing, nonce)


def sign(kind: str, intent: Intent) -> str:
    """The signed form of ``intent``: LINE Login's state or an m.me ref."""
    return _serializer(kind).dumps({**intent.as_dict(), "n": intent.nonce})


def verify(kind: str, token: str, shop_id: int) -> Intent:
    """The intent a signed token carries for ``shop_id``.

    Raises ``InvalidBindingToken``: tampered, expired or another shop's.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidBindingToken(kind, TAMPERED)
    try:
        data = _serializer(kind).loads(token, max_age=LIFETIME.total_seconds())
    except SignatureExpired:
        raise InvalidBindingToken(kind, EXPIRED) from None
    except BadData:
        raise InvalidBindingToken(kind, TAMPERED) from None
    intent = Intent.from_dict(data)
    if intent is None:
        raise InvalidBindingToken(kind, TAMPERED)
    if intent.shop_id != shop_id:
        raise InvalidBindingToken(kind, OTHER_SHOP)
    return intent


def issue_code(intent: Intent) -> str:
    """A one-time code ("RV-7K3Q9PXM") standing for ``intent``."""
    code = "RV-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    _keep(LINE_CODE, code, intent)
    return code


def find_code(text: str) -> str | None:
    """The one-time code in a chat message, if there is one."""
    match = CODE_PATTERN.search(text.upper())
    return f"RV-{match.group(1)}" if match else None


def issue_link_nonce(intent: Intent) -> str:
    """The nonce handed to LINE's account link, standing for ``intent``."""
    nonce = secrets.token_urlsafe(24)
    _keep(LINK_NONCE, nonce, intent)
    return nonce


def redeem(kind: str, key: str, shop_id: int) -> Intent:
    """The intent behind a code or nonce, for ``shop_id``.

    Raises ``InvalidBindingToken``: unknown, expired or another shop's.
    """
    raw = current().redis.get(_record_key(kind, key)) if key else None
    if raw is None:
        raise InvalidBindingToken(kind, UNKNOWN)
    record = json.loads(raw)
    intent = Intent.from_dict(record)
    if intent is None:
        raise InvalidBindingToken(kind, UNKNOWN)
    if intent.shop_id != shop_id:
        raise InvalidBindingToken(kind, OTHER_SHOP)
    if time.time() > record["exp"]:
        raise InvalidBindingToken(kind, EXPIRED)
    return intent


def claim(kind: str, intent: Intent, account: str) -> bool:
    """Mark ``intent`` used by ``account``; False if that account used it before.

    Raises ``InvalidBindingToken`` (replayed) when another account used it.
    """
    redis = current().redis
    key = f"{PREFIX}used:{intent.shop_id}:{intent.nonce}"
    if redis.set(key, account, nx=True, ex=RECORD_SECONDS):
        return True
    used_by = redis.get(key)
    if used_by is not None and used_by.decode() == account:
        return False
    raise InvalidBindingToken(kind, REPLAYED)


def _keep(kind: str, key: str, intent: Intent) -> None:
    expires = time.time() + LIFETIME.total_seconds()
    record = {**intent.as_dict(), "n": intent.nonce, "exp": expires}
    current().redis.set(_record_key(kind, key), json.dumps(record), ex=RECORD_SECONDS)


def _record_key(kind: str, key: str) -> str:
    return f"{PREFIX}{kind.replace(' ', '-')}:{key}"


def _serializer(kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current().settings.secret_key, salt=_SALTS[kind])
