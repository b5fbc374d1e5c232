"""``engine.chat.delivery.sweep_undelivered``: a lost delivery job goes again,
a message that could not go within an hour is reported failed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from rq.job import Job

from engine.binding.models import LINE
from engine.chat.conversations import conversation_of_account
from engine.chat.delivery import GIVE_UP_AFTER, RESEND_AFTER, sweep_undelivered
from engine.chat.models import DELIVERED, FAILED, QUEUED, ChatMessage
from engine.chat.replies import post_agent_reply
from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from tests.binding.conftest import (  # noqa: F401  (fixtures, by name)
    LINE_CHANNEL,
    binding_shop,
    line_fake,
    live_app,
    messenger_fake,
)
from tests.chat import a_member
from tests.conftest import run_jobs

USER = "U" + "b" * 32


@pytest.fixture
def queued_reply(app: Flask, request: pytest.FixtureRequest) -> ChatMessage:
    """The team's answer to a LINE shopper, stored, its delivery job lost."""
    shop: Shop = request.getfixturevalue("binding_shop")
    line: FakeLinePlatform = request.getfixturevalue("line_fake")
    runtime = current()
    runtime.settings = replace(runtime.settings, line_data_base_url=line.base_url)
    assert line.user_follows(LINE_CHANNEL, USER) == 200
    assert line.user_sends_text(LINE_CHANNEL, USER, "Is the cat tree back?") == 200
    run_jobs(app)

    conversation = conversation_of_account(shop, LINE, USER)
    reply = post_agent_reply(shop, conversation, a_member(shop, "Mei"), "Next week.")
    db.session.commit()
    Job.fetch(f"chat-deliver-{reply.id}", connection=runtime.redis).delete()
    return reply


def _written_ago(message: ChatMessage, age: timedelta) -> None:
    message.created_at = utcnow() - age
    db.session.commit()


def _job_exists(message: ChatMessage) -> bool:
    return Job.exists(f"chat-deliver-{message.id}", connection=current().redis)


def test_a_reply_whose_job_was_lost_goes_again(
    app: Flask, queued_reply: ChatMessage, request: pytest.FixtureRequest
) -> None:
    # given a reply queued longer than RQ's retries take, with no job left
    line: FakeLinePlatform = request.getfixturevalue("line_fake")
    _written_ago(queued_reply, RESEND_AFTER + timedelta(minutes=1))

    # when the sweep runs, then the worker
    done = sweep_undelivered(utcnow())
    run_jobs(app)

    # then the shopper got it once, and it shows as delivered
    assert done == {"requeued": 1, "given_up": 0}
    assert [entry.messages[0]["text"] for entry in line.delivered_to(USER)] == [
        "Next week."
    ]
    db.session.refresh(queued_reply)
    assert queued_reply.delivery == DELIVERED


def test_a_reply_whose_job_is_still_waiting_is_left_to_it(
    queued_reply: ChatMessage,
) -> None:
    # given a reply whose job waits for RQ's next retry
    _written_ago(queued_reply, RESEND_AFTER + timedelta(minutes=1))
    current().queue("default").enqueue_in(
        timedelta(minutes=5),
        "engine.chat.delivery.deliver_agent_message",
        queued_reply.shop_id,
        queued_reply.id,
        job_id=f"chat-deliver-{queued_reply.id}",
    )

    # when
    done = sweep_undelivered(utcnow())

    # then
    assert done == {"requeued": 0, "given_up": 0}
    assert current().queue("default").count == 0


def test_a_young_reply_is_not_touched(queued_reply: ChatMessage) -> None:
    # given a reply written a minute ago (RQ may still be on it)
    _written_ago(queued_reply, timedelta(minutes=1))

    # when
    done = sweep_undelivered(utcnow())

    # then
    assert done == {"requeued": 0, "given_up": 0}
    assert not _job_exists(queued_reply)
    assert queued_reply.delivery == QUEUED


def test_a_reply_an_hour_old_is_reported_failed_not_sent(
    app: Flask, queued_reply: ChatMessage, request: pytest.FixtureRequest
) -> None:
    # given a reply that could not go for over an hour
    line: FakeLinePlatform = request.getfixturevalue("line_fake")
    _written_ago(queued_reply, GIVE_UP_AFTER + timedelta(minutes=1))

    # when
    done = sweep_undelivered(utcnow())
    run_jobs(app)

    # then the team sees it failed with the reason, and nothing was sent
    assert done == {"requeued": 0, "given_up": 1}
    db.session.refresh(queued_reply)
    assert queued_reply.delivery == FAILED
    assert queued_reply.delivery_error == (
        "Not delivered within 1 hour: line did not take it. Write again to send it."
    )
    assert line.delivered_to(USER) == []
