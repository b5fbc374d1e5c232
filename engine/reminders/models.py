"""Reminder flows and their steps, runs per cart, sends per step, credit for orders.

A *flow* is the merchant's sequence (one per shop). A *run* is one pass of
the flow over one cart; a cart gets a new run only when its contents change
after the previous run ended. A *send* is one step of a run: the row is the
source of truth for what is due (RQ only wakes a worker up), and its unique
``(run_id, position)`` makes each step of each cart happen at most once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import UTCDateTime, db, utcnow

# Run states.
ACTIVE = "active"
FINISHED = "finished"
STOPPED = "stopped"

# Send states: pending (waiting for due_at, possibly deferred) -> sending
# (claimed by a worker) -> sent | failed | skipped; or cancelled from
# pending/sending when the run stops first.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"
OPEN_SEND_STATES = (PENDING, SENDING)
ENDED_SEND_STATES = (SENT, FAILED, SKIPPED)

# A step's channel: one channel, or whichever the shopper is bound to, in
# the flow's fallback order.
ANY_CHANNEL = "any"


class ReminderFlow(db.Model):
    __tablename__ = "reminder_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), unique=True
    )
    # False while the merchant has paused reminders.
    enabled: Mapped[bool] = mapped_column(default=True)
    # Quiet time after the last cart activity before a cart counts as abandoned.
    abandonment_minutes: Mapped[int] = mapped_column(default=30)
    # Minutes after local midnight in the shop's time zone; both None means
    # no quiet hours.
    quiet_start_minute: Mapped[int | None] = mapped_column(default=22 * 60)
    quiet_end_minute: Mapped[int | None] = mapped_column(default=9 * 60)
    # At most this many reminders per shopper within the window.
    frequency_cap: Mapped[int] = mapped_column(default=3)
    frequency_window_hours: Mapped[int] = mapped_column(default=24)
    attribution_days: Mapped[int] = mapped_column(default=7)
    # For steps on "any" channel: the order channels are tried in.
    channel_order: Mapped[list] = mapped_column(JSON)
    # Cost of one message per channel in the shop's currency, as decimal
    # strings, for ROAS.
    message_costs: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    steps: Mapped[list[ReminderStep]] = relationship(
        cascade="all, delete-orphan", order_by="ReminderStep.position"
    )

    def step_at(self, position: int) -> ReminderStep | None:
        return next((s for s in self.steps if s.position == position), None)

    def next_enabled_step(self, after_position: int) -> ReminderStep | None:
        """The first enabled step after ``after_position`` (0 for the first)."""
        return next(
            (s for s in self.steps if s.position > after_position and s.enabled),
            None,
        )


class ReminderStep(db.Model):
    __tablename__ = "reminder_steps"
    __table_args__ = (UniqueConstraint("flow_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    flow_id: Mapped[int] = mapped_column(
        ForeignKey("reminder_flows.id", ondelete="CASCADE")
    )
    # 1..5, in sending order.
    position: Mapped[int] = mapped_column()
    enabled: Mapped[bool] = mapped_column(default=True)
    # After abandonment for the first step, after the previous step's send
    # for the others.
    delay_minutes: Mapped[int] = mapped_column()
    channel: Mapped[str] = mapped_column(String(16), default=ANY_CHANNEL)
    # The message as the merchant composed it: a list of part specs
    # (see engine.reminders.content).
    message: Mapped[list] = mapped_column(JSON)
    # If set, the step is skipped rather than sent more than this many
    # minutes after its planned time (deferrals, outages).
    latest_minutes: Mapped[int | None] = mapped_column()


class ReminderRun(db.Model):
    __tablename__ = "reminder_runs"
    __table_args__ = (
        UniqueConstraint("shop_id", "cart_id", "round"),
        Index("ix_reminder_runs_shop_visitor", "shop_id", "visitor_id"),
        Index("ix_reminder_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    # 1 for the cart's first run, then one more each time its contents
    # change after a run ended.
    round: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    # What the cart held (variants and quantities) when last seen by the run.
    cart_fingerprint: Mapped[str] = mapped_column(String(64))
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # last_activity_at plus the flow's abandonment wait.
    abandoned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderSend(db.Model):
    __tablename__ = "reminder_sends"
    __table_args__ = (
        UniqueConstraint("run_id", "position"),
        Index("ix_reminder_sends_status_due", "status", "due_at"),
        Index("ix_reminder_sends_shop_visitor", "shop_id", "visitor_id", "sent_at"),
        Index("ix_reminder_sends_shop_recipient", "shop_id", "recipient_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(
        ForeignKey("reminder_runs.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column()
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # When the flow meant it to go; due_at moves on deferrals and retries.
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deferred_reason: Mapped[str | None] = mapped_column(String(64))
    # Set while a worker holds the send; an old claim means the worker died.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    # Deterministic per cart, run and step: LINE's X-Line-Retry-Key.
    retry_key: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str | None] = mapped_column(String(16))
    binding_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_bindings.id", ondelete="SET NULL")
    )
    recipient_id: Mapped[str | None] = mapped_column(String(128))
    # Why it was skipped, failed or cancelled (a stable code), and the
    # platform's own words and code for a failure.
    reason: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    # What was sent, channel-neutral, for the conversation history.
    content: Mapped[list | None] = mapped_column(JSON)
    platform_message_ids: Mapped[list | None] = mapped_column(JSON)
    # The platform said a send with this retry key was already accepted.
    duplicate: Mapped[bool] = mapped_column(default=False)
    # Where the reminder's tracked links lead (the recovered checkout).
    target_url: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicks: Mapped[int] = mapped_column(default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class ReminderAttribution(db.Model):
    """An order credited to one reminder; step and channel are kept here too,
    so the merchant's figures survive the send being erased for privacy."""

    __tablename__ = "reminder_attributions"
    __table_args__ = (UniqueConstraint("order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    send_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminder_sends.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column()
    channel: Mapped[str] = mapped_column(String(16))
    # "click" when the last reminder clicked earned it, else "send".
    credited_for: Mapped[str] = mapped_column(String(8))
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderNotice(db.Model):
    """Something the merchant must know about their reminders (quota ran out)."""

    __tablename__ = "reminder_notices"
    __table_args__ = (Index("ix_reminder_notices_shop_kind", "shop_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    # Until when the condition holds (e.g. the quota's reset), if known.
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
