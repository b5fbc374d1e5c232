"""The Inbox screen and its API: the team's conversations with shoppers.

``/admin/inbox`` is the team's desk: the queues (Mine, Team, Unassigned,
All) with their unread counts, one conversation with its timeline and its
reply box, and beside it what the shop knows of the shopper; the page
follows the shop's chat events live. The JSON API under ``/inbox/...`` does
the same for scripts. ``engine.chat`` does the work and says what it
refuses (``ChatError``: 422 at a field, 404, 409 for a closed channel),
answered in the panel's one error shape.

Who acts is always a team member (``access.agent_of``), the same person
inside the store admin and outside it. Agents answer, note, assign, tag,
change a case's status and mark it read: their daily work. Only owners
change the tags, saved replies and chat settings.

The live events come as server-sent events. EventSource cannot send the
store admin's ``Authorization`` header, so ``POST /inbox/stream-token``
hands out a stream address carrying a ten-minute token signed for the
shop and the member (itsdangerous, a salt of its own).
"""

from __future__ import annotations

import heapq
import logging
from datetime import datetime
from typing import Any

from flask import Response, render_template, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from engine.chat.casework import (
    assign,
    assignment_log,
    hand_over,
    hand_over_all,
    iso,
    mark_read,
    set_on_shift,
    set_status,
    set_tags,
)
from engine.chat.conversations import (
    describe_conversation,
    describe_message,
    find,
    images_by_id,
    latest_messages,
    messages_after,
)
from engine.chat.delivery import reply_state
from engine.chat.errors import ChatError, ConversationNotFound, InvalidChatInput
from engine.chat.inbox import (
    InboxRow,
    conversation_row,
    list_conversations,
    unread_summary,
)
from engine.chat.models import (
    ChatMessage,
    ChatSettings,
    ChatTag,
    Conversation,
    SavedReply,
)
from engine.chat.replies import add_note, post_agent_reply
from engine.chat.setup import (
    SETTINGS_FIELDS,
    SetupItemNotFound,
    chat_settings,
    create_tag,
    delete_saved_reply,
    delete_tag,
    fill_saved_reply,
    list_saved_replies,
    list_tags,
    rename_tag,
    save_reply,
    update_chat_settings,
)
from engine.chat.sidebar import shopper_context, shopper_of
from engine.db import db, utcnow
from engine.reminders.history import SentReminder, sent_reminders_for
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.accounts import get_member, list_members
from engine.team.errors import MemberNotFound
from engine.team.models import TeamMember
from plugin.admin import bp
from plugin.admin import inbox_schemas as schemas
from plugin.admin.access import Viewer, agent_of
from plugin.admin.openapi import operation
from plugin.admin.screens import channel_name, screen
from plugin.chat_stream import notice_stream
from plugin.errors import ApiError, error_response

logger = logging.getLogger(__name__)

STREAM_TOKEN_SECONDS = 600
_STREAM_SALT = "revisit.inbox.stream"
CHANNEL_NAMES = {"web": "web chat", "line": "LINE", "messenger": "Messenger"}
REMINDER_TEXT_MAX = 200
# Served by plugin.chat_images to anyone holding the unguessable id.
IMAGE_PATH = "/chat/images/{public_id}"


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
        "channels": {name: channel_name(name) for name in CHANNEL_NAMES},
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


# --- set-up: tags, saved replies, settings ------------------------------------


@operation(
    "GET",
    "/inbox/tags",
    summary="The shop's conversation tags, by name.",
    response=schemas.TagListSchema,
)
def get_inbox_tags(viewer: Viewer) -> dict[str, Any]:
    tags = [tag_data(tag) for tag in list_tags(viewer.shop)]
    db.session.commit()
    return {"tags": tags}


