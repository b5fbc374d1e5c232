"""A conversation's timeline in the Inbox: its messages, and the reminders between.

The team reads a page of the conversation (messages and internal notes,
oldest first) with the reminders the shopper got meanwhile merged in by
when they were sent, so whoever answers sees what the shop already said.
A reminder is a line of the timeline only: it has no ``seq`` and is never
stored as a message.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Any

from engine.chat.casework import iso
from engine.chat.conversations import (
    describe_message,
    images_by_id,
    latest_messages,
    messages_after,
)
from engine.chat.models import ChatMessage, Conversation
from engine.chat.sidebar import shopper_of
from engine.reminders.history import SentReminder, sent_reminders_for
from engine.shops.models import Shop

CHANNEL_NAMES = {"web": "web chat", "line": "LINE", "messenger": "Messenger"}
REMINDER_TEXT_MAX = 200
# Served by plugin.chat_images to anyone holding the unguessable id.
IMAGE_PATH = "/chat/images/{public_id}"


def timeline_of(
    shop: Shop, conversation: Conversation, after: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """A page of the conversation's messages, oldest first, with the reminders
    sent between them; and whether more messages follow the page.

    Without ``after``, the latest page. A reminder is shown once it was sent
    after the message before the page (or the page's first message) and, when
    more messages follow, before the page's last one; a later page may repeat
    a reminder sent after the last message, by the same ``reminder_id``.
    """
    if after is None:
        messages = latest_messages(conversation, include_notes=True)
        since = messages[0].created_at if messages and messages[0].seq > 1 else None
    else:
        messages = messages_after(conversation, after, include_notes=True)
        since = _sent_at(conversation, after)
    has_more = bool(messages) and messages[-1].seq < conversation.last_seq
    until = messages[-1].created_at if has_more else None

    images = images_by_id(messages)
    items = [
        (message.created_at, message_item(message, images)) for message in messages
    ]
    reminders = [
        (reminder.sent_at, reminder_item(reminder))
        for reminder in _reminders(shop, conversation)
        if (since is None or reminder.sent_at > since)
        and (until is None or reminder.sent_at <= until)
    ]
    merged = heapq.merge(items, reminders, key=lambda pair: pair[0])
    return [item for _, item in merged], has_more


def message_item(message: ChatMessage, images: dict | None = None) -> dict[str, Any]:
    images = images if images is not None else images_by_id([message])
    image = images.get(message.image_id)
    url = IMAGE_PATH.format(public_id=image.public_id) if image else None
    return describe_message(message, url)


def reminder_item(reminder: SentReminder) -> dict[str, Any]:
    """A reminder the shopper got, as a line of the timeline (never stored)."""
    channel = CHANNEL_NAMES.get(reminder.channel, reminder.channel)
    first = _first_text(reminder.content)
    return {
        "seq": None,
        "author": "system",
        "kind": "reminder",
        "name": None,
        "text": f"Reminder sent on {channel}: {first}"
        if first
        else f"Reminder sent on {channel}",
        "image_url": None,
        "channel": reminder.channel,
        "sent_at": iso(reminder.sent_at),
        "delivery": None,
        "delivery_error": None,
        "reminder_id": reminder.send_id,
        "reminder_text": first,
        "clicked": reminder.clicked,
    }


def _sent_at(conversation: Conversation, seq: int) -> datetime | None:
    if seq < 1:
        return None
    found = messages_after(conversation, seq - 1, include_notes=True, limit=1)
    return found[0].created_at if found and found[0].seq == seq else None


def _reminders(shop: Shop, conversation: Conversation) -> list[SentReminder]:
    visitor = shopper_of(shop, conversation).visitor
    return sent_reminders_for(shop, visitor) if visitor is not None else []


def _first_text(content: list) -> str | None:
    """The first words a reminder said: its first text, or its carousel's alt text."""
    for part in content:
        if not isinstance(part, dict):
            continue
        text = part.get("text") or part.get("alt_text")
        if isinstance(text, str) and text.strip():
            line = " ".join(text.split())
            if len(line) > REMINDER_TEXT_MAX:
                return line[: REMINDER_TEXT_MAX - 1] + "…"
            return line
    return None
