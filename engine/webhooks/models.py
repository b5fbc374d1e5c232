"""One row per webhook delivery the platform made to us."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db, utcnow

RECEIVED = "received"
APPLIED = "applied"
DUPLICATE = "duplicate"
IGNORED = "ignored"
FAILED = "failed"


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # A redelivery carries the same webhook id; one merchant action that
        # the platform reports twice carries the same event id for the topic.
        UniqueConstraint("shop_domain", "webhook_id"),
        UniqueConstraint("shop_domain", "topic", "event_id"),
        Index("ix_webhook_deliveries_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept as text: a delivery may name a shop we no longer (or never) had.
    shop_domain: Mapped[str] = mapped_column(String(255))
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("shops.id", ondelete="SET NULL")
    )
    topic: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    api_version: Mapped[str | None] = mapped_column(String(16))
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The raw body until the delivery is applied; then erased, since it holds
    # shoppers' personal data we have no further use for.
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=RECEIVED)
    attempts: Mapped[int] = mapped_column(default=0)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
