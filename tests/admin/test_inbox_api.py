"""The Inbox's API and screen: the team's conversations, each endpoint and its
refusals, one shop only, shoppers' words as text, and the live stream's token."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.chat import shopper
from engine.chat.casework import assign
from engine.chat.conversations import NewMessage, append
from engine.chat.images import store_image
from engine.chat.models import (
    IMAGE,
    NOTE,
    RATING_REQUEST,
    ChatAssignment,
    ChatMessage,
    ChatRead,
    ChatSettings,
    ChatTag,
    Conversation,
    SavedReply,
)
from engine.chat.setup import create_tag, list_tags, save_reply
from engine.commerce.models import Cart
from engine.db import db, utcnow
from engine.reminders.models import SENT, ReminderRun, ReminderSend
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.accounts import (
    STAFF_NAME,
    deactivate,
    member_by_platform_user,
    member_for_platform_user,
)
from engine.team.errors import InvalidMemberError
from engine.team.models import OWNER, TeamMember
from engine.team.passwords import password_matches
from engine.visitors.models import Visitor
from plugin import chat_stream
from plugin.admin.inbox_stream import stream_token
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, bearer, sign_in
from tests.chat import PASSWORD, a_conversation, a_member, a_visitor

API = "/api/admin/v1/inbox"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MARKUP = "<script>alert(1)</script>"


@dataclass
class Desk:
    """A signed-in team member's browser: every call carries the session's
    cookie and, on changes, its CSRF token."""

    client: FlaskClient
    csrf: str

    def get(self, path: str) -> TestResponse:
        return self.client.get(API + path, base_url=HTTPS)

    def post(self, path: str, body: Any = None) -> TestResponse:
        return self.client.post(API + path, base_url=HTTPS, **self._sent(body))

    def put(self, path: str, body: Any = None) -> TestResponse:
        return self.client.put(API + path, base_url=HTTPS, **self._sent(body))

    def delete(self, path: str) -> TestResponse:
        return self.client.delete(API + path, base_url=HTTPS, **self._sent(None))

    def _sent(self, body: Any) -> dict[str, Any]:
        sent: dict[str, Any] = {"headers": {"X-CSRF-Token": self.csrf}}
        if body is not None:
            sent["json"] = body
        return sent


def desk_of(app: Flask, shop: Shop, member: TeamMember) -> Desk:
    client = app.test_client()
    return Desk(client, sign_in(client, shop, member.email, PASSWORD))


@pytest.fixture
def mei(shop: Shop) -> TeamMember:
    """An agent of the shop."""
    return a_member(shop, "Mei")


@pytest.fixture
def jun(shop: Shop) -> TeamMember:
    """The shop's owner, who answers chats too."""
    return a_member(shop, "Jun", OWNER)


@pytest.fixture
def agent_desk(app: Flask, shop: Shop, mei: TeamMember) -> Desk:
    return desk_of(app, shop, mei)


@pytest.fixture
def owner_desk(app: Flask, shop: Shop, jun: TeamMember) -> Desk:
    return desk_of(app, shop, jun)


@pytest.fixture
def lin(shop: Shop) -> Visitor:
    return a_visitor(shop, "Lin")


@pytest.fixture
def conversation(shop: Shop, lin: Visitor) -> Conversation:
    """Lin asked twice; nobody has the case yet: seq 1-2."""
    return a_conversation(shop, lin, "Is the rope tug in stock?", "In red?")


@pytest.fixture
def other_shop(shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    from tests.conftest import OTHER_SHOP_DOMAIN, install_shop

    return install_shop(client, platform, OTHER_SHOP_DOMAIN)


def messages_of(conversation: Conversation) -> list[tuple[int, str, str, str | None]]:
    db.session.expire_all()
    return [
        (message.seq, message.author, message.kind, message.text)
        for message in db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation.id)
            .order_by(ChatMessage.seq)
        )
    ]


def a_sent_reminder(
    shop: Shop, visitor: Visitor, sent_at: datetime, content: list[dict]
) -> ReminderSend:
    # The cart it was about, since ordered (the sidebar shows no live cart).
    cart = Cart(
        shop_id=shop.id,
        token=uuid.uuid4().hex,
        visitor_id=visitor.id,
        ordered_at=sent_at + timedelta(minutes=5),
    )
    db.session.add(cart)
    db.session.flush()
    run = ReminderRun(
        shop_id=shop.id,
        cart_id=cart.id,
        visitor_id=visitor.id,
        cart_fingerprint="f",
        last_activity_at=sent_at,
        abandoned_at=sent_at,
    )
    db.session.add(run)
    db.session.flush()
    send = ReminderSend(
        shop_id=shop.id,
        run_id=run.id,
        position=1,
        visitor_id=visitor.id,
        status=SENT,
        planned_at=sent_at,
        due_at=sent_at,
        retry_key=str(uuid.uuid4()),
        channel="line",
        sent_at=sent_at,
        content=content,
    )
    db.session.add(send)
    db.session.commit()
    return send


