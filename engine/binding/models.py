"""A visitor's link to one messaging account (LINE userId or Messenger PSID)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db, utcnow

LINE = "line"
MESSENGER = "messenger"
CHANNELS = (LINE, MESSENGER)

# How a binding was made: LINE Login, a one-time code sent to the LINE
# account (the desktop QR code), LINE's account link, an m.me link.
LINE_LOGIN = "line_login"
LINE_CODE = "line_code"
LINE_ACCOUNT_LINK = "line_account_link"
MESSENGER_REF = "messenger_ref"
WAYS = (LINE_LOGIN, LINE_CODE, LINE_ACCOUNT_LINK, MESSENGER_REF)


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
    # What the shopper agreed to when binding: cart reminders and offers
    # (True), or only to be recognised (False). ``ConsentRecord`` keeps the
    # history.
    marketing_consent: Mapped[bool] = mapped_column(default=True, server_default=true())
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_via: Mapped[str | None] = mapped_column(String(24))
    # The merchant's tag for shoppers the pop-up bound (``BindingPopup.tag``).
    tag: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    def can_receive(self, now: datetime) -> bool:
        """True when reminders may go to this account at ``now``."""
        if not self.reachable or self.unsubscribed_at is not None:
            return False
        # None: a binding not yet flushed, which gets the default (True).
        if self.marketing_consent is False:
            return False
        return self.snoozed_until is None or self.snoozed_until <= now

    def __repr__(self) -> str:
        return f"<ChannelBinding {self.id} {self.channel}:{self.external_id}>"


class ConsentRecord(db.Model):
    """One thing a shopper agreed to or withdrew, with its time and channel.

    Rows are only added: a binding says what holds now, these say when and
    how it came to hold.
    """

    __tablename__ = "binding_consents"
    __table_args__ = (
        Index("ix_binding_consents_shop_visitor", "shop_id", "visitor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    # "granted" with a binding, "withdrawn" on unbinding or a STOP keyword.
    action: Mapped[str] = mapped_column(String(16))
    marketing: Mapped[bool] = mapped_column()
    # A way of binding (``WAYS``), "widget", "keyword" or "unfollow".
    source: Mapped[str] = mapped_column(String(24))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BindingPopup(db.Model):
    """The merchant's pop-up that asks shoppers to bind (one per shop).

    Edited through ``engine.binding.popup``, which validates every field.
    """

    __tablename__ = "binding_popups"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Page types it may show on ("home", "product", ...), empty for all, and
    # wildcard patterns of pages it never shows on.
    page_types: Mapped[list] = mapped_column(JSON, default=list)
    excluded_pages: Mapped[list] = mapped_column(JSON, default=list)
    # "add_to_cart" (after trigger_count additions) or "seconds" (after
    # trigger_count seconds on a page).
    trigger: Mapped[str] = mapped_column(String(16))
    trigger_count: Mapped[int] = mapped_column()
    max_per_day: Mapped[int] = mapped_column()
    channels: Mapped[list] = mapped_column(JSON)
    # {locale: {"title", "body", "consent", "success"}}
    texts: Mapped[dict] = mapped_column(JSON)
    default_locale: Mapped[str] = mapped_column(String(16))
    tag: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class BindingFunnelDay(db.Model):
    """The binding funnel of one shop and channel on one (UTC) day."""

    __tablename__ = "binding_funnel_days"
    __table_args__ = (UniqueConstraint("shop_id", "channel", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    shown: Mapped[int] = mapped_column(default=0)
    clicked: Mapped[int] = mapped_column(default=0)
    bound: Mapped[int] = mapped_column(default=0)


class ChannelDelivery(db.Model):
    """One webhook request from LINE or Messenger, verified, until applied.

    A LINE delivery names its shop (by the URL's webhook key); a Messenger
    one may carry several Pages, so several shops, and names none itself.
    The body is erased once applied.
    """

    __tablename__ = "channel_deliveries"
    __table_args__ = (Index("ix_channel_deliveries_status", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE")
    )
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
