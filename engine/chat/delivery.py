"""Getting the team's messages to a shopper on LINE or Messenger, under their rules.

``reply_state`` says whether and how the conversation's channel can carry a
message now, so the reply box can say when it is closed:

- the widget: always (the shopper reads it when they come back);
- LINE: the free reply token of the shopper's latest message while it is
  young (``REPLY_TOKEN_LIFETIME``), else a push (counted against the shop's
  monthly quota); closed when the shopper blocked the account;
- Messenger: a standard response within 24 hours of the shopper's last
  message; up to 7 days only with the ``HUMAN_AGENT`` tag, which Meta grants
  a Page on request (``ChatSettings.messenger_human_agent``); else closed.

``deliver_agent_message`` is the RQ job that sends one stored message and
records how it went; ``sweep_undelivered`` (every minute, with the chat's
other clocks) sends again a message whose job Redis or RQ's last retry
dropped, and reports as failed one that could not go within an hour.

A reply token is spent (cleared on the conversation and committed) before
it is used, so a retried job pushes instead of replying twice; a reply LINE
took but whose answer was lost is then pushed again, the one case where a
shopper can get a message twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from engine.binding.models import ChannelBinding
from engine.channels.errors import (
    ChannelError,
    OutsideWindowError,
    ReplyTokenRejectedError,
    RetryableChannelError,
)
from engine.channels.line.client import REPLY_TOKEN_LIFETIME
from engine.channels.messages import Buttons, Option, Part, Text
from engine.channels.registry import channel_for
from engine.chat.conversations import publish_change
from engine.chat.models import (
    DELIVERED,
    FAILED,
    LINE,
    MESSENGER,
    QUEUED,
    RATING_REQUEST,
    WEB,
    ChatMessage,
    ChatSettings,
    Conversation,
)
from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.runtime import current
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
RATE_POSTBACK_PREFIX = "revisit.chat.rate:"
# RQ's retries of a delivery (engine.jobs.DEFAULT_RETRY, about 6 minutes)
# are over well within this: a message still queued then lost its job.
RESEND_AFTER = timedelta(minutes=15)
# A team message that has not reached the shopper by then is reported as
# failed, so the team can write again, rather than arrive out of step with
# the conversation.
GIVE_UP_AFTER = timedelta(hours=1)
SWEEP_BATCH = 200
# RQ states in which a delivery job will still run.
_PENDING_JOB_STATES = {
    JobStatus.QUEUED,
    JobStatus.SCHEDULED,
    JobStatus.STARTED,
    JobStatus.DEFERRED,
}

_NAMESPACE = uuid.UUID("0b9d7f52-3c1e-4a8e-9f4d-6a2c1e7b5d90")

# How a message can go out now.
BY_WIDGET = "widget"
BY_REPLY_TOKEN = "reply_token"
BY_PUSH = "push"
BY_RESPONSE = "response"
BY_HUMAN_AGENT = "human_agent"


@dataclass(frozen=True)
class ReplyState:
    """Whether the conversation's channel takes a message now, and how.

    ``until`` is when the current way closes (None: it does not), and
    ``reason`` says why a closed channel is closed, in words for the team.
    """

    channel: str
    open: bool
    how: str | None
    until: datetime | None = None
    reason: str | None = None

    def describe(self) -> dict:
        return {
            "channel": self.channel,
            "open": self.open,
            "how": self.how,
            "until": self.until.isoformat().replace("+00:00", "Z")
            if self.until
            else None,
            "reason": self.reason,
        }


def reply_state(shop: Shop, conversation: Conversation, now: datetime) -> ReplyState:
    """How a message from the team would reach the shopper now."""
    if conversation.reply_channel == LINE and conversation.line_user_id:
        return _line_state(shop, conversation, now)
    if conversation.reply_channel == MESSENGER and conversation.messenger_psid:
        return _messenger_state(shop, conversation, now)
    return ReplyState(WEB, True, BY_WIDGET)


def queue_delivery(message: ChatMessage) -> None:
    """Send the stored message on its channel once the caller commits."""
    enqueue_after_commit(
        deliver_agent_message,
        message.shop_id,
        message.id,
        job_id=_job_id(message),
    )


def sweep_undelivered(now: datetime) -> dict[str, int]:
    """Queue again team messages whose delivery job is gone; fail the stale.

    Returns how many were queued again and how many given up.
    """
    stuck = db.session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.delivery == QUEUED,
            ChatMessage.created_at < now - RESEND_AFTER,
        )
        .order_by(ChatMessage.created_at)
        .limit(SWEEP_BATCH)
    ).all()

    done = {"requeued": 0, "given_up": 0}
    for message in stuck:
        if message.created_at < now - GIVE_UP_AFTER:
            _give_up(message)
            done["given_up"] += 1
        elif not _job_pending(message):
            queue_delivery(message)
            done["requeued"] += 1
    db.session.commit()

    if any(done.values()):
        logger.warning("chat.undelivered_swept", extra=done)
    return done


def deliver_agent_message(shop_id: int, message_id: int) -> None:
    """RQ job: send one team message to LINE or Messenger, once.

    A platform that did not answer (or asked us to slow down) raises, so RQ
    tries again later; a refusal is stored on the message with the
    platform's reason and shown to the team.
    """
    message = db.session.get(ChatMessage, message_id)
    shop = db.session.get(Shop, shop_id)
    if message is None or shop is None or message.shop_id != shop_id:
        return
    if message.delivery != QUEUED:
        return
    conversation = db.session.get(Conversation, message.conversation_id)

    try:
        _send(shop, conversation, message)
    except RetryableChannelError:
        db.session.commit()
        raise
    except ChannelError as refusal:
        _record(conversation, message, FAILED, refusal.reason)
        logger.warning(
            "chat.delivery_failed",
            extra={
                "shop_id": shop_id,
                "message_id": message_id,
                "channel": message.channel,
                "error": refusal.reason,
            },
        )
    else:
        _record(conversation, message, DELIVERED, None)
    db.session.commit()


def parts_of(message: ChatMessage) -> tuple[Part, ...]:
    """The message as channel-neutral parts: text, or the rating question."""
    text = message.text or ""
    if message.kind == RATING_REQUEST:
        options = tuple(
            Option(f"{'★' * score}", postback=f"{RATE_POSTBACK_PREFIX}{score}")
            for score in range(5, 0, -1)
        )
        return (Buttons(text, options),)
    return (Text(text),)


def _send(shop: Shop, conversation: Conversation, message: ChatMessage) -> None:
    state = reply_state(shop, conversation, utcnow())
    if not state.open:
        raise OutsideWindowError(message.channel, state.reason or "closed")
    parts = parts_of(message)
    retry_key = str(uuid.uuid5(_NAMESPACE, f"{shop.id}:{message.id}"))

    if message.channel == LINE:
        _send_line(shop, conversation, parts, retry_key, state)
    elif message.channel == MESSENGER:
        channel = channel_for(shop, MESSENGER)
        channel.send(
            conversation.messenger_psid,
            parts,
            retry_key=retry_key,
            human_agent=state.how == BY_HUMAN_AGENT,
        )


def _send_line(
    shop: Shop,
    conversation: Conversation,
    parts: tuple[Part, ...],
    retry_key: str,
    state: ReplyState,
) -> None:
    channel = channel_for(shop, LINE)
    if state.how == BY_REPLY_TOKEN:
        token = conversation.line_reply_token
        # Spent before use: a retry of this job must push, never reply again.
        conversation.line_reply_token = None
        conversation.line_reply_token_at = None
        db.session.commit()
        try:
            channel.reply(token, parts)
            return
        except ReplyTokenRejectedError:
            logger.info("chat.reply_token_rejected", extra={"shop_id": shop.id})
    channel.send(conversation.line_user_id, parts, retry_key=retry_key)


def _job_id(message: ChatMessage) -> str:
    return f"chat-deliver-{message.id}"


def _job_pending(message: ChatMessage) -> bool:
    try:
        job = Job.fetch(_job_id(message), connection=current().redis)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in _PENDING_JOB_STATES


def _give_up(message: ChatMessage) -> None:
    conversation = db.session.get(Conversation, message.conversation_id)
    reason = (
        f"Not delivered within {GIVE_UP_AFTER.seconds // 3600} hour:"
        f" {message.channel} did not take it. Write again to send it."
    )
    _record(conversation, message, FAILED, reason)
    logger.warning(
        "chat.delivery_given_up",
        extra={"shop_id": message.shop_id, "message_id": message.id},
    )


def _record(
    conversation: Conversation, message: ChatMessage, outcome: str, error: str | None
) -> None:
    message.delivery = outcome
    message.delivery_error = error
    publish_change(conversation, "delivery")


def _line_state(shop: Shop, conversation: Conversation, now: datetime) -> ReplyState:
    if _blocked(shop, LINE, conversation.line_user_id):
        return ReplyState(
            LINE, False, None, reason="The shopper blocked the shop's LINE account."
        )
    token_at = conversation.line_reply_token_at
    if conversation.line_reply_token and token_at is not None:
        until = token_at + REPLY_TOKEN_LIFETIME
        if now < until:
            return ReplyState(LINE, True, BY_REPLY_TOKEN, until)
    return ReplyState(LINE, True, BY_PUSH)


def _messenger_state(
    shop: Shop, conversation: Conversation, now: datetime
) -> ReplyState:
    last = conversation.last_shopper_message_at
    if last is None:
        return ReplyState(
            MESSENGER, False, None, reason="The shopper has not written on Messenger."
        )
    if now < last + STANDARD_WINDOW:
        return ReplyState(MESSENGER, True, BY_RESPONSE, last + STANDARD_WINDOW)
    human_agent = db.session.scalar(
        select(ChatSettings.messenger_human_agent).where(
            ChatSettings.shop_id == shop.id
        )
    )
    if human_agent and now < last + HUMAN_AGENT_WINDOW:
        return ReplyState(MESSENGER, True, BY_HUMAN_AGENT, last + HUMAN_AGENT_WINDOW)
    reason = (
        "Messenger closed: the shopper's last message is over 7 days old."
        if human_agent
        else "Messenger closed: the shopper's last message is over 24 hours old"
        " (the Page has no human-agent permission)."
    )
    return ReplyState(MESSENGER, False, None, reason=reason)


def _blocked(shop: Shop, channel: str, external_id: str | None) -> bool:
    reachable = db.session.scalars(
        select(ChannelBinding.reachable).where(
            ChannelBinding.shop_id == shop.id,
            ChannelBinding.channel == channel,
            ChannelBinding.external_id == external_id,
        )
    ).all()
    return bool(reachable) and not any(reachable)