def said_at(conversation: Conversation, seq: int, moment: datetime) -> None:
    """Move a message's time, to place reminders between messages."""
    message = db.session.scalar(
        select(ChatMessage).where(
            ChatMessage.conversation_id == conversation.id, ChatMessage.seq == seq
        )
    )
    message.created_at = moment
    db.session.commit()


# --- who the agent is ---------------------------------------------------------


def test_a_staff_user_gets_one_member_of_their_own(shop: Shop) -> None:
    # when the same staff user acts twice
    first = member_for_platform_user(shop, "4401")
    db.session.commit()
    again = member_for_platform_user(shop, "4401")

    # then one owner named "Store staff", whose password nobody knows
    assert again.id == first.id
    assert (first.display_name, first.role, first.platform_user_id) == (
        STAFF_NAME,
        OWNER,
        "4401",
    )
    assert first.password_hash.startswith("$argon2id$")
    assert not password_matches(first.password_hash, "")
    assert db.session.scalar(select(func.count()).select_from(TeamMember)) == 1


def test_a_member_linked_to_the_staff_id_is_that_staff_user(
    shop: Shop, jun: TeamMember
) -> None:
    # given Jun works inside the store admin too
    jun.platform_user_id = "4401"
    db.session.commit()

    # when
    found = member_for_platform_user(shop, "4401")

    # then Jun, and no one new
    assert found.id == jun.id
    assert member_by_platform_user(shop, "9999") is None


def test_a_staff_id_of_nothing_is_refused(shop: Shop) -> None:
    # when / then
    for staff_id in ("", "   ", "x" * 65):
        with pytest.raises(InvalidMemberError) as refusal:
            member_for_platform_user(shop, staff_id)
        assert refusal.value.field == "platform_user_id"


def test_inside_the_store_admin_the_staff_user_works_as_their_member(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    conversation: Conversation,
) -> None:
    # given the store admin's session token of staff user 7
    headers = bearer(platform, shop, user_id=7)
    path = f"{API}/conversations/{conversation.public_id}"

    # when they answer, and list their own conversations
    reply = client.post(
        f"{path}/replies", headers=headers, json={"text": "Yes, in red too."}
    )
    mine = client.get(f"{API}/conversations?queue=mine", headers=headers)
    team = client.get(f"{API}/team", headers=headers)

    # then the answer is theirs, the case is theirs, and they are "me"
    assert reply.status_code == 201, reply.json
    assert reply.json["message"]["name"] == STAFF_NAME
    staff = member_by_platform_user(shop, "7")
    assert [row["id"] for row in mine.json["conversations"]] == [conversation.public_id]
    assert mine.json["conversations"][0]["assignee"] == {
        "id": staff.id,
        "name": STAFF_NAME,
    }
    assert team.json["me"] == {
        "id": staff.id,
        "name": STAFF_NAME,
        "role": "owner",
        "on_shift": True,
    }


# --- the list -----------------------------------------------------------------


def test_the_list_filters_by_queue_status_tag_channel_and_assignee(
    agent_desk: Desk, shop: Shop, mei: TeamMember, jun: TeamMember
) -> None:
    # given Mei's case (LINE, tagged), Jun's pending case, an unassigned one
    # and a resolved one
    tag = create_tag(shop, "vip")
    hers = a_conversation(shop, a_visitor(shop, "Ann"), "Hello")
    hers.reply_channel = "line"
    assign(shop, hers, mei, jun)
    his = a_conversation(shop, a_visitor(shop, "Bo"), "Hi")
    assign(shop, his, jun, jun)
    his.status = "pending"
    nobodys = a_conversation(shop, a_visitor(shop, "Cy"), "Hey")
    done = a_conversation(shop, a_visitor(shop, "Di"), "Thanks")
    done.status = "resolved"
    db.session.commit()
    tagged = agent_desk.put(f"/conversations/{hers.public_id}/tags", {"tags": [tag.id]})
    assert tagged.status_code == 200, tagged.json

    def names(query: str) -> list[str]:
        response = agent_desk.get(f"/conversations?{query}")
        assert response.status_code == 200, response.json
        return sorted(row["shopper_name"] for row in response.json["conversations"])

    # when / then
    assert names("queue=mine") == ["Ann"]
    assert names("queue=team") == ["Ann", "Bo", "Cy"]
    assert names("queue=unassigned") == ["Cy"]
    assert names("queue=all") == ["Ann", "Bo", "Cy", "Di"]
    assert names("queue=all&status=resolved") == ["Di"]
    assert names(f"queue=all&tag={tag.id}") == ["Ann"]
    assert names("queue=all&channel=line") == ["Ann"]
    assert names(f"queue=all&assignee={jun.id}") == ["Bo"]
    listed = agent_desk.get("/conversations?queue=unassigned").json
    assert listed["unread"] == {"mine": 1, "team": 3, "unassigned": 1}
    assert listed["next_cursor"] is None
    [row] = listed["conversations"]
    assert row == {
        "id": nobodys.public_id,
        "status": "open",
        "assignee": None,
        "channel": "web",
        "shopper_name": "Cy",
        "tags": [],
        "preview": "Hey",
        "last_message_at": row["last_message_at"],
        "waiting_since": row["waiting_since"],
        "follow_up_at": None,
        "unread": 1,
        "cursor": row["cursor"],
    }
    assert row["last_message_at"].endswith("Z")


