"""The Inbox screen and its API: the team's conversations with shoppers.

``/admin/inbox`` is the team's desk: the queues (Mine, Team, Unassigned,
All) with their unread counts, one conversation with its timeline and its
reply box, and beside it what the shop knows of the shopper; the page
follows the shop's chat events live. The JSON API under ``/inbox/...`` does
the same for scripts. ``engine.chat`` does the work and says what it
refuses (``ChatError``: 422 at a field, 404, 409 for a closed channel),
answered in the panel's one error shape.

Who acts is always a team member (``access.agent_of``). Agents answer,
note, assign, tag, change a case's status and mark it read: their daily
work, here. Only owners change the tags, saved replies and chat settings
(``inbox_setup``). The live events are ``inbox_stream``; a conversation's
timeline is built by ``inbox_timeline``; ``inbox_data`` shapes what the
screen and the API show of each object.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, render_template

from engine.chat.casework import (
    assign,
    hand_over,
    hand_over_all,
    mark_read,
    set_on_shift,
    set_status,
    set_tags,
)
from engine.chat.conversations import find
from engine.chat.delivery import reply_state
from engine.chat.errors import ChatError, ConversationNotFound, InvalidChatInput
from engine.chat.inbox import InboxRow, list_conversations, unread_summary
from engine.chat.models import CHANNELS, Conversation, SavedReply
from engine.chat.replies import add_note, post_agent_reply
from engine.chat.setup import (
    SetupItemNotFound,
    chat_settings,
    fill_saved_reply,
    list_saved_replies,
    list_tags,
)
from engine.chat.sidebar import shopper_context
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.team.accounts import get_member
from engine.team.errors import MemberNotFound
from engine.team.models import TeamMember
from plugin.admin import bp
from plugin.admin import inbox_schemas as schemas
from plugin.admin.access import Viewer, agent_of
from plugin.admin.inbox_data import (
    conversation_data,
    member_data,
    reply_data,
    row_data,
    settings_data,
    tag_data,
    team_data,
)
from plugin.admin.inbox_timeline import message_item, timeline_of
from plugin.admin.openapi import operation
from plugin.admin.screens import channel_name, screen
from plugin.errors import error_response

logger = logging.getLogger(__name__)


@screen("/admin/inbox", "nav.inbox", order=5)
def inbox(viewer: Viewer) -> str:
    member = agent_of(viewer)
    rows = list_conversations(
        viewer.shop, member, status="open", limit=schemas.LIST_PAGE
    )
    settings = settings_data(chat_settings(viewer.shop))
    tags = [tag_data(tag) for tag in list_tags(viewer.shop)]
    saved_replies = [reply_data(reply) for reply in list_saved_replies(viewer.shop)]
    # The first read of the chat settings creates them with the default tags.
    db.session.commit()
    boot = {
        "me": member_data(member),
        "is_owner": viewer.is_owner,
        "members": team_data(viewer.shop),
        "tags": tags,
        "saved_replies": saved_replies,
        "channels": {name: channel_name(name) for name in CHANNELS},
        "list": {
            "conversations": [row_data(row) for row in rows],
            "unread": unread_summary(viewer.shop, member),
            "next_cursor": _next_cursor(rows, schemas.LIST_PAGE),
        },
    }
    return render_template(
        "admin/inbox.html",
        viewer=viewer,
        boot=boot,
        settings=settings,
        tags=tags,
        saved_replies=saved_replies,
    )


@bp.errorhandler(ChatError)
def _chat_refusal(refusal: ChatError) -> Response:
    """What the chat refused, in the panel's error shape; nothing is stored."""
    db.session.rollback()
    logger.info(
        "admin.chat_refused", extra={"code": refusal.code, "field": refusal.field}
    )
    return error_response(refusal.status, refusal.code, refusal.detail, refusal.field)


# --- conversations ------------------------------------------------------------


