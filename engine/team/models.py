"""A shop's team members and their sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Timestamps, UTCDateTime, db

OWNER = "owner"
AGENT = "agent"
ROLES = (OWNER, AGENT)


class TeamMember(Timestamps, db.Model):
    """One person of a shop's team.

    Owners change every setting; agents answer chats and read the results.
    ``display_name`` is what shoppers see when this member answers a chat.
    ``platform_user_id`` is the store platform's staff id (the session
    token's ``sub``) when the member also works inside the store admin, so a
    conversation taken there and here belongs to the same person.
    """

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("shop_id", "email"),
        Index("ix_team_members_shop_platform_user", "shop_id", "platform_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # Lower-cased, so sign-in ignores case.
    email: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16), default=AGENT)
    # An Argon2id hash in PHC form ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A deactivated member keeps their name on past conversations.
    active: Mapped[bool] = mapped_column(default=True)
    # Whether the member takes chats now; the no-reply timer hands
    # unanswered conversations only to members on shift.
    on_shift: Mapped[bool] = mapped_column(default=True, server_default=true())
    platform_user_id: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<TeamMember {self.id} shop={self.shop_id} {self.role}>"


class TeamSession(db.Model):
    """A signed-in browser: the cookie holds a random token, we keep its hash.

    ``csrf_token`` is sent back with every form and every changing API call
    made with this session. A session ends at ``expires_at`` at the latest,
    and earlier after ``IDLE_TIMEOUT`` without use.
    """

    __tablename__ = "team_sessions"
    __table_args__ = (Index("ix_team_sessions_member", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("team_members.id", ondelete="CASCADE")
    )
    # SHA-256 of the cookie's token, hex: a stolen table opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