def test_the_list_pages_with_the_cursor(agent_desk: Desk, shop: Shop) -> None:
    # given three conversations
    for name in ("Ann", "Bo", "Cy"):
        a_conversation(shop, a_visitor(shop, name), "Hello")

    # when read two at a time
    first = agent_desk.get("/conversations?queue=all&limit=2").json
    second = agent_desk.get(
        f"/conversations?queue=all&limit=2&before={first['next_cursor']}"
    ).json

    # then newest first, each once
    names = [row["shopper_name"] for row in first["conversations"]]
    names += [row["shopper_name"] for row in second["conversations"]]
    assert names == ["Cy", "Bo", "Ann"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("queue=everything", "queue"),
        ("status=closed", "status"),
        ("channel=fax", "channel"),
        ("limit=0", "limit"),
        ("tag=red", "tag"),
        ("before=yesterday", "before"),
        ("colour=red", "colour"),
    ],
)
def test_the_list_refuses_a_filter_naming_it(
    agent_desk: Desk, query: str, field: str
) -> None:
    # when
    response = agent_desk.get(f"/conversations?{query}")

    # then
    assert response.status_code == 422
    assert response.json["field"] == field
    assert set(response.json) == {"detail", "code", "field"}


# --- one conversation ---------------------------------------------------------


def test_a_conversation_shows_its_timeline_with_notes_images_and_reminders(
    agent_desk: Desk, shop: Shop, lin: Visitor, mei: TeamMember, jun: TeamMember
) -> None:
    # given Lin asked (seq 1), got a LINE reminder, sent an image (2), Jun left
    # a note handing the case to Mei (3), and Mei answered (4)
    start = utcnow() - timedelta(hours=3)
    conversation = a_conversation(shop, lin, "Is the rope tug in stock?")
    said_at(conversation, 1, start)
    image = store_image(shop.id, PNG, "image/png")
    append(conversation, NewMessage(author="shopper", kind=IMAGE, image=image))
    db.session.commit()
    said_at(conversation, 2, start + timedelta(hours=2))
    a_sent_reminder(
        shop,
        lin,
        start + timedelta(hours=1),
        [
            {"type": "carousel", "alt_text": "Your cart", "cards": []},
            {"type": "text", "text": "Still  thinking\nabout it?"},
        ],
    )
    assign(shop, conversation, mei, jun, note="She wants red.")
    db.session.commit()
    agent_desk.post(
        f"/conversations/{conversation.public_id}/replies",
        {"text": "Red is in stock.", "client_id": str(uuid.uuid4())},
    )

    # when
    response = agent_desk.get(f"/conversations/{conversation.public_id}")

    # then the timeline reads in time order, the reminder between messages
    assert response.status_code == 200, response.json
    page = response.json
    assert page["has_more"] is False
    assert [
        (item["seq"], item["author"], item["kind"], item["name"], item["text"])
        for item in page["timeline"]
    ] == [
        (1, "shopper", "text", None, "Is the rope tug in stock?"),
        (None, "system", "reminder", None, "Reminder sent on LINE: Your cart"),
        (2, "shopper", "image", None, None),
        (3, "agent", NOTE, "Jun", "She wants red."),
        (4, "agent", "text", "Mei", "Red is in stock."),
    ]
    assert page["timeline"][2]["image_url"] == f"/chat/images/{image.public_id}"
    reminder = page["timeline"][1]
    assert (reminder["channel"], reminder["clicked"]) == ("line", False)
    header = page["conversation"]
    assert (header["id"], header["status"], header["shopper_name"]) == (
        conversation.public_id,
        "open",
        "Lin",
    )
    assert header["assignee"] == {"id": mei.id, "name": "Mei"}
    assert header["last_seq"] == 4
    assert header["reply_state"] == {
        "channel": "web",
        "open": True,
        "how": "widget",
        "until": None,
        "reason": None,
    }
    assert [
        (entry["from"], entry["to"], entry["by"], entry["reason"])
        for entry in header["assignment_log"]
    ] == [(None, "Mei", "Jun", "assigned")]


def test_the_timeline_pages_by_seq_and_shows_a_reminder_once_per_gap(
    agent_desk: Desk, shop: Shop, lin: Visitor
) -> None:
    # given two messages with a reminder between them, and a third message
    start = utcnow() - timedelta(hours=3)
    conversation = a_conversation(shop, lin, "One", "Two", "Three")
    for seq in (1, 2, 3):
        said_at(conversation, seq, start + timedelta(hours=seq - 1))
    a_sent_reminder(
        shop, lin, start + timedelta(minutes=30), [{"type": "text", "text": "Hi"}]
    )
    path = f"/conversations/{conversation.public_id}"

    # when read after each seq
    pages = [agent_desk.get(f"{path}?after={seq}").json for seq in (0, 1, 2, 3)]

    # then the reminder comes with the messages after seq 1 only
    assert [[item["seq"] for item in page["timeline"]] for page in pages] == [
        [1, None, 2, 3],
        [None, 2, 3],
        [3],
        [],
    ]