@operation(
    "GET",
    "/inbox/conversations",
    summary="A page of conversations in a queue, newest activity first, and the"
    " unread counts.",
    query=schemas.ConversationQuerySchema,
    response=schemas.ConversationListSchema,
)
def get_inbox_conversations(viewer: Viewer, query: dict[str, Any]) -> dict[str, Any]:
    member = agent_of(viewer)
    rows = list_conversations(
        viewer.shop,
        member,
        queue=query["queue"],
        status=query.get("status"),
        tag_id=query.get("tag"),
        channel=query.get("channel"),
        assignee_id=query.get("assignee"),
        limit=query["limit"],
        before=query.get("before"),
    )
    return {
        "conversations": [row_data(row) for row in rows],
        "unread": unread_summary(viewer.shop, member),
        "next_cursor": _next_cursor(rows, query["limit"]),
    }


@operation(
    "GET",
    "/inbox/conversations/<public_id>",
    summary="One conversation: its state, reply box, assignment log and timeline"
    " (messages with notes, and the reminders sent meanwhile).",
    query=schemas.TimelineQuerySchema,
    response=schemas.ConversationPageSchema,
)
def get_inbox_conversation(
    viewer: Viewer, public_id: str, query: dict[str, Any]
) -> dict[str, Any]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    timeline, has_more = timeline_of(viewer.shop, conversation, query.get("after"))
    return {
        "conversation": conversation_data(viewer.shop, member, conversation),
        "timeline": timeline,
        "has_more": has_more,
    }


@operation(
    "GET",
    "/inbox/conversations/<public_id>/sidebar",
    summary="Who the shopper is to the shop: footprint, cart, orders, wallet,"
    " bindings, reminders sent.",
    response=schemas.SidebarSchema,
)
def get_inbox_sidebar(viewer: Viewer, public_id: str) -> dict[str, Any]:
    return shopper_context(viewer.shop, conversation_of(viewer, public_id))


