"""A shop's chat channel accounts, and the sandbox channel's outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import EncryptedText, UTCDateTime, db, utcnow

CHANNEL_NAMES = ("line", "messenger")


class ChannelAccount(db.Model):
    """A shop's LINE Official Account or Facebook Page, with its secrets.

    One row per shop and channel; only the columns of its own channel are
    set. Secrets are encrypted at rest like the shop's tokens.
    ``quota_exhausted_until`` is set when LINE reports the monthly quota used
    up; sends to LINE for the shop wait until then.
    """

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("shop_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)

    line_channel_id: Mapped[str | None] = mapped_column(String(32))
    line_channel_secret: Mapped[str | None] = mapped_column(EncryptedText(512))
    line_channel_access_token: Mapped[str | None] = mapped_column(EncryptedText(1024))
    # The LINE Login channel linked to the same Official Account (same
    # provider), which binding uses; its secret also signs its ID tokens.
    line_login_channel_id: Mapped[str | None] = mapped_column(String(32))
    line_login_channel_secret: Mapped[str | None] = mapped_column(EncryptedText(512))
    # The account's basic ID ("@revisit"), for links that open its chat.
    line_basic_id: Mapped[str | None] = mapped_column(String(32))
    # Names the shop in its LINE webhook URL (/webhooks/line/<key>); not a
    # secret: the signature is checked with the channel secret.
    line_webhook_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    messenger_page_id: Mapped[str | None] = mapped_column(String(32))
    messenger_page_access_token: Mapped[str | None] = mapped_column(EncryptedText(1024))

    quota_exhausted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The merchant's own LINE userId or PSID on this channel: where "send a
    # test to me" goes. Without one, tests land in the sandbox outbox.
    test_recipient_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    def quota_paused(self, now: datetime | None = None) -> bool:
        """True while LINE's monthly quota is known to be used up."""
        until = self.quota_exhausted_until
        return until is not None and until > (now or utcnow())

    def __repr__(self) -> str:
        return f"<ChannelAccount {self.id} shop={self.shop_id} {self.channel}>"


class SandboxMessage(db.Model):
    """One message the sandbox channel "sent", as ``rendered_for`` would get it.

    ``payload`` is the list of platform message objects; ``retry_key`` is
    unique per shop, so a retried send is recorded once.
    """

    __tablename__ = "sandbox_outbox"
    __table_args__ = (UniqueConstraint("shop_id", "retry_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    recipient_id: Mapped[str] = mapped_column(String(255))
    rendered_for: Mapped[str] = mapped_column(String(16))
    retry_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpeningHours(db.Model):
    """When the shop answers chats, in its time zone (one row per shop).

    ``weekly`` holds seven lists, Monday first, of ``["09:00", "18:00"]``
    intervals; an empty list is a closed day.
    """

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), unique=True
    )
    weekly: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )
