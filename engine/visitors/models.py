"""A storefront visitor and what the platform told us of who they are."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db, utcnow


class Visitor(db.Model):
    __tablename__ = "visitors"
    __table_args__ = (
        UniqueConstraint("shop_id", "public_id"),
        Index("ix_visitors_shop_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # The first-party id the widget keeps in the browser (signed when issued).
    public_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The footprint: kept current by the tracking drain (engine.tracking),
    # read through engine.tracking.footprint.footprint_for.
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    page_views: Mapped[int] = mapped_column(default=0, server_default="0")
    visit_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Most recent first: [{"product_id", "handle", "views", "last_viewed_at"}].
    products_viewed: Mapped[list | None] = mapped_column(JSON)
    last_page_url: Mapped[str | None] = mapped_column(Text)
    last_page_type: Mapped[str | None] = mapped_column(String(16))
    last_cart_token: Mapped[str | None] = mapped_column(String(255))
    last_cart_total: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    last_cart_item_count: Mapped[int | None] = mapped_column()
    last_cart_currency: Mapped[str | None] = mapped_column(String(3))
    last_cart_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
