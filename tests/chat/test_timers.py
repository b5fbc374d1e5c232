"""The chat's timers: unanswered conversations change hands once; follow-ups reopen."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from engine.chat import casework
from engine.chat.conversations import messages_after
from engine.chat.models import (
    EVENT,
    OPEN,
    PENDING,
    SYSTEM,
    ChatAssignment,
    ChatSettings,
    Conversation,
)
from engine.chat.timers import run_chat_timers
from engine.db import db, utcnow
from engine.periodic import schedule
from engine.shops.models import Shop
from engine.team.models import TeamMember
from tests.chat import a_conversation, a_member, a_visitor, agent_says, shopper_says

# No team message waits for delivery in these tests.
NOTHING_SWEPT = {"requeued": 0, "given_up": 0}


def minutes_later(minutes: float) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


def open_cases_for(shop: Shop, member: TeamMember, count: int) -> None:
    for _ in range(count):
        case = a_conversation(shop, a_visitor(shop), "Hi")
        casework.assign(shop, case, member, None)
        agent_says(case, member, "Hello!")
    db.session.commit()


def log_of(conversation: Conversation) -> list[tuple[int | None, int | None, str]]:
    return [
        (entry.from_member_id, entry.to_member_id, entry.reason)
        for entry in db.session.scalars(
            select(ChatAssignment)
            .where(ChatAssignment.conversation_id == conversation.id)
            .order_by(ChatAssignment.id)
        )
    ]


@pytest.fixture
def waiting(shop: Shop, conversation: Conversation, agent: TeamMember) -> Conversation:
    """Lin's conversation, given to Mei now, Lin waiting for an answer."""
    casework.assign(shop, conversation, agent, None)
    db.session.commit()
    assert conversation.waiting_since is not None
    return conversation


def test_an_unanswered_conversation_goes_to_the_least_loaded_colleague_on_shift(
    shop: Shop,
    waiting: Conversation,
    agent: TeamMember,
    colleague: TeamMember,
    stranger: TeamMember,
) -> None:
    # given Jun has two open cases, Ana none, and Bo (off shift) and Cy
    # (deactivated) none either; the other shop's Kai has none
    ana = a_member(shop, "Ana")
    bo = a_member(shop, "Bo")
    cy = a_member(shop, "Cy")
    casework.set_on_shift(bo, False)
    cy.active = False
    db.session.commit()
    open_cases_for(shop, colleague, 2)

    # when Lin has waited 16 minutes (the default timer is 15)
    done = run_chat_timers(minutes_later(16))

    # then the conversation is Ana's, moved by nobody for want of a reply
    db.session.expire_all()
    assert waiting.assignee_id == ana.id
    assert log_of(waiting)[-1] == (agent.id, ana.id, "no_reply")
    assert db.session.scalars(
        select(ChatAssignment.by_member_id).where(ChatAssignment.reason == "no_reply")
    ).all() == [None]
    assert done == {"moved": 1, "queued": 0, "reopened": 0, **NOTHING_SWEPT}


