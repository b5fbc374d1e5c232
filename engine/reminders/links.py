"""Tracked links in reminders: signed tokens, counted clicks, tagged redirects.

Every button of a reminder opens ``{APP_URL}/r/<token>``; the token is the
shop and send ids signed with itsdangerous under the app's secret key, so it
cannot be forged or pointed at another shop's send. A click is counted on
the send and the shopper goes on to the recovered checkout with UTM tags.
Link previews fetched by messaging platforms are not counted as clicks.
Tokens stay good for ``LINK_MAX_AGE``; past it, or when broken, the shopper
gets a page that leads to the store's front page (the shop is read from the
token; a tampered one can only name another of our shops).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from itsdangerous import (
    BadData,
    BadSignature,
    SignatureExpired,
    URLSafeTimedSerializer,
)
from sqlalchemy import func, select, update

from engine.db import db
from engine.reminders import clock
from engine.reminders.models import ReminderSend
from engine.runtime import current
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

LINK_MAX_AGE = timedelta(days=30)
_SALT = "revisit.reminders.link"
# User agents of link-preview fetchers: they open links nobody tapped.
PREVIEW_AGENTS = ("facebookexternalhit", "facebot", "slackbot", "twitterbot")


@dataclass(frozen=True)
class LinkOutcome:
    """Where a followed link leads. ``valid`` is false for expired or broken
    tokens; ``url`` is then the store's front page when the shop is known."""

    valid: bool
    url: str | None
    expired: bool = False


def tracked_link(send: ReminderSend) -> str:
    """The address a reminder's buttons open for ``send``."""
    token = _serializer().dumps({"s": send.shop_id, "r": send.id})
    return f"{current().settings.app_url}/r/{token}"


def follow(token: str, user_agent: str | None = None) -> LinkOutcome:
    """Count a click on the token's send and say where to go. Commits."""
    serializer = _serializer()
    try:
        data = serializer.loads(token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except SignatureExpired as expired:
        # The signature is genuine, only old: its payload may be trusted.
        try:
            data = serializer.load_payload(expired.payload)
        except BadData:
            data = None
        return LinkOutcome(False, _store_of(data), expired=True)
    except BadSignature:
        # Unverified, so it only picks which of our shops' front pages to
        # offer: never a redirect anywhere else.
        _, data = serializer.loads_unsafe(token)
        return LinkOutcome(False, _store_of(data))

    send = _send_of(data)
    if send is None or not send.target_url:
        return LinkOutcome(False, _store_of(data))
    if not _is_preview(user_agent):
        record_click(send, clock.now())
    return LinkOutcome(True, with_campaign_tags(send.target_url, send))


def record_click(send: ReminderSend, at: datetime) -> None:
    """Count one click on ``send``, atomically, and commit."""
    db.session.execute(
        update(ReminderSend)
        .where(ReminderSend.id == send.id, ReminderSend.shop_id == send.shop_id)
        .values(
            clicks=ReminderSend.clicks + 1,
            first_clicked_at=func.coalesce(ReminderSend.first_clicked_at, at),
            last_clicked_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    logger.info(
        "reminders.link_clicked", extra={"shop_id": send.shop_id, "send_id": send.id}
    )


def with_campaign_tags(url: str, send: ReminderSend) -> str:
    """``url`` with UTM tags naming the reminder, keeping its own query."""
    parts = urlsplit(url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.startswith("utm_")
    ]
    query += [
        ("utm_source", "revisit"),
        ("utm_medium", send.channel or "chat"),
        ("utm_campaign", "cart_reminder"),
        ("utm_content", f"step_{send.position}"),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _send_of(data: object) -> ReminderSend | None:
    if not isinstance(data, dict):
        return None
    shop_id, send_id = data.get("s"), data.get("r")
    if not isinstance(shop_id, int) or not isinstance(send_id, int):
        return None
    return db.session.scalar(
        select(ReminderSend).where(
            ReminderSend.id == send_id, ReminderSend.shop_id == shop_id
        )
    )


def _store_of(data: object) -> str | None:
    """The store's front page named by a token's payload, if it names a shop."""
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        return None
    shop = db.session.get(Shop, data["s"])
    return f"https://{shop.shop_domain}/" if shop is not None else None


def _is_preview(user_agent: str | None) -> bool:
    agent = (user_agent or "").lower()
    return any(name in agent for name in PREVIEW_AGENTS)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current().settings.secret_key, salt=_SALT)