def test_an_unknown_conversation_is_404(agent_desk: Desk) -> None:
    # when
    response = agent_desk.get("/conversations/nobody-has-this-id")

    # then
    assert response.status_code == 404
    assert response.json["code"] == "conversation_not_found"


def test_the_reply_box_says_how_a_line_reply_goes_and_when_that_ends(
    agent_desk: Desk, conversation: Conversation
) -> None:
    # given Lin now writes on LINE, with a fresh reply token
    now = utcnow()
    conversation.reply_channel = "line"
    conversation.line_user_id = "U-lin"
    conversation.line_reply_token = "token"
    conversation.line_reply_token_at = now
    db.session.commit()

    # when
    state = agent_desk.get(f"/conversations/{conversation.public_id}").json[
        "conversation"
    ]["reply_state"]

    # then
    assert (state["channel"], state["open"], state["how"]) == (
        "line",
        True,
        "reply_token",
    )
    until = datetime.fromisoformat(state["until"].replace("Z", "+00:00"))
    assert now < until <= now + timedelta(minutes=1)


def test_the_sidebar_shows_the_shopper(
    agent_desk: Desk, shop: Shop, lin: Visitor, conversation: Conversation
) -> None:
    # given a reminder Lin got
    sent_at = utcnow() - timedelta(hours=1)
    a_sent_reminder(shop, lin, sent_at, [{"type": "text", "text": "Hi"}])

    # when
    response = agent_desk.get(f"/conversations/{conversation.public_id}/sidebar")

    # then
    assert response.status_code == 200, response.json
    sidebar = response.json
    assert sidebar["visitor"]["first_name"] == "Lin"
    assert (sidebar["cart"], sidebar["orders"], sidebar["wallet"]) == (None, [], None)
    assert sidebar["reminders"] == [
        {
            "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
            "channel": "line",
            "step": 1,
            "clicked": False,
        }
    ]


# --- replies and notes --------------------------------------------------------


def test_a_reply_is_stored_once_per_client_id_and_takes_the_case(
    agent_desk: Desk, mei: TeamMember, conversation: Conversation
) -> None:
    # given
    path = f"/conversations/{conversation.public_id}/replies"
    body = {"text": "Yes, three left.", "client_id": str(uuid.uuid4())}

    # when the page sends it twice (its first answer was lost)
    first = agent_desk.post(path, body)
    second = agent_desk.post(path, body)

    # then one message, under Mei's name, and the case is hers
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json["message"] == second.json["message"]
    assert first.json["message"]["seq"] == 3
    assert first.json["message"]["name"] == "Mei"
    assert first.json["reply_state"]["open"] is True
    assert messages_of(conversation)[2:] == [(3, "agent", "text", "Yes, three left.")]
    db.session.refresh(conversation)
    assert conversation.assignee_id == mei.id


def test_a_reply_on_a_closed_channel_is_409_and_stores_nothing(
    agent_desk: Desk, conversation: Conversation
) -> None:
    # given Lin last wrote on Messenger two days ago
    conversation.reply_channel = "messenger"
    conversation.messenger_psid = "psid-lin"
    conversation.last_shopper_message_at = utcnow() - timedelta(days=2)
    db.session.commit()
    before = messages_of(conversation)

    # when
    response = agent_desk.post(
        f"/conversations/{conversation.public_id}/replies", {"text": "Sorry!"}
    )
    state = agent_desk.get(f"/conversations/{conversation.public_id}").json[
        "conversation"
    ]["reply_state"]

    # then refused with the reason the reply box shows
    assert response.status_code == 409
    assert response.json["code"] == "channel_closed"
    assert response.json["field"] == "text"
    assert "over 24 hours" in response.json["detail"]
    assert (state["open"], state["reason"]) == (False, response.json["detail"])
    assert messages_of(conversation) == before
    db.session.refresh(conversation)
    assert conversation.assignee_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({}, "text"),
        ({"text": "Hi", "client_id": ""}, "client_id"),
        ({"text": "Hi", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_reply_is_422_naming_the_field(
    agent_desk: Desk, conversation: Conversation, body: dict, field: str
) -> None:
    # when
    response = agent_desk.post(f"/conversations/{conversation.public_id}/replies", body)

    # then
    assert response.status_code == 422
    assert response.json["field"] == field
    assert len(messages_of(conversation)) == 2


def test_a_note_is_for_the_team_only(
    agent_desk: Desk, shop: Shop, lin: Visitor, conversation: Conversation
) -> None:
    # when
    response = agent_desk.post(
        f"/conversations/{conversation.public_id}/notes", {"text": "Ask the depot."}
    )

    # then the team sees it; the shopper's history does not
    assert response.status_code == 201
    assert (response.json["message"]["kind"], response.json["message"]["name"]) == (
        NOTE,
        "Mei",
    )
    _, history = shopper.history(shop, lin.public_id, None)
    assert [message.seq for message in history] == [1, 2]
    assert messages_of(conversation)[-1] == (3, "agent", NOTE, "Ask the depot.")


# --- the case -----------------------------------------------------------------


def test_assign_and_hand_over_log_the_change_and_leave_the_note(
    agent_desk: Desk, mei: TeamMember, jun: TeamMember, conversation: Conversation
) -> None:
    # given
    path = f"/conversations/{conversation.public_id}"

    # when Mei takes it, then hands it to Jun with a note
    taken = agent_desk.post(f"{path}/assign", {"assignee": mei.id})
    handed = agent_desk.post(
        f"{path}/hand-over", {"assignee": jun.id, "note": "Wants red."}
    )

    # then
    assert (taken.status_code, handed.status_code) == (200, 200)
    assert taken.json["assignee"] == {"id": mei.id, "name": "Mei"}
    assert handed.json["assignee"] == {"id": jun.id, "name": "Jun"}
    assert [
        (entry["from"], entry["to"], entry["by"], entry["reason"])
        for entry in handed.json["assignment_log"]
    ] == [(None, "Mei", "Mei", "assigned"), ("Mei", "Jun", "Mei", "handed_over")]
    assert messages_of(conversation)[-1] == (3, "agent", NOTE, "Wants red.")


def test_back_to_the_queue_and_a_stranger_is_refused(
    agent_desk: Desk,
    mei: TeamMember,
    other_shop: Shop,
    conversation: Conversation,
) -> None:
    # given the case is Mei's; a member of another shop exists
    stranger = a_member(other_shop, "Kai")
    path = f"/conversations/{conversation.public_id}/assign"
    agent_desk.post(path, {"assignee": mei.id})

    # when
    refused = agent_desk.post(path, {"assignee": stranger.id})
    queued = agent_desk.post(path, {"assignee": None})

    # then
    assert refused.status_code == 422
    assert (refused.json["code"], refused.json["field"]) == (
        "invalid_assignee",
        "assignee",
    )
    assert queued.json["assignee"] is None
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ChatAssignment)) == 2


