"""The reminders a shopper already got, for their conversation history.

Whoever answers a shopper next (the chat inbox) sees what reminders went out
to them, on which channel and when, as they were sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from engine.binding.models import ChannelBinding
from engine.db import db
from engine.reminders.models import SENT, ReminderSend
from engine.shops.models import Shop
from engine.visitors.models import Visitor


@dataclass(frozen=True)
class SentReminder:
    send_id: int
    sent_at: datetime
    channel: str
    position: int
    # The parts as sent (engine.reminders.content.describe_parts).
    content: list
    clicked: bool


def sent_reminders_for(shop: Shop, visitor: Visitor) -> list[SentReminder]:
    """Every reminder sent to the visitor or to any account they are bound to,
    oldest first."""
    accounts = db.session.execute(
        select(ChannelBinding.channel, ChannelBinding.external_id).where(
            ChannelBinding.shop_id == shop.id, ChannelBinding.visitor_id == visitor.id
        )
    ).all()
    reached = [ReminderSend.visitor_id == visitor.id] + [
        (ReminderSend.channel == channel) & (ReminderSend.recipient_id == account)
        for channel, account in accounts
    ]
    sends = db.session.scalars(
        select(ReminderSend)
        .where(
            ReminderSend.shop_id == shop.id,
            ReminderSend.status == SENT,
            or_(*reached),
        )
        .order_by(ReminderSend.sent_at, ReminderSend.id)
    )
    return [
        SentReminder(
            send_id=send.id,
            sent_at=send.sent_at,
            channel=send.channel or "",
            position=send.position,
            content=send.content or [],
            clicked=send.clicks > 0,
        )
        for send in sends
    ]