@operation(
    "POST",
    "/inbox/conversations/<public_id>/replies",
    summary="Answer the shopper on the conversation's channel; 409 when it is"
    " closed (nothing stored). Repeating a client_id stores nothing twice.",
    body=schemas.ReplyInSchema,
    response=schemas.ReplySchema,
    status=201,
    errors=(409,),
    agents=True,
)
def post_inbox_reply(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    message = post_agent_reply(
        viewer.shop, conversation, member, body["text"], body["client_id"]
    )
    db.session.commit()
    return {
        "message": message_item(message),
        "reply_state": reply_state(viewer.shop, conversation, utcnow()).describe(),
    }


@operation(
    "POST",
    "/inbox/conversations/<public_id>/notes",
    summary="Add an internal note; the shopper never sees it.",
    body=schemas.NoteInSchema,
    response=schemas.NoteSchema,
    status=201,
    agents=True,
)
def post_inbox_note(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    message = add_note(viewer.shop, conversation, member, body["text"])
    db.session.commit()
    return {"message": message_item(message)}


@operation(
    "POST",
    "/inbox/conversations/<public_id>/assign",
    summary="Give the conversation to a member (null: back to the queue), with an"
    " optional note for the team.",
    body=schemas.AssignInSchema,
    response=schemas.ConversationSchema,
    agents=True,
)
def post_inbox_assign(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    assignee = assignee_of(viewer, body["assignee"])
    assign(viewer.shop, conversation, assignee, member, note=body["note"])
    db.session.commit()
    return conversation_data(viewer.shop, member, conversation)


@operation(
    "POST",
    "/inbox/conversations/<public_id>/hand-over",
    summary="Pass the conversation to a colleague with a note (logged as a hand-over).",
    body=schemas.AssignInSchema,
    response=schemas.ConversationSchema,
    agents=True,
)
def post_inbox_hand_over(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    assignee = assignee_of(viewer, body["assignee"])
    hand_over(viewer.shop, conversation, assignee, member, body["note"])
    db.session.commit()
    return conversation_data(viewer.shop, member, conversation)


@operation(
    "POST",
    "/inbox/hand-over-all",
    summary="The shift change: every open or pending conversation of mine goes to"
    " a colleague (or the queue), with the note.",
    body=schemas.AssignInSchema,
    response=schemas.HandedOverSchema,
    agents=True,
)
def post_inbox_hand_over_all(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    member = agent_of(viewer)
    assignee = assignee_of(viewer, body["assignee"])
    count = hand_over_all(viewer.shop, member, assignee, member, body["note"])
    db.session.commit()
    return {"handed_over": count}


@operation(
    "PUT",
    "/inbox/conversations/<public_id>/status",
    summary="Open, set pending (with an optional follow-up date) or resolve;"
    " resolving asks the shopper for a rating when the shop wants one.",
    body=schemas.StatusInSchema,
    response=schemas.ConversationSchema,
    agents=True,
)
def put_inbox_status(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    set_status(
        viewer.shop,
        conversation,
        body["status"],
        member,
        follow_up_at=body["follow_up_at"],
    )
    db.session.commit()
    return conversation_data(viewer.shop, member, conversation)


@operation(
    "PUT",
    "/inbox/conversations/<public_id>/tags",
    summary="Make the conversation's tags exactly these (the shop's tag ids).",
    body=schemas.TagIdsInSchema,
    response=schemas.TagListSchema,
    agents=True,
)
def put_inbox_tags(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    tags = set_tags(viewer.shop, conversation, body["tags"])
    db.session.commit()
    return {"tags": [tag_data(tag) for tag in tags]}


@operation(
    "POST",
    "/inbox/conversations/<public_id>/read",
    summary="Note that I have read up to a message number; answers my unread counts.",
    body=schemas.ReadInSchema,
    response=schemas.UnreadSchema,
    agents=True,
)
def post_inbox_read(
    viewer: Viewer, public_id: str, body: dict[str, Any]
) -> dict[str, int]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    mark_read(viewer.shop, member, conversation, body["seq"])
    db.session.commit()
    return unread_summary(viewer.shop, member)


@operation(
    "GET",
    "/inbox/conversations/<public_id>/saved-replies/<int:reply_id>",
    summary="A saved reply filled in for this conversation's shopper.",
    response=schemas.FilledReplySchema,
)
def get_inbox_filled_reply(
    viewer: Viewer, public_id: str, reply_id: int
) -> dict[str, str]:
    member = agent_of(viewer)
    conversation = conversation_of(viewer, public_id)
    reply = _saved_reply(viewer.shop, reply_id)
    return {"text": fill_saved_reply(viewer.shop, reply, conversation, member)}


# --- the team -----------------------------------------------------------------


@operation(
    "GET",
    "/inbox/team",
    summary="The active members to give a conversation to, and me.",
    response=schemas.InboxTeamSchema,
)
def get_inbox_team(viewer: Viewer) -> dict[str, Any]:
    member = agent_of(viewer)
    return {"members": team_data(viewer.shop), "me": member_data(member)}


@operation(
    "PUT",
    "/inbox/shift",
    summary="Start or end my shift: only members on shift receive the no-reply"
    " timer's conversations.",
    body=schemas.ShiftInSchema,
    response=schemas.TeamMemberSchema,
    agents=True,
)
def put_inbox_shift(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    member = agent_of(viewer)
    set_on_shift(member, body["on_shift"])
    db.session.commit()
    return member_data(member)


# --- what a request names, and the list's next page ---------------------------


def conversation_of(viewer: Viewer, public_id: str) -> Conversation:
    # No id of ours holds a NUL, and PostgreSQL would refuse the query.
    conversation = None if "\x00" in public_id else find(viewer.shop, public_id)
    if conversation is None:
        raise ConversationNotFound(public_id)
    return conversation


def assignee_of(viewer: Viewer, member_id: int | None) -> TeamMember | None:
    if member_id is None:
        return None
    try:
        return get_member(viewer.shop, member_id)
    except MemberNotFound:
        raise InvalidChatInput(
            "invalid_assignee", "That person is not in this shop's team.", "assignee"
        ) from None


def _saved_reply(shop: Shop, reply_id: int) -> SavedReply:
    for reply in list_saved_replies(shop):
        if reply.id == reply_id:
            return reply
    raise SetupItemNotFound(
        "saved_reply_not_found", f"No saved reply {reply_id} here.", "reply"
    )


def _next_cursor(rows: list[InboxRow], limit: int) -> str | None:
    return rows[-1].cursor if rows and len(rows) >= limit else None
