"""Raw storefront events, and the storefront origins a shop's widget runs on."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.commerce.models import Cart
from engine.db import UTCDateTime, db, utcnow

# SQLite only auto-increments an INTEGER primary key.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class VisitorEvent(db.Model):
    """One thing a visitor did on the storefront, as the widget reported it.

    Rows are kept ``TRACKING_RETENTION_DAYS`` (counted from ``received_at``);
    what lasts longer lives in the visitor's footprint.
    """

    __tablename__ = "visitor_events"
    __table_args__ = (
        # The client's event id: a batch written twice inserts nothing new.
        UniqueConstraint("shop_id", "event_id"),
        Index("ix_visitor_events_visitor_occurred", "visitor_id", "occurred_at"),
        Index("ix_visitor_events_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    url: Mapped[str | None] = mapped_column(Text)
    page_type: Mapped[str | None] = mapped_column(String(16))
    product_id: Mapped[str | None] = mapped_column(String(64))
    product_handle: Mapped[str | None] = mapped_column(String(255))
    variant_id: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int | None] = mapped_column()
    referrer: Mapped[str | None] = mapped_column(Text)
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    utm_term: Mapped[str | None] = mapped_column(String(255))
    utm_content: Mapped[str | None] = mapped_column(String(255))
    seconds_on_page: Mapped[int | None] = mapped_column()
    # Not a foreign key: counts outlive a deleted message.
    message_id: Mapped[int | None] = mapped_column()
    cart_token: Mapped[str | None] = mapped_column(String(255))
    cart_total: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    cart_item_count: Mapped[int | None] = mapped_column()
    cart_currency: Mapped[str | None] = mapped_column(String(3))
    locale: Mapped[str | None] = mapped_column(String(16))


# Where a storefront origin came from: the store platform's domains, which
# each refresh replaces, or the shop owner, whose list only they change.
PLATFORM_ORIGIN = "platform"
OWNER_ORIGIN = "owner"


class StorefrontOrigin(db.Model):
    """A storefront origin (a custom domain) the shop's widget may post from.

    The shop's own ``https://<shop>.myshopify.com`` is always allowed and is
    not stored here.
    """

    __tablename__ = "storefront_origins"
    __table_args__ = (UniqueConstraint("shop_id", "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # scheme://host[:port], lower case, as browsers send it in Origin.
    origin: Mapped[str] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(
        String(16), default=PLATFORM_ORIGIN, server_default=PLATFORM_ORIGIN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A visitor's carts (orders counted for "first-time buyer", reminders). Declared
# here, beside the linking that fills carts.visitor_id.
Index("ix_carts_shop_visitor", Cart.shop_id, Cart.visitor_id)
