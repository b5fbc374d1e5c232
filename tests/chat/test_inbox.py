"""The inbox: queues, filters, pages, previews and unread counts per member."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.chat import casework
from engine.chat.conversations import NewMessage, append
from engine.chat.errors import InvalidChatInput
from engine.chat.images import store_image
from engine.chat.inbox import list_conversations, unread_summary
from engine.chat.models import (
    IMAGE,
    LINE,
    NOTE,
    OPEN,
    PENDING,
    RESOLVED,
    SHOPPER,
    Conversation,
)
from engine.chat.setup import list_tags
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.team.models import TeamMember
from tests.chat import (
    a_conversation,
    a_visitor,
    agent_says,
    shopper_says,
    statements_sent,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ids(rows: list) -> list[str]:
    return [row.conversation_id for row in rows]


@pytest.fixture
def cases(
    shop: Shop, agent: TeamMember, colleague: TeamMember
) -> dict[str, Conversation]:
    """Four conversations, oldest activity first: Mei's open one, an unassigned
    one, Jun's pending one and a resolved one."""
    cases = {
        "mine": a_conversation(shop, a_visitor(shop, "Ann"), "Where is my order?"),
        "unassigned": a_conversation(shop, a_visitor(shop, "Bo"), "Hello?"),
        "pending": a_conversation(shop, a_visitor(shop, "Cy"), "Refund please"),
        "resolved": a_conversation(shop, a_visitor(shop, "Di"), "Thanks!"),
    }
    casework.assign(shop, cases["mine"], agent, agent)
    casework.assign(shop, cases["pending"], colleague, colleague)
    cases["pending"].status = PENDING
    cases["resolved"].status = RESOLVED
    db.session.commit()
    return cases


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("mine", ["mine"]),
        ("team", ["pending", "unassigned", "mine"]),
        ("unassigned", ["unassigned"]),
        ("all", ["resolved", "pending", "unassigned", "mine"]),
    ],
)
def test_each_queue_lists_its_conversations_newest_first(
    shop: Shop,
    agent: TeamMember,
    cases: dict[str, Conversation],
    queue: str,
    expected: list[str],
) -> None:
    # when Mei opens the queue
    rows = list_conversations(shop, agent, queue=queue)

    # then it lists exactly its conversations, newest activity first
    assert ids(rows) == [cases[name].public_id for name in expected]


def test_filters_narrow_the_list(
    shop: Shop, agent: TeamMember, colleague: TeamMember, cases: dict[str, Conversation]
) -> None:
    # given a tag on the unassigned case, and the pending one moved to LINE
    tag = list_tags(shop)[0]
    casework.set_tags(shop, cases["unassigned"], [tag.id])
    cases["pending"].reply_channel = LINE
    db.session.commit()

    def listed(**filters: object) -> list[str]:
        return ids(list_conversations(shop, agent, queue="all", **filters))

    # then each filter keeps only its conversations
    assert listed(status=RESOLVED) == [cases["resolved"].public_id]
    assert listed(tag_id=tag.id) == [cases["unassigned"].public_id]
    assert listed(channel=LINE) == [cases["pending"].public_id]
    assert listed(assignee_id=colleague.id) == [cases["pending"].public_id]
    assert listed(status=OPEN, assignee_id=agent.id) == [cases["mine"].public_id]


def test_pages_go_back_by_cursor_without_gaps_or_repeats(
    shop: Shop, agent: TeamMember, cases: dict[str, Conversation]
) -> None:
    # given two of the conversations had their last message at the same instant
    same = utcnow()
    cases["mine"].last_message_at = cases["unassigned"].last_message_at = same
    db.session.commit()

    # when Mei reads the whole inbox two at a time
    seen: list[str] = []
    before = None
    while True:
        page = list_conversations(shop, agent, queue="all", limit=2, before=before)
        seen += ids(page)
        if len(page) < 2:
            break
        before = page[-1].cursor

    # then every conversation came once
    assert sorted(seen) == sorted(case.public_id for case in cases.values())
    assert len(seen) == len(cases)


def test_a_row_says_who_what_and_how_many_unread(
    shop: Shop, agent: TeamMember, colleague: TeamMember, conversation: Conversation
) -> None:
    # given Mei has read up to her answer, tagged it and left a note
    casework.assign(shop, conversation, agent, agent, note="Red is sold out.")
    casework.mark_read(shop, agent, conversation, 2)
    tag = list_tags(shop)[0]
    casework.set_tags(shop, conversation, [tag.id])
    db.session.commit()

    # when Mei and Jun list the team queue
    [mei_row] = list_conversations(shop, agent)
    [jun_row] = list_conversations(shop, colleague)

    # then the row has the shopper, the assignee, the last message they saw
    assert mei_row.conversation_id == conversation.public_id
    assert (mei_row.status, mei_row.channel) == (OPEN, "web")
    assert mei_row.shopper_name == "Lin"
    assert (mei_row.assignee.id, mei_row.assignee.name) == (agent.id, "Mei")
    assert [t.name for t in mei_row.tags] == [tag.name]
    assert mei_row.preview == "Do you have it in red?"
    assert mei_row.last_message_at == conversation.last_message_at
    assert mei_row.waiting_since == conversation.waiting_since
    # and each member's own unread count: Mei read to 2, Jun nothing
    assert (mei_row.unread, jun_row.unread) == (1, 2)