def test_the_shift_change_hands_over_every_open_case(
    agent_desk: Desk, shop: Shop, mei: TeamMember, jun: TeamMember
) -> None:
    # given Mei has two open cases and a resolved one
    cases = [a_conversation(shop, a_visitor(shop, name), "Hello") for name in "ABC"]
    for case in cases:
        assign(shop, case, mei, mei)
    cases[2].status = "resolved"
    db.session.commit()

    # when she ends her shift
    handed = agent_desk.post(
        "/hand-over-all", {"assignee": jun.id, "note": "Both wait for stock."}
    )
    off = agent_desk.put("/shift", {"on_shift": False})

    # then
    assert handed.json == {"handed_over": 2}
    db.session.expire_all()
    assert [case.assignee_id for case in cases] == [jun.id, jun.id, mei.id]
    assert off.json == {"id": mei.id, "name": "Mei", "role": "agent", "on_shift": False}
    assert db.session.get(TeamMember, mei.id).on_shift is False


def test_status_pending_with_a_follow_up_then_resolved_asks_for_a_rating(
    agent_desk: Desk, conversation: Conversation
) -> None:
    # given
    path = f"/conversations/{conversation.public_id}/status"
    follow_up = (utcnow() + timedelta(days=2)).replace(microsecond=0)

    # when
    pending = agent_desk.put(
        path, {"status": "pending", "follow_up_at": follow_up.isoformat()}
    )
    resolved = agent_desk.put(path, {"status": "resolved"})

    # then
    assert (pending.json["status"], pending.json["follow_up_at"]) == (
        "pending",
        follow_up.isoformat().replace("+00:00", "Z"),
    )
    assert resolved.json["status"] == "resolved"
    assert resolved.json["rating_requested"] is True
    assert messages_of(conversation)[-1][2] == RATING_REQUEST


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"status": "pending", "follow_up_at": "2020-01-01T00:00:00Z"}, "follow_up_at"),
        ({"status": "open", "follow_up_at": "2099-01-01T00:00:00Z"}, "follow_up_at"),
        ({"status": "pending", "follow_up_at": "2030-01-01T00:00:00"}, "follow_up_at"),
    ],
)
def test_a_bad_status_is_422_naming_the_field(
    agent_desk: Desk, conversation: Conversation, body: dict, field: str
) -> None:
    # when
    response = agent_desk.put(f"/conversations/{conversation.public_id}/status", body)

    # then
    assert response.status_code == 422
    assert response.json["field"] == field
    db.session.refresh(conversation)
    assert (conversation.status, conversation.follow_up_at) == ("open", None)


def test_tags_are_set_exactly_and_only_the_shops_own(
    agent_desk: Desk, shop: Shop, other_shop: Shop, conversation: Conversation
) -> None:
    # given
    ours = create_tag(shop, "vip")
    theirs = create_tag(other_shop, "secret")
    db.session.commit()
    path = f"/conversations/{conversation.public_id}/tags"

    # when
    set_ = agent_desk.put(path, {"tags": [ours.id]})
    refused = agent_desk.put(path, {"tags": [ours.id, theirs.id]})
    listed = agent_desk.get("/conversations?queue=all").json["conversations"]

    # then
    assert set_.json == {"tags": [{"id": ours.id, "name": "vip", "color": "#5c6ac4"}]}
    assert (refused.status_code, refused.json["field"]) == (422, "tags")
    assert [tag["name"] for tag in listed[0]["tags"]] == ["vip"]


