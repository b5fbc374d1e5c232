"""Sign-in sessions of team members: opened at sign-in, found by cookie, ended.

The cookie carries a random token; only its SHA-256 is stored, with the
session's CSRF token. A session lasts ``IDLE_TIMEOUT`` from its last use and
never past ``MAX_AGE`` from sign-in. Signing out, a password change and
deactivation end sessions at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.team.models import TeamMember, TeamSession

logger = logging.getLogger(__name__)

IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)
# Writing last_seen_at on every request is wasted work; once a minute does.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class OpenedSession:
    """A new session and the token for the cookie (shown once, never stored)."""

    session: TeamSession
    token: str


@dataclass(frozen=True)
class FoundSession:
    """What a cookie's token leads to: a live session, or why there is none."""

    session: TeamSession | None
    member: TeamMember | None
    shop: Shop | None
    expired: bool = False


def open_session(member: TeamMember, now: datetime | None = None) -> OpenedSession:
    """Start a session for a member who just signed in; the caller commits."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session = TeamSession(
        shop_id=member.shop_id,
        member_id=member.id,
        token_hash=_digest(token),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + MAX_AGE,
    )
    db.session.add(session)
    db.session.flush()
    return OpenedSession(session, token)


def find_session(token: str | None, now: datetime | None = None) -> FoundSession:
    """The live session a cookie's token opens, touched; else why not.

    ``expired`` is true when the token named a session that timed out or
    whose member was deactivated (the row is then deleted), so the page can
    say so instead of a bare sign-in form. The caller commits.
    """
    if not token:
        return FoundSession(None, None, None)
    now = now or utcnow()
    row = db.session.execute(
        select(TeamSession, TeamMember, Shop)
        .join(TeamMember, TeamMember.id == TeamSession.member_id)
        .join(Shop, Shop.id == TeamSession.shop_id)
        .where(TeamSession.token_hash == _digest(token))
    ).one_or_none()
    if row is None:
        return FoundSession(None, None, None)

    session, member, shop = row
    idle_until = session.last_seen_at + IDLE_TIMEOUT
    if now >= min(idle_until, session.expires_at) or not _may_continue(member, shop):
        db.session.delete(session)
        logger.info(
            "team.session_expired",
            extra={"shop_id": shop.id, "member_id": member.id},
        )
        return FoundSession(None, None, None, expired=True)

    if now - session.last_seen_at >= _TOUCH_EVERY:
        session.last_seen_at = now
    return FoundSession(session, member, shop)


def end_session(token: str | None) -> None:
    """Sign a browser out; the caller commits."""
    if token:
        db.session.execute(
            delete(TeamSession).where(TeamSession.token_hash == _digest(token))
        )


def end_sessions_of(member: TeamMember) -> None:
    """End every session of a member; the caller commits."""
    db.session.execute(
        delete(TeamSession).where(
            TeamSession.shop_id == member.shop_id,
            TeamSession.member_id == member.id,
        )
    )


def csrf_matches(session: TeamSession, presented: str | None) -> bool:
    """True when ``presented`` is this session's CSRF token (constant time)."""
    return bool(presented) and secrets.compare_digest(
        session.csrf_token.encode(), str(presented).encode()
    )


def _may_continue(member: TeamMember, shop: Shop) -> bool:
    return member.active and shop.uninstalled_at is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
