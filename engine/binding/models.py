"""A visitor's link to one messaging account (LINE userId or Messenger PSID)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db, utcnow

LINE = "line"
MESSENGER = "messenger"
CHANNELS = (LINE, MESSENGER)


class ChannelBinding(db.Model):
    """One visitor bound to one account on one channel.

    A person who binds on two devices has two visitors bound to the same
    ``external_id``; anything said of the account (unfollowed, snoozed,
    unsubscribed) is written to every binding that shares it.
    """

    __tablename__ = "channel_bindings"
    __table_args__ = (
        UniqueConstraint("shop_id", "visitor_id", "channel"),
        Index("ix_channel_bindings_shop_account", "shop_id", "channel", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(16))
    # LINE userId or Messenger page-scoped id (PSID).
    external_id: Mapped[str] = mapped_column(String(128))
    # False once LINE reports an unfollow or Messenger says the person
    # cannot be reached; a follow again sets it back.
    reachable: Mapped[bool] = mapped_column(default=True)
    # The shopper's last message to us: Messenger allows promotional
    # messages only within 24 hours of it.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    def can_receive(self, now: datetime) -> bool:
        """True when reminders may go to this account at ``now``."""
        if not self.reachable or self.unsubscribed_at is not None:
            return False
        return self.snoozed_until is None or self.snoozed_until <= now

    def __repr__(self) -> str:
        return f"<ChannelBinding {self.id} {self.channel}:{self.external_id}>"