def test_read_marks_clear_the_unread_counts(
    agent_desk: Desk, mei: TeamMember, conversation: Conversation
) -> None:
    # given
    path = f"/conversations/{conversation.public_id}/read"

    # when Mei reads up to seq 1, then all
    partly = agent_desk.post(path, {"seq": 1})
    fully = agent_desk.post(path, {"seq": 2})
    refused = agent_desk.post(path, {"seq": -1})

    # then
    assert partly.json == {"mine": 0, "team": 1, "unassigned": 1}
    assert fully.json == {"mine": 0, "team": 0, "unassigned": 0}
    assert (refused.status_code, refused.json["field"]) == (422, "seq")
    assert db.session.scalar(select(ChatRead.last_read_seq)) == 2


def test_the_team_lists_active_members_and_me(
    agent_desk: Desk, shop: Shop, mei: TeamMember, jun: TeamMember
) -> None:
    # given a deactivated member
    gone = a_member(shop, "Gus")
    deactivate(shop, gone.id)
    db.session.commit()

    # when
    team = agent_desk.get("/team").json

    # then
    assert [member["name"] for member in team["members"]] == ["Jun", "Mei"]
    assert team["me"]["id"] == mei.id


# --- set-up: tags, saved replies, settings ------------------------------------


def test_owners_manage_tags(owner_desk: Desk, shop: Shop) -> None:
    # when
    listed = owner_desk.get("/tags")
    created = owner_desk.post("/tags", {"name": "vip", "color": "#FF0000"})
    renamed = owner_desk.put(
        f"/tags/{created.json['id']}", {"name": "VIP", "color": None}
    )
    duplicate = owner_desk.post("/tags", {"name": "vip"})
    deleted = owner_desk.delete(f"/tags/{created.json['id']}")

    # then the defaults were there first
    assert [tag["name"] for tag in listed.json["tags"]] == [
        "defective product",
        "order status",
        "return/exchange",
    ]
    assert created.status_code == 201
    assert created.json["color"] == "#ff0000"
    assert renamed.json["name"] == "VIP"
    assert (duplicate.status_code, duplicate.json["field"]) == (422, "name")
    assert deleted.status_code == 204
    assert len(list_tags(shop)) == 3


def test_owners_manage_saved_replies_and_agents_fill_them(
    owner_desk: Desk, agent_desk: Desk, shop: Shop, conversation: Conversation
) -> None:
    # when
    created = owner_desk.post(
        "/saved-replies",
        {"title": "Hello", "body": "Hi {first_name|there}, {agent_name} here."},
    )
    reply_id = created.json["id"]
    changed = owner_desk.put(
        f"/saved-replies/{reply_id}",
        {"title": "Hello", "body": "Hi {first_name|there}, this is {agent_name}."},
    )
    unknown = owner_desk.post("/saved-replies", {"title": "x", "body": "{price}"})
    filled = agent_desk.get(
        f"/conversations/{conversation.public_id}/saved-replies/{reply_id}"
    )
    listed = agent_desk.get("/saved-replies")
    deleted = owner_desk.delete(f"/saved-replies/{reply_id}")

    # then
    assert created.status_code == 201
    assert changed.json["body"] == "Hi {first_name|there}, this is {agent_name}."
    assert (unknown.status_code, unknown.json["field"]) == (422, "body")
    assert filled.json == {"text": "Hi Lin, this is Mei."}
    assert [reply["title"] for reply in listed.json["saved_replies"]] == ["Hello"]
    assert deleted.status_code == 204
    assert db.session.scalar(select(func.count()).select_from(SavedReply)) == 0


def test_owners_change_the_chat_settings(owner_desk: Desk, shop: Shop) -> None:
    # when
    before = owner_desk.get("/settings")
    changed = owner_desk.put(
        "/settings", {"no_reply_minutes": 30, "closed_note_en": "Back at nine."}
    )
    refused = owner_desk.put(
        "/settings", {"no_reply_minutes": 0, "closed_note_en": "Never stored."}
    )

    # then
    assert before.json == {
        "enabled": True,
        "no_reply_minutes": 15,
        "no_reply_action": "colleague",
        "closed_note_en": None,
        "closed_note_zh": None,
        "messenger_human_agent": False,
        "ask_rating": True,
    }
    assert (changed.json["no_reply_minutes"], changed.json["closed_note_en"]) == (
        30,
        "Back at nine.",
    )
    assert (refused.status_code, refused.json["field"]) == (422, "no_reply_minutes")
    db.session.expire_all()
    settings = db.session.get(ChatSettings, shop.id)
    assert (settings.no_reply_minutes, settings.closed_note_en) == (30, "Back at nine.")


