"""The team's work on a conversation: assignment, hand-over, status, tags, reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.chat import casework
from engine.chat.conversations import messages_after
from engine.chat.errors import ConversationNotFound, InvalidChatInput
from engine.chat.models import (
    NOTE,
    OPEN,
    PENDING,
    RESOLVED,
    ChatAssignment,
    ChatRead,
    ChatSettings,
    Conversation,
    ConversationTag,
)
from engine.chat.setup import create_tag, list_tags
from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.models import TeamMember
from tests.chat import a_conversation, a_visitor, shopper_says


def assignments(conversation: Conversation) -> list[ChatAssignment]:
    return list(
        db.session.scalars(
            select(ChatAssignment)
            .where(ChatAssignment.conversation_id == conversation.id)
            .order_by(ChatAssignment.id)
        )
    )


def read_mark(member: TeamMember, conversation: Conversation) -> int | None:
    return db.session.scalar(
        select(ChatRead.last_read_seq).where(
            ChatRead.member_id == member.id,
            ChatRead.conversation_id == conversation.id,
        )
    )


def test_assign_gives_the_conversation_and_logs_who_did_it(
    shop: Shop, conversation: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # when the owner gives Lin's conversation to Mei
    entry = casework.assign(shop, conversation, agent, colleague)
    db.session.commit()

    # then Mei has it, and the log says who gave it to whom
    assert conversation.assignee_id == agent.id
    assert (entry.from_member_id, entry.to_member_id, entry.by_member_id) == (
        None,
        agent.id,
        colleague.id,
    )
    [logged] = casework.assignment_log(shop, conversation)
    assert {key: logged[key] for key in ("from", "to", "by", "reason")} == {
        "from": None,
        "to": "Mei",
        "by": "Jun",
        "reason": "assigned",
    }
    assert logged["at"].endswith("Z")


def test_assign_announces_the_new_assignee_after_the_commit(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    # given a listener on the shop's chat events
    pubsub = current().redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"revisit:chat:{shop.id}")
    pubsub.get_message(timeout=1)

    # when Mei takes the conversation
    casework.assign(shop, conversation, agent, agent)
    assert pubsub.get_message(timeout=0.2) is None
    db.session.commit()

    # then the change is published once committed
    message = pubsub.get_message(timeout=2)
    pubsub.close()
    event = json.loads(message["data"])
    assert (event["type"], event["what"], event["conversation"]) == (
        "conversation",
        "assignee",
        conversation.public_id,
    )


def test_assign_with_a_note_leaves_it_for_the_team_only(
    shop: Shop, conversation: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # when Mei gives the case to Jun with a note
    casework.assign(shop, conversation, colleague, agent, note="She wants the red one.")
    db.session.commit()

    # then the note is the conversation's fourth message, hidden from the shopper
    [note] = messages_after(conversation, 3, include_notes=True)
    assert (note.seq, note.kind, note.text, note.author_name) == (
        4,
        NOTE,
        "She wants the red one.",
        "Mei",
    )
    assert messages_after(conversation, 3, include_notes=False) == []


def test_assign_back_to_the_queue_and_to_the_same_member(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    # given Mei has the conversation
    casework.assign(shop, conversation, agent, agent)

    # when she is given it again, then nothing is logged
    assert casework.assign(shop, conversation, agent, agent) is None

    # when she puts it back in the queue
    casework.assign(shop, conversation, None, agent)
    db.session.commit()

    # then nobody has it, and two changes are logged
    assert conversation.assignee_id is None
    assert [(a.from_member_id, a.to_member_id) for a in assignments(conversation)] == [
        (None, agent.id),
        (agent.id, None),
    ]


def test_assign_refuses_a_member_of_another_shop(
    shop: Shop, conversation: Conversation, stranger: TeamMember
) -> None:
    # when the conversation is given to another shop's member
    with pytest.raises(InvalidChatInput) as refused:
        casework.assign(shop, conversation, stranger, None)

    # then it is refused at the assignee, and nothing changed
    assert refused.value.field == "assignee"
    assert conversation.assignee_id is None
    assert assignments(conversation) == []


def test_assign_refuses_a_deactivated_member(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    # given Mei was deactivated
    agent.active = False

    # when she is given the conversation, then it is refused at the assignee
    with pytest.raises(InvalidChatInput) as refused:
        casework.assign(shop, conversation, agent, None)
    assert (refused.value.field, refused.value.code) == (
        "assignee",
        "inactive_assignee",
    )


def test_casework_refuses_another_shops_conversation(
    shop: Shop, other_shop: Shop, conversation: Conversation, stranger: TeamMember
) -> None:
    # when the other shop's team acts on this shop's conversation
    # then each action answers as if the conversation did not exist
    actions = [
        lambda: casework.assign(other_shop, conversation, stranger, stranger),
        lambda: casework.set_status(other_shop, conversation, RESOLVED, stranger),
        lambda: casework.set_tags(other_shop, conversation, []),
        lambda: casework.mark_read(other_shop, stranger, conversation, 3),
        lambda: casework.assignment_log(other_shop, conversation),
    ]
    for action in actions:
        with pytest.raises(ConversationNotFound):
            action()


def test_hand_over_passes_the_case_with_its_note(
    shop: Shop, conversation: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # given Mei has the conversation
    casework.assign(shop, conversation, agent, agent)

    # when she hands it over to Jun
    casework.hand_over(shop, conversation, colleague, agent, "Check stock of red.")
    db.session.commit()

    # then Jun has it, the log says why, and the note is left
    assert conversation.assignee_id == colleague.id
    assert [
        entry["reason"] for entry in casework.assignment_log(shop, conversation)
    ] == [
        "assigned",
        "handed_over",
    ]
    [note] = messages_after(conversation, 3, include_notes=True)
    assert note.text == "Check stock of red."


def test_hand_over_all_moves_every_open_and_pending_case_at_shift_change(
    shop: Shop, agent: TeamMember, colleague: TeamMember
) -> None:
    # given Mei has an open, a pending and a resolved conversation
    cases = {}
    for status in (OPEN, PENDING, RESOLVED):
        cases[status] = a_conversation(shop, a_visitor(shop), "Hello?")
        casework.assign(shop, cases[status], agent, agent)
        cases[status].status = status
    db.session.commit()

    # when her shift ends and Jun takes over
    moved = casework.hand_over_all(shop, agent, colleague, agent, "Shift change.")
    db.session.commit()

    # then the open and pending ones are Jun's, each with the note
    assert moved == 2
    assert cases[OPEN].assignee_id == cases[PENDING].assignee_id == colleague.id
    assert cases[RESOLVED].assignee_id == agent.id
    for status in (OPEN, PENDING):
        [note] = messages_after(cases[status], 1, include_notes=True)
        assert (note.kind, note.text) == (NOTE, "Shift change.")


def test_hand_over_all_refuses_the_same_member_and_another_shops(
    shop: Shop, agent: TeamMember, stranger: TeamMember
) -> None:
    for to_member in (agent, stranger):
        with pytest.raises(InvalidChatInput) as refused:
            casework.hand_over_all(shop, agent, to_member, agent, None)
        assert refused.value.field == "assignee"


def test_set_status_pending_until_a_follow_up_date(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    # when Mei sets the case pending until tomorrow
    tomorrow = utcnow() + timedelta(days=1)
    casework.set_status(shop, conversation, PENDING, agent, follow_up_at=tomorrow)
    db.session.commit()

    # then it waits for that date, and no longer for an answer
    db.session.expire_all()
    assert conversation.status == PENDING
    assert conversation.follow_up_at == tomorrow
    assert conversation.waiting_since is None


@pytest.mark.parametrize(
    ("status", "follow_up_at", "code"),
    [
        (PENDING, datetime.now(UTC) - timedelta(minutes=1), "follow_up_in_past"),
        (PENDING, datetime.now(UTC) + timedelta(days=91), "follow_up_too_far"),
        (PENDING, datetime(2030, 1, 1), "follow_up_without_zone"),
        (OPEN, datetime.now(UTC) + timedelta(days=1), "follow_up_needs_pending"),
    ],
)
def test_set_status_refuses_a_follow_up_out_of_range(
    shop: Shop,
    conversation: Conversation,
    agent: TeamMember,
    status: str,
    follow_up_at: datetime,
    code: str,
) -> None:
    with pytest.raises(InvalidChatInput) as refused:
        casework.set_status(
            shop, conversation, status, agent, follow_up_at=follow_up_at
        )
    assert (refused.value.field, refused.value.code) == ("follow_up_at", code)
    assert conversation.status == OPEN


def test_set_status_refuses_an_unknown_status(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    with pytest.raises(InvalidChatInput) as refused:
        casework.set_status(shop, conversation, "closed", agent)
    assert refused.value.field == "status"


def test_resolving_asks_for_a_rating_when_the_shop_wants_one(
    shop: Shop,
    conversation: Conversation,
    agent: TeamMember,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the rating request is watched
    asked = []
    monkeypatch.setattr(
        "engine.chat.casework.request_rating",
        lambda shop, conversation: asked.append(conversation.id),
    )

    # when Mei resolves the conversation, twice
    casework.set_status(shop, conversation, RESOLVED, agent)
    casework.set_status(shop, conversation, RESOLVED, agent)
    db.session.commit()

    # then it is resolved and the shopper was asked once
    assert conversation.status == RESOLVED
    assert conversation.resolved_at is not None
    assert conversation.waiting_since is None
    assert asked == [conversation.id]

    # when it is opened again, the resolution time goes
    casework.set_status(shop, conversation, OPEN, agent)
    assert conversation.resolved_at is None


def test_resolving_asks_nothing_when_the_shop_turned_ratings_off(
    shop: Shop,
    conversation: Conversation,
    agent: TeamMember,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the shop asks for no ratings
    db.session.add(ChatSettings(shop_id=shop.id, ask_rating=False))
    db.session.commit()
    asked = []
    monkeypatch.setattr(
        "engine.chat.casework.request_rating",
        lambda shop, conversation: asked.append(conversation.id),
    )

    # when the conversation is resolved, then nobody is asked
    casework.set_status(shop, conversation, RESOLVED, agent)
    assert asked == []


def test_set_tags_makes_the_tags_exactly_those_given(
    shop: Shop, conversation: Conversation
) -> None:
    # given the shop's default tags
    tags = {tag.name: tag.id for tag in list_tags(shop)}
    casework.set_tags(
        shop, conversation, [tags["return/exchange"], tags["defective product"]]
    )
    db.session.commit()

    # when the tags are changed
    kept = casework.set_tags(
        shop, conversation, [tags["defective product"], tags["order status"]]
    )
    db.session.commit()

    # then the conversation has exactly those
    assert [tag.name for tag in kept] == ["defective product", "order status"]
    assert sorted(
        db.session.scalars(
            select(ConversationTag.tag_id).where(
                ConversationTag.conversation_id == conversation.id
            )
        )
    ) == sorted([tags["defective product"], tags["order status"]])


def test_set_tags_refuses_unknown_and_other_shops_tags(
    shop: Shop, other_shop: Shop, conversation: Conversation
) -> None:
    # given a tag of the other shop
    theirs = create_tag(other_shop, "wholesale", "#000000")
    db.session.commit()

    # then neither it nor an unknown id can be put on this shop's conversation
    for tag_ids in ([theirs.id], [999_999], ["1"]):
        with pytest.raises(InvalidChatInput) as refused:
            casework.set_tags(shop, conversation, tag_ids)
        assert refused.value.field == "tags"


def test_mark_read_only_moves_forward(
    shop: Shop, conversation: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # when Mei reads up to 2, then 3, then says 1
    for seq in (2, 3, 1):
        casework.mark_read(shop, agent, conversation, seq)
        db.session.commit()

    # then her mark stays at 3, and Jun's is his own
    assert read_mark(agent, conversation) == 3
    assert read_mark(colleague, conversation) is None

    # and a mark past the last message stops at it
    shopper_says(conversation, "Hello?")
    casework.mark_read(shop, colleague, conversation, 99)
    db.session.commit()
    assert read_mark(colleague, conversation) == 4


def test_mark_read_refuses_another_shops_member_and_a_bad_number(
    shop: Shop, conversation: Conversation, agent: TeamMember, stranger: TeamMember
) -> None:
    with pytest.raises(InvalidChatInput) as refused:
        casework.mark_read(shop, stranger, conversation, 1)
    assert refused.value.field == "member"
    with pytest.raises(InvalidChatInput) as refused:
        casework.mark_read(shop, agent, conversation, -1)
    assert refused.value.field == "seq"


def test_set_on_shift(agent: TeamMember) -> None:
    # when Mei ends her shift, then she is off it
    casework.set_on_shift(agent, False)
    db.session.commit()
    assert agent.on_shift is False


def test_resolving_puts_the_rating_question_in_the_conversation(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    # when Mei resolves Lin's storefront conversation
    casework.set_status(shop, conversation, RESOLVED, agent)
    db.session.commit()

    # then the question is its next message, and the rating is awaited
    [question] = messages_after(conversation, 3, include_notes=True)
    assert (question.author, question.kind) == ("system", "rating_request")
    assert conversation.rating_requested_at is not None
