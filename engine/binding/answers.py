"""What a shopper's own actions in the chat do to their bindings.

Shared by LINE and Messenger events: opting out by keyword or the "no
thanks" button, and any message or tap, which opens Messenger's 24-hour
window. All of it concerns the account, so it reaches every device bound to
it (``engine.reminders.optout`` stops their pending reminders).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from engine.binding.bindings import bindings_of_account, withdraw
from engine.binding.keywords import NO_THANKS, STOP
from engine.reminders.optout import snooze, unsubscribe
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


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


def receive_message(shop: Shop, channel: str, external_id: str, at: datetime) -> None:
    """An ordinary message from a shopper, neither a keyword nor a code.

    Binding only notes its time. Keeping the conversation is the chat
    feature's, which takes the message over from this call.
    """
    note_inbound(shop, channel, external_id, at)
    logger.debug("binding.message_received", extra={"shop_id": shop.id})


def event_time(milliseconds: object) -> datetime:
    """A platform's epoch-milliseconds timestamp (now, if missing)."""
    if isinstance(milliseconds, int | float) and milliseconds > 0:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    return datetime.now(UTC)