def test_an_agent_reads_the_set_up_but_cannot_change_it(
    agent_desk: Desk, shop: Shop
) -> None:
    # given
    tag = create_tag(shop, "vip")
    reply = save_reply(shop, "Hello", "Hi!")
    db.session.commit()

    # when
    reads = [agent_desk.get(path) for path in ("/tags", "/saved-replies", "/settings")]
    changes = [
        agent_desk.post("/tags", {"name": "new"}),
        agent_desk.put(f"/tags/{tag.id}", {"name": "renamed"}),
        agent_desk.delete(f"/tags/{tag.id}"),
        agent_desk.post("/saved-replies", {"title": "New", "body": "x"}),
        agent_desk.put(f"/saved-replies/{reply.id}", {"title": "Hi", "body": "x"}),
        agent_desk.delete(f"/saved-replies/{reply.id}"),
        agent_desk.put("/settings", {"enabled": False}),
    ]

    # then
    assert [response.status_code for response in reads] == [200, 200, 200]
    assert [response.status_code for response in changes] == [403] * 7
    assert {response.json["code"] for response in changes} == {"owner_only"}
    db.session.expire_all()
    assert sorted(tag.name for tag in list_tags(shop)) == [
        "defective product",
        "order status",
        "return/exchange",
        "vip",
    ]
    assert db.session.get(SavedReply, reply.id).title == "Hello"
    assert db.session.get(ChatSettings, shop.id).enabled is True


def test_an_agent_does_the_daily_work(
    agent_desk: Desk, mei: TeamMember, shop: Shop, conversation: Conversation
) -> None:
    # given
    tag = create_tag(shop, "vip")
    db.session.commit()
    path = f"/conversations/{conversation.public_id}"

    # when
    done = [
        agent_desk.post(f"{path}/replies", {"text": "On it."}),
        agent_desk.post(f"{path}/notes", {"text": "Checking."}),
        agent_desk.post(f"{path}/assign", {"assignee": mei.id}),
        agent_desk.put(f"{path}/tags", {"tags": [tag.id]}),
        agent_desk.put(f"{path}/status", {"status": "pending"}),
        agent_desk.post(f"{path}/read", {"seq": 2}),
        agent_desk.put("/shift", {"on_shift": True}),
        agent_desk.post("/stream-token"),
    ]

    # then
    assert [response.status_code for response in done] == [
        201,
        201,
        200,
        200,
        200,
        200,
        200,
        200,
    ]


# --- one shop only ------------------------------------------------------------


def test_another_shops_conversation_is_404_everywhere(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, other_shop: Shop
) -> None:
    # given the other shop's conversation, tag and saved reply
    theirs = a_conversation(other_shop, a_visitor(other_shop, "Secret"), "Psst")
    tag = create_tag(other_shop, "secret")
    reply = save_reply(other_shop, "Secret", "Secret text")
    db.session.commit()
    before = messages_of(theirs)
    headers = bearer(platform, shop)
    path = f"{API}/conversations/{theirs.public_id}"

    # when
    answers = [
        client.get(path, headers=headers),
        client.get(f"{path}/sidebar", headers=headers),
        client.get(f"{path}/saved-replies/{reply.id}", headers=headers),
        client.post(f"{path}/replies", headers=headers, json={"text": "Hi"}),
        client.post(f"{path}/notes", headers=headers, json={"text": "Hi"}),
        client.post(f"{path}/assign", headers=headers, json={"assignee": None}),
        client.post(f"{path}/hand-over", headers=headers, json={"assignee": None}),
        client.put(f"{path}/status", headers=headers, json={"status": "resolved"}),
        client.put(f"{path}/tags", headers=headers, json={"tags": []}),
        client.post(f"{path}/read", headers=headers, json={"seq": 1}),
        client.put(f"{API}/tags/{tag.id}", headers=headers, json={"name": "x"}),
        client.delete(f"{API}/tags/{tag.id}", headers=headers),
        client.put(
            f"{API}/saved-replies/{reply.id}",
            headers=headers,
            json={"title": "x", "body": "x"},
        ),
        client.delete(f"{API}/saved-replies/{reply.id}", headers=headers),
    ]
    listed = client.get(f"{API}/conversations?queue=all", headers=headers)

    # then
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert listed.json["conversations"] == []
    for answer in [*answers, listed]:
        assert "Secret" not in answer.get_data(as_text=True)
    assert messages_of(theirs) == before
    db.session.expire_all()
    assert db.session.get(Conversation, theirs.id).status == "open"
    assert db.session.get(ChatTag, tag.id).name == "secret"
    assert db.session.get(SavedReply, reply.id).body == "Secret text"


# --- shoppers' words are text -------------------------------------------------


def test_markup_from_a_shopper_comes_back_as_text(
    agent_desk: Desk, shop: Shop, mei: TeamMember
) -> None:
    # given a shopper whose name and message are markup
    visitor = a_visitor(shop, MARKUP)
    conversation = a_conversation(shop, visitor, f"Hello {MARKUP}")
    conversation.shopper_name = MARKUP
    db.session.commit()

    # when
    listed = agent_desk.get("/conversations?queue=all")
    page = agent_desk.get(f"/conversations/{conversation.public_id}")
    screen = agent_desk.client.get("/admin/inbox", base_url=HTTPS)

    # then the API carries the exact text; the screen never holds it as markup
    assert listed.json["conversations"][0]["shopper_name"] == MARKUP
    assert listed.json["conversations"][0]["preview"] == f"Hello {MARKUP}"
    assert page.json["timeline"][0]["text"] == f"Hello {MARKUP}"
    assert listed.headers["Content-Type"] == "application/json"
    html = screen.get_data(as_text=True)
    assert screen.status_code == 200
    assert MARKUP not in html
    assert "<script>alert" not in html
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html