def test_a_conversation_moves_once_per_wait(
    shop: Shop, waiting: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # given the timer moved it to Jun, who does not answer either
    run_chat_timers(minutes_later(16))
    db.session.expire_all()
    assert waiting.assignee_id == colleague.id

    # when the timer runs on, every minute and much later
    for minutes in (17, 18, 40, 600):
        assert run_chat_timers(minutes_later(minutes))["moved"] == 0

    # then it stayed with Jun
    db.session.expire_all()
    assert waiting.assignee_id == colleague.id
    assert [reason for *_, reason in log_of(waiting)] == ["assigned", "no_reply"]

    # when Jun answers and Lin writes again, a new wait starts
    agent_says(waiting, colleague, "Let me check.")
    shopper_says(waiting, "Any news?")
    db.session.commit()

    # then after that wait it moves again, back to Mei
    run_chat_timers(minutes_later(16))
    db.session.expire_all()
    assert waiting.assignee_id == agent.id


def test_it_goes_back_to_the_queue_when_the_shop_says_so(
    shop: Shop, waiting: Conversation, colleague: TeamMember
) -> None:
    # given the shop sends unanswered conversations back to the queue
    db.session.add(ChatSettings(shop_id=shop.id, no_reply_action="queue"))
    db.session.commit()

    # when the timer passes
    done = run_chat_timers(minutes_later(16))

    # then nobody has it
    db.session.expire_all()
    assert waiting.assignee_id is None
    assert done == {"moved": 0, "queued": 1, "reopened": 0, **NOTHING_SWEPT}


def test_it_goes_back_to_the_queue_when_nobody_else_is_on_shift(
    shop: Shop, waiting: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # given Jun is off shift
    casework.set_on_shift(colleague, False)
    db.session.commit()

    # when the timer passes
    run_chat_timers(minutes_later(16))

    # then it is back in the queue, not kept by Mei
    db.session.expire_all()
    assert waiting.assignee_id is None
    assert log_of(waiting)[-1] == (agent.id, None, "no_reply")


def test_the_assignee_gets_the_whole_time_and_the_shop_its_own(
    shop: Shop, waiting: Conversation, agent: TeamMember, colleague: TeamMember
) -> None:
    # given the shop waits an hour, and Mei got the case 10 minutes into the wait
    db.session.add(ChatSettings(shop_id=shop.id, no_reply_minutes=60))
    waiting.waiting_since = utcnow() - timedelta(minutes=10)
    db.session.commit()

    # when the wait passes the hour, but Mei has had it for only 55 minutes
    assert run_chat_timers(minutes_later(55))["moved"] == 0

    # then it moves only once Mei has had the full hour
    assert run_chat_timers(minutes_later(61))["moved"] == 1
    db.session.expire_all()
    assert waiting.assignee_id == colleague.id


def test_answered_unassigned_and_pending_conversations_stay(
    shop: Shop, agent: TeamMember, colleague: TeamMember
) -> None:
    # given an answered case, an unassigned one and a pending one
    answered = a_conversation(shop, a_visitor(shop), "Hi")
    casework.assign(shop, answered, agent, None)
    agent_says(answered, agent, "Hello!")
    a_conversation(shop, a_visitor(shop), "Anyone?")
    pending = a_conversation(shop, a_visitor(shop), "I will send a photo")
    casework.assign(shop, pending, agent, None)
    casework.set_status(shop, pending, PENDING, agent)
    db.session.commit()

    # when the timer runs long after, then nothing moves
    assert run_chat_timers(minutes_later(120)) == {
        "moved": 0,
        "queued": 0,
        "reopened": 0,
        **NOTHING_SWEPT,
    }


def test_a_conversation_locked_by_another_worker_is_skipped(
    shop: Shop, waiting: Conversation, colleague: TeamMember
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL")

    # given another worker holds the conversation's row
    with db.engine.connect() as other_worker:
        other_worker.execute(
            select(Conversation.id)
            .where(Conversation.id == waiting.id)
            .with_for_update()
        )

        # when this worker's timer runs, then it leaves that row alone
        assert run_chat_timers(minutes_later(16))["moved"] == 0
        other_worker.rollback()

    # and takes it on its next run
    assert run_chat_timers(minutes_later(17))["moved"] == 1


def test_a_follow_up_date_reopens_the_conversation(
    shop: Shop, conversation: Conversation, agent: TeamMember
) -> None:
    # given one case pending until tomorrow and one until next week
    later = a_conversation(shop, a_visitor(shop), "Hi")
    casework.set_status(
        shop, conversation, PENDING, agent, follow_up_at=minutes_later(24 * 60)
    )
    casework.set_status(
        shop, later, PENDING, agent, follow_up_at=minutes_later(7 * 24 * 60)
    )
    db.session.commit()

    # when tomorrow comes
    done = run_chat_timers(minutes_later(24 * 60 + 1))

    # then the first is open again with a system event saying why
    db.session.expire_all()
    assert done["reopened"] == 1
    assert (conversation.status, conversation.follow_up_at) == (OPEN, None)
    [event] = messages_after(conversation, 3, include_notes=True)
    assert (event.author, event.kind, event.text) == (
        SYSTEM,
        EVENT,
        "Follow-up date reached",
    )
    assert later.status == PENDING

    # and the next run finds nothing more
    assert run_chat_timers(minutes_later(24 * 60 + 2))["reopened"] == 0


def test_the_timers_run_every_minute(app: Flask) -> None:
    [chat] = [periodic for periodic in schedule() if periodic.name == "chat"]
    assert (chat.every, chat.func_path) == (
        timedelta(minutes=1),
        "engine.periodic.run_chat",
    )
