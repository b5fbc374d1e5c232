"""The flow every shop starts with, made the first time it is asked for.

Three steps at 1 h, 8 h and 23 h after abandonment, each on whichever
channel the shopper is bound to (LINE first). 23 h keeps the last one inside
Messenger's 24-hour window when the shopper wrote to the page around the time
they left the cart. Wording is plain English for the merchant to replace.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.binding.models import CHANNELS
from engine.db import db
from engine.reminders.content import NO_THANKS_POSTBACK
from engine.reminders.models import ANY_CHANNEL, ReminderFlow, ReminderStep
from engine.shops.models import Shop

DEFAULT_STEPS: tuple[dict[str, Any], ...] = (
    {
        "delay_minutes": 60,
        "channel": ANY_CHANNEL,
        "message": [
            {
                "type": "text",
                "text": "Hi {first_name|there}, you left something in your cart"
                " at {shop_name}. It is saved for you:",
            },
            {"type": "carousel"},
        ],
    },
    {
        "delay_minutes": 7 * 60,
        "channel": ANY_CHANNEL,
        "message": [
            {"type": "carousel"},
            {
                "type": "text",
                "text": "Still deciding? Your {item_count} item(s) are one tap"
                " away: {checkout_url}",
            },
        ],
    },
    {
        "delay_minutes": 15 * 60,
        "channel": ANY_CHANNEL,
        "message": [
            {"type": "carousel"},
            {
                "type": "buttons",
                "text": "Last reminder from {shop_name}: your cart ({cart_total})"
                " is waiting.",
                "options": [
                    {"label": "Complete my order", "url": "{checkout_url}"},
                    {"label": "No thanks", "postback": NO_THANKS_POSTBACK},
                ],
            },
        ],
    },
)


def flow_for(shop: Shop) -> ReminderFlow:
    """The shop's flow, created with the defaults the first time it is asked for."""
    flow = db.session.scalar(
        select(ReminderFlow).where(ReminderFlow.shop_id == shop.id)
    )
    if flow is not None:
        return flow

    flow = ReminderFlow(
        shop_id=shop.id,
        channel_order=list(CHANNELS),
        message_costs={channel: "0" for channel in CHANNELS},
    )
    for position, spec in enumerate(DEFAULT_STEPS, 1):
        flow.steps.append(new_step(shop, position, spec))
    db.session.add(flow)
    db.session.flush()
    return flow


def new_step(shop: Shop, position: int, spec: dict[str, Any]) -> ReminderStep:
    return ReminderStep(
        shop_id=shop.id,
        position=position,
        enabled=spec.get("enabled", True),
        delay_minutes=spec["delay_minutes"],
        channel=spec.get("channel", ANY_CHANNEL),
        message=[dict(part) for part in spec["message"]],
        latest_minutes=spec.get("latest_minutes"),
    )