@operation(
    "POST",
    "/inbox/tags",
    summary="Add a tag (owners).",
    body=schemas.TagInSchema,
    response=schemas.TagSchema,
    status=201,
)
def post_inbox_tag(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    tag = create_tag(viewer.shop, body["name"], body["color"])
    db.session.commit()
    return tag_data(tag)


@operation(
    "PUT",
    "/inbox/tags/<int:tag_id>",
    summary="Rename or recolour a tag (owners).",
    body=schemas.TagInSchema,
    response=schemas.TagSchema,
)
def put_inbox_tag(viewer: Viewer, tag_id: int, body: dict[str, Any]) -> dict:
    tag = rename_tag(viewer.shop, tag_id, body["name"], body["color"])
    db.session.commit()
    return tag_data(tag)


@operation(
    "DELETE",
    "/inbox/tags/<int:tag_id>",
    summary="Delete a tag and take it off every conversation (owners).",
    status=204,
)
def delete_inbox_tag(viewer: Viewer, tag_id: int) -> None:
    delete_tag(viewer.shop, tag_id)
    db.session.commit()


@operation(
    "GET",
    "/inbox/saved-replies",
    summary="The shop's saved replies, by title.",
    response=schemas.SavedReplyListSchema,
)
def get_inbox_saved_replies(viewer: Viewer) -> dict[str, Any]:
    return {
        "saved_replies": [
            reply_data(reply) for reply in list_saved_replies(viewer.shop)
        ]
    }


@operation(
    "POST",
    "/inbox/saved-replies",
    summary="Add a saved reply (owners).",
    body=schemas.SavedReplyInSchema,
    response=schemas.SavedReplySchema,
    status=201,
)
def post_inbox_saved_reply(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    reply = save_reply(viewer.shop, body["title"], body["body"])
    db.session.commit()
    return reply_data(reply)


@operation(
    "PUT",
    "/inbox/saved-replies/<int:reply_id>",
    summary="Change a saved reply (owners).",
    body=schemas.SavedReplyInSchema,
    response=schemas.SavedReplySchema,
)
def put_inbox_saved_reply(viewer: Viewer, reply_id: int, body: dict) -> dict:
    reply = save_reply(viewer.shop, body["title"], body["body"], reply_id)
    db.session.commit()
    return reply_data(reply)


@operation(
    "DELETE",
    "/inbox/saved-replies/<int:reply_id>",
    summary="Delete a saved reply (owners).",
    status=204,
)
def delete_inbox_saved_reply(viewer: Viewer, reply_id: int) -> None:
    delete_saved_reply(viewer.shop, reply_id)
    db.session.commit()


@operation(
    "GET",
    "/inbox/settings",
    summary="The shop's chat settings.",
    response=schemas.ChatSettingsSchema,
)
def get_inbox_settings(viewer: Viewer) -> dict[str, Any]:
    settings = settings_data(chat_settings(viewer.shop))
    db.session.commit()
    return settings


@operation(
    "PUT",
    "/inbox/settings",
    summary="Change some chat settings (owners); a refusal changes none.",
    body=schemas.ChatSettingsInSchema,
    response=schemas.ChatSettingsSchema,
)
def put_inbox_settings(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    settings = update_chat_settings(viewer.shop, **body)
    db.session.commit()
    return settings_data(settings)


# --- the live stream ----------------------------------------------------------


@operation(
    "POST",
    "/inbox/stream-token",
    summary="A stream address for EventSource, good for ten minutes.",
    response=schemas.StreamTokenSchema,
    agents=True,
)
def post_inbox_stream_token(viewer: Viewer) -> dict[str, Any]:
    member = agent_of(viewer)
    token = stream_token(viewer.shop, member)
    return {
        "url": url_for("admin.get_inbox_stream", token=token),
        "expires_in": STREAM_TOKEN_SECONDS,
    }


@operation(
    "GET",
    "/inbox/stream",
    summary="The shop's chat notices as server-sent events (message,"
    " conversation; resync: fetch again). 401 once the token expired.",
    query=schemas.StreamQuerySchema,
    produces="text/event-stream",
    public=True,
    errors=(401,),
)
def get_inbox_stream(viewer: None, query: dict[str, Any]) -> Response:
    shop = shop_of_stream_token(query["token"])
    return notice_stream(shop.id, lambda event: True)


def stream_token(shop: Shop, member: TeamMember) -> str:
    serializer = URLSafeTimedSerializer(
        current().settings.secret_key, salt=_STREAM_SALT
    )
    return serializer.dumps([shop.id, member.id])


def shop_of_stream_token(token: str) -> Shop:
    """The shop a stream token was signed for, while its member may still see it.

    Raises ``ApiError`` 401: ``stream_token_expired`` (ask for a new one) or
    ``invalid_stream_token``.
    """
    serializer = URLSafeTimedSerializer(
        current().settings.secret_key, salt=_STREAM_SALT
    )
    try:
        shop_id, member_id = serializer.loads(token, max_age=STREAM_TOKEN_SECONDS)
    except SignatureExpired:
        # The page asks for a new token when its stream fails: no log line.
        raise ApiError(
            401, "stream_token_expired", "The stream token expired; ask for a new one."
        ) from None
    except (BadSignature, TypeError, ValueError):
        logger.warning("admin.inbox_stream_token_refused")
        raise ApiError(
            401, "invalid_stream_token", "The stream token is not valid."
        ) from None

    shop = db.session.get(Shop, shop_id) if isinstance(shop_id, int) else None
    member = (
        db.session.get(TeamMember, member_id) if isinstance(member_id, int) else None
    )
    if (
        shop is None
        or not shop.is_installed
        or member is None
        or member.shop_id != shop.id
        or not member.active
    ):
        raise ApiError(
            401, "invalid_stream_token", "The stream token's team member is gone."
        )
    return shop


# --- what a request names, and what the screen and the API show ---------------


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


def conversation_data(
    shop: Shop, member: TeamMember, conversation: Conversation
) -> dict[str, Any]:
    """The conversation with its reply box's state and its assignment log."""
    row = conversation_row(shop, member, conversation)
    return {
        **row_data(row),
        "rating": conversation.rating,
        "rating_requested": describe_conversation(conversation)["rating_requested"],
        "last_seq": conversation.last_seq,
        "reply_state": reply_state(shop, conversation, utcnow()).describe(),
        "assignment_log": assignment_log(shop, conversation),
    }


def row_data(row: InboxRow) -> dict[str, Any]:
    return {
        "id": row.conversation_id,
        "status": row.status,
        "assignee": {"id": row.assignee.id, "name": row.assignee.name}
        if row.assignee is not None
        else None,
        "channel": row.channel,
        "shopper_name": row.shopper_name,
        "tags": [vars(tag) for tag in row.tags],
        "preview": row.preview,
        "last_message_at": iso(row.last_message_at),
        "waiting_since": iso(row.waiting_since),
        "follow_up_at": iso(row.follow_up_at),
        "unread": row.unread,
        "cursor": row.cursor,
    }


def member_data(member: TeamMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.display_name,
        "role": member.role,
        "on_shift": member.on_shift,
    }


def team_data(shop: Shop) -> list[dict[str, Any]]:
    members = sorted(
        (member for member in list_members(shop) if member.active),
        key=lambda member: member.display_name.lower(),
    )
    return [member_data(member) for member in members]


def tag_data(tag: ChatTag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "color": tag.color}


def reply_data(reply: SavedReply) -> dict[str, Any]:
    return {"id": reply.id, "title": reply.title, "body": reply.body}


def settings_data(settings: ChatSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SETTINGS_FIELDS}


def _next_cursor(rows: list[InboxRow], limit: int) -> str | None:
    return rows[-1].cursor if rows and len(rows) >= limit else None


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


def _saved_reply(shop: Shop, reply_id: int) -> SavedReply:
    for reply in list_saved_replies(shop):
        if reply.id == reply_id:
            return reply
    raise SetupItemNotFound(
        "saved_reply_not_found", f"No saved reply {reply_id} here.", "reply"
    )
