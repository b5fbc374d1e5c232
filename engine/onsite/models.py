"""On-site messages and what each visitor did with them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db, utcnow

KINDS = ("text", "image", "button", "bonus")
# How a rule's URL condition compares; see engine.onsite.matching.
URL_MATCHES = ("any", "is", "contains", "not_contains", "wildcard")
VISIT_MODES = ("exactly", "at_least")
AUDIENCES = ("all", "new", "returning", "first_time_buyer")


class OnsiteMessage(db.Model):
    """A message the widget shows on pages that match its rule.

    ``texts`` maps a locale to ``{"title", "body", "button_label"}``; a
    visitor whose locale has no text reads ``default_locale``'s.
    """

    __tablename__ = "onsite_messages"
    __table_args__ = (Index("ix_onsite_messages_shop_active", "shop_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    # Names the campaign in the links' utm_campaign; the id when unset.
    slug: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    default_locale: Mapped[str] = mapped_column(String(16))
    image_url: Mapped[str | None] = mapped_column(Text)
    link_url: Mapped[str | None] = mapped_column(Text)

    url_match: Mapped[str] = mapped_column(String(16), default="any")
    url_value: Mapped[str | None] = mapped_column(Text)
    excluded_pages: Mapped[list[str]] = mapped_column(JSON, default=list)
    delay_seconds: Mapped[int] = mapped_column(default=0)
    exit_intent: Mapped[bool] = mapped_column(default=False)
    visit_number: Mapped[int | None] = mapped_column()
    visit_mode: Mapped[str] = mapped_column(String(16), default="exactly")
    cart_over: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    audience: Mapped[str] = mapped_column(String(24), default="all")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cap_per_visitor: Mapped[int | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        return f"<OnsiteMessage {self.id} {self.name!r}>"


class OnsiteImpression(db.Model):
    """One visitor's history with one message: views, clicks, dismissal.

    Kept as long as the visitor, so a dismissed message stays closed after
    the raw events are deleted.
    """

    __tablename__ = "onsite_impressions"
    __table_args__ = (UniqueConstraint("visitor_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(
        ForeignKey("onsite_messages.id", ondelete="CASCADE"), index=True
    )
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    views: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