def test_previews_show_images_and_cut_long_texts(shop: Shop, agent: TeamMember) -> None:
    # given one conversation ending with an image, one with a long text and a
    # note after it
    pictured = a_conversation(shop, a_visitor(shop), "Look:")
    append(
        pictured,
        NewMessage(author=SHOPPER, kind=IMAGE, image=store_image(shop.id, PNG, None)),
    )
    wordy = a_conversation(shop, a_visitor(shop), "word " * 60)
    append(wordy, NewMessage(author="agent", kind=NOTE, text="internal"))
    db.session.commit()

    # when listed
    rows = {row.conversation_id: row for row in list_conversations(shop, agent)}

    # then
    assert rows[pictured.public_id].preview == "[image]"
    preview = rows[wordy.public_id].preview
    assert len(preview) == 120
    assert preview.startswith("word word") and preview.endswith("…")


def test_shopper_name_falls_back_to_first_name_then_a_short_id(
    shop: Shop, agent: TeamMember
) -> None:
    # given a named LINE profile, a visitor's first name, and nobody known
    named = a_conversation(shop, a_visitor(shop, "Lin"), "Hi")
    named.shopper_name = "Lin on LINE"
    first_named = a_conversation(shop, a_visitor(shop, "Mo"), "Hi")
    anonymous_visitor = a_visitor(shop)
    anonymous = a_conversation(shop, anonymous_visitor, "Hi")
    db.session.commit()

    # when listed
    names = {
        row.conversation_id: row.shopper_name for row in list_conversations(shop, agent)
    }

    # then
    assert names[named.public_id] == "Lin on LINE"
    assert names[first_named.public_id] == "Mo"
    assert names[anonymous.public_id] == f"Visitor {anonymous_visitor.public_id[:6]}"


def test_unread_summary_counts_conversations_per_queue_for_each_member(
    shop: Shop, agent: TeamMember, colleague: TeamMember, cases: dict[str, Conversation]
) -> None:
    # given Mei read her own case and the unassigned one; the resolved case
    # has an unread message too
    casework.mark_read(shop, agent, cases["mine"], 1)
    casework.mark_read(shop, agent, cases["unassigned"], 1)
    db.session.commit()

    # then Mei has only Jun's pending case unread; Jun has all three open ones
    assert unread_summary(shop, agent) == {"mine": 0, "team": 1, "unassigned": 0}
    assert unread_summary(shop, colleague) == {"mine": 1, "team": 3, "unassigned": 1}

    # when the shopper writes again in Mei's case
    shopper_says(cases["mine"], "Any news?")
    db.session.commit()

    # then it is unread for her again
    assert unread_summary(shop, agent) == {"mine": 1, "team": 2, "unassigned": 0}


def test_another_shops_conversations_are_never_listed(
    shop: Shop,
    other_shop: Shop,
    stranger: TeamMember,
    agent: TeamMember,
    conversation: Conversation,
) -> None:
    # given the other shop has a conversation too
    theirs = a_conversation(other_shop, a_visitor(other_shop), "Hi")

    # then each team lists only its own
    assert ids(list_conversations(other_shop, stranger, queue="all")) == [
        theirs.public_id
    ]
    assert ids(list_conversations(shop, agent, queue="all")) == [conversation.public_id]
    assert unread_summary(other_shop, stranger)["team"] == 1

    # and a member of the other shop cannot read this shop's inbox
    with pytest.raises(InvalidChatInput) as refused:
        list_conversations(shop, stranger)
    assert refused.value.field == "member"
    with pytest.raises(InvalidChatInput):
        unread_summary(shop, stranger)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"queue": "everything"}, "queue"),
        ({"status": "closed"}, "status"),
        ({"channel": "sms"}, "channel"),
        ({"limit": 0}, "limit"),
        ({"before": "yesterday|abc"}, "before"),
    ],
)
def test_unknown_filters_are_refused_at_their_field(
    shop: Shop, agent: TeamMember, filters: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidChatInput) as refused:
        list_conversations(shop, agent, **filters)
    assert refused.value.field == field


def test_listing_costs_the_same_statements_for_3_or_30_conversations(
    shop: Shop, agent: TeamMember, colleague: TeamMember
) -> None:
    def add_conversations(count: int) -> None:
        for number in range(count):
            conversation = a_conversation(shop, a_visitor(shop), f"Question {number}")
            agent_says(conversation, agent, "Answer")
            casework.assign(shop, conversation, colleague, agent, note="note")
            casework.set_tags(shop, conversation, [tag.id for tag in tags])
        db.session.commit()

    def statements_for_one_page() -> int:
        db.session.expire_all()
        # The shop and member are loaded again before: a request has them.
        db.session.refresh(shop)
        db.session.refresh(agent)
        with statements_sent() as log:
            rows = list_conversations(shop, agent, queue="all", limit=50)
            unread_summary(shop, agent)
        assert all(row.tags and row.assignee and row.preview for row in rows)
        return log.count

    # given conversations with tags, an assignee, notes and answers
    tags = list_tags(shop)
    add_conversations(3)
    with_three = statements_for_one_page()

    # when there are ten times as many
    add_conversations(27)
    with_thirty = statements_for_one_page()

    # then a page and the counts cost the same four statements
    assert with_three == with_thirty == 4


def test_a_conversation_with_no_message_sorts_by_its_start(
    shop: Shop, agent: TeamMember, conversation: Conversation
) -> None:
    # given an older conversation, and one started since with no message yet
    conversation.last_message_at = utcnow() - timedelta(hours=1)
    empty = a_conversation(shop, a_visitor(shop))

    # then the new one comes first, with no preview
    rows = list_conversations(shop, agent, queue="all")
    assert ids(rows) == [empty.public_id, conversation.public_id]
    assert (rows[0].preview, rows[0].last_message_at) == (None, None)