def test_the_screen_starts_with_the_team_queue(
    agent_desk: Desk, shop: Shop, conversation: Conversation
) -> None:
    # when
    screen = agent_desk.client.get("/admin/inbox", base_url=HTTPS)

    # then its navigation entry follows Home, and the list is in its data
    html = screen.get_data(as_text=True)
    assert screen.status_code == 200
    boot = json.loads(
        html.split('<script type="application/json" id="inbox-boot">')[1].split(
            "</script>"
        )[0]
    )
    assert [row["id"] for row in boot["list"]["conversations"]] == [
        conversation.public_id
    ]
    assert (boot["me"]["name"], boot["is_owner"]) == ("Mei", False)
    assert html.index(">Home<") < html.index(">Inbox<") < html.index(">Reminders<")
    assert 'id="inbox-settings"' in html
    assert '<fieldset class="plain" disabled>' in html


# --- the live stream ----------------------------------------------------------


def notices_until(
    response: TestResponse, publish: Any, seen: Any, rounds: int = 100
) -> list[dict[str, Any]]:
    """Read the stream's events, publishing again after each quiet moment (the
    process's hub may still be subscribing), until ``seen(events)``."""
    events: list[dict[str, Any]] = []
    chunks = iter(response.response)
    try:
        for _ in range(rounds):
            chunk = next(chunks)
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith(": ping"):
                publish()
                continue
            lines = dict(
                line.split(": ", 1)
                for line in text.strip().splitlines()
                if ": " in line
            )
            if "data" in lines:
                events.append(
                    {"event": lines.get("event"), **json.loads(lines["data"])}
                )
            if seen(events):
                break
    finally:
        response.close()
    return events


def test_a_stream_token_opens_the_shops_notices_only(
    monkeypatch: pytest.MonkeyPatch,
    agent_desk: Desk,
    client: FlaskClient,
    shop: Shop,
    other_shop: Shop,
) -> None:
    # given the other shop's member's stream token, from its own desk
    monkeypatch.setattr(chat_stream, "PING_SECONDS", 0.1)
    stranger = a_member(other_shop, "Kai")
    ours = agent_desk.post("/stream-token")
    theirs_url = f"{API}/stream?token={stream_token(other_shop, stranger)}"
    redis = current().redis
    # Unique ids: Redis channels are shared by every process using the server.
    markers = {shop.id: f"ours-{uuid.uuid4()}", other_shop.id: f"theirs-{uuid.uuid4()}"}

    def publish() -> None:
        for shop_id, marker in markers.items():
            redis.publish(
                f"revisit:chat:{shop_id}",
                json.dumps({"type": "message", "conversation": marker, "seq": 1}),
            )

    def mine(events: list[dict[str, Any]]) -> list[str]:
        wanted = set(markers.values())
        return [
            event["conversation"]
            for event in events
            if event.get("conversation") in wanted
        ]

    # when their stream is read until their notice arrives
    response = client.get(theirs_url)
    events = notices_until(
        response, publish, lambda got: markers[other_shop.id] in mine(got)
    )

    # then our own token is an address of the same kind of stream, and theirs
    # carried none of our notices
    assert ours.status_code == 200
    assert ours.json["url"].startswith(f"{API}/stream?token=")
    assert ours.json["expires_in"] == 600
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert set(mine(events)) == {markers[other_shop.id]}
    assert {event["event"] for event in events} == {"message"}


def test_a_stale_or_foreign_stream_token_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    agent_desk: Desk,
    client: FlaskClient,
    shop: Shop,
) -> None:
    # given a token issued eleven minutes ago, the widget's own kind of token,
    # one of a member since deactivated, and a forged one
    real_time = time.time
    monkeypatch.setattr(
        "itsdangerous.timed.time", SimpleNamespace(time=lambda: real_time() - 660)
    )
    stale = agent_desk.post("/stream-token").json["url"]
    monkeypatch.undo()
    widget = shopper.stream_token(current().settings.secret_key, shop.id, "v")
    gus = a_member(shop, "Gus")
    former = stream_token(shop, gus)
    deactivate(shop, gus.id)
    db.session.commit()
    fresh = agent_desk.post("/stream-token").json["url"]

    # when
    answers = {
        "stale": client.get(stale),
        "widget": client.get(f"{API}/stream?token={widget}"),
        "former": client.get(f"{API}/stream?token={former}"),
        "forged": client.get(fresh[:-3] + "abc"),
        "missing": client.get(f"{API}/stream"),
    }

    # then
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "stale": 401,
        "widget": 401,
        "former": 401,
        "forged": 401,
        "missing": 422,
    }
    assert answers["stale"].json["code"] == "stream_token_expired"
    assert {answers[name].json["code"] for name in ("widget", "former", "forged")} == {
        "invalid_stream_token"
    }
