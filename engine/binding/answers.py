"""What a shopper's own actions in the chat do to their bindings.

Shared by LINE and Messenger events: opting out by keyword or the "no
thanks" button, and any message or tap, which opens Messenger's 24-hour
window. All of it concerns the account, so it reaches every device bound to
it (``engine.reminders.optout`` stops their pending reminders).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.binding.bindings import bindings_of_account, withdraw
from engine.binding.keywords import NO_THANKS, STOP
from engine.chat import inbound
from engine.chat.rating import score_of_postback
from engine.reminders.optout import snooze, unsubscribe
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundContent:
    """What a shopper's message holds: text, or an image (LINE's by its
    message id, Messenger's by its address), and LINE's reply token."""

    text: str | None = None
    message_id: str | None = None
    image_id: str | None = None
    image_url: str | None = None
    reply_token: str | None = None


def opt_out(shop: Shop, channel: str, external_id: str, instruction: str) -> bool:
    """A STOP keyword unsubscribes the account; "no thanks" snoozes it."""
    bindings = bindings_of_account(shop, channel, external_id)
    if not bindings:
        return False
    if instruction == STOP:
        unsubscribe(bindings[0])
        for binding in bindings:
            withdraw(binding, "keyword")
    elif instruction == NO_THANKS:
        snooze(bindings[0])
    return True


def note_inbound(shop: Shop, channel: str, external_id: str, at: datetime) -> None:
    """The shopper wrote or tapped at ``at``: Messenger's window opens again."""
    for binding in bindings_of_account(shop, channel, external_id):
        if binding.last_inbound_at is None or binding.last_inbound_at < at:
            binding.last_inbound_at = at


def receive_message(
    shop: Shop,
    channel: str,
    external_id: str,
    at: datetime,
    content: InboundContent,
) -> None:
    """An ordinary message from a shopper, neither a keyword nor a code.

    Binding notes its time (Messenger's window); the chat keeps the message
    in the shopper's conversation.
    """
    note_inbound(shop, channel, external_id, at)
    if content.image_id is not None or content.image_url is not None:
        inbound.receive_image(
            shop,
            channel,
            external_id,
            at,
            message_id=content.message_id,
            url=content.image_url,
            reply_token=content.reply_token,
        )
    elif content.text:
        inbound.receive_text(
            shop,
            channel,
            external_id,
            content.text,
            at,
            message_id=content.message_id,
            reply_token=content.reply_token,
        )
    logger.debug("binding.message_received", extra={"shop_id": shop.id})


def receive_rating(shop: Shop, channel: str, external_id: str, data: object) -> bool:
    """A tap on a rating button; False when ``data`` is no rating."""
    score = score_of_postback(data if isinstance(data, str) else None)
    if score is None:
        return False
    inbound.receive_rating(shop, channel, external_id, score)
    return True


def event_time(milliseconds: object) -> datetime:
    """A platform's epoch-milliseconds timestamp (now, if missing)."""
    if isinstance(milliseconds, int | float) and milliseconds > 0:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    return datetime.now(UTC)
