"""What the team writes: replies to the shopper and internal notes.

A reply is stored first, then goes out: on the widget it is simply there
for the shopper's stream; on LINE or Messenger a job sends it under the
channel's rules (``delivery``), and the reply carries its delivery state
until the platform took it. A reply the channel cannot carry now is
refused before anything is stored, with the reason the reply box shows.
"""

from __future__ import annotations

import logging

from engine.chat.conversations import NewMessage, append, reopen_if_closed
from engine.chat.delivery import queue_delivery, reply_state
from engine.chat.errors import ChannelClosed
from engine.chat.models import AGENT, NOTE, QUEUED, TEXT, WEB, ChatMessage, Conversation
from engine.db import utcnow
from engine.shops.models import Shop
from engine.team.models import TeamMember

logger = logging.getLogger(__name__)


def post_agent_reply(
    shop: Shop,
    conversation: Conversation,
    member: TeamMember,
    text: str,
    client_id: str | None = None,
) -> ChatMessage:
    """Store the team's reply and send it on the conversation's channel.

    The caller commits. A reply takes an unassigned conversation for the
    member who wrote it.

    Raises:
        ChannelClosed: the shopper cannot be reached there now.
        InvalidChatInput: an empty or too long text.
    """
    state = reply_state(shop, conversation, utcnow())
    if not state.open:
        raise ChannelClosed("channel_closed", state.reason or "Closed.", "text")

    channel = state.channel
    message = append(
        conversation,
        NewMessage(
            author=AGENT,
            kind=TEXT,
            channel=channel,
            text=text,
            member_id=member.id,
            author_name=member.display_name,
            client_id=client_id,
            delivery=None if channel == WEB else QUEUED,
        ),
    )
    if conversation.assignee_id is None:
        _take(shop, conversation, member)
    if channel != WEB and message.delivery == QUEUED:
        queue_delivery(message)
    logger.info(
        "chat.agent_replied",
        extra={
            "shop_id": shop.id,
            "conversation_id": conversation.id,
            "member_id": member.id,
            "channel": channel,
        },
    )
    return message


def add_note(
    shop: Shop, conversation: Conversation, member: TeamMember, text: str
) -> ChatMessage:
    """An internal note for the team; the shopper never sees it."""
    return append(
        conversation,
        NewMessage(
            author=AGENT,
            kind=NOTE,
            channel=WEB,
            text=text,
            member_id=member.id,
            author_name=member.display_name,
        ),
    )


def _take(shop: Shop, conversation: Conversation, member: TeamMember) -> None:
    from engine.chat.casework import assign

    assign(shop, conversation, member, member)
    reopen_if_closed(conversation)
