"""Conversations between a shop's team and a shopper, and what the team keeps on them.

A ``Conversation`` is one shopper's thread with the shop, whatever channel
each message came by: the widget, LINE or Messenger. Its messages are
numbered 1, 2, 3… (``ChatMessage.seq``) in the order they were stored, so a
client that lost its connection asks for "everything after n" and gets
exactly what it missed. Assignments are logged (``ChatAssignment``) so a
hand-over keeps who had the case when; tags, saved replies and read marks
are the team's own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Timestamps, UTCDateTime, db, utcnow

OPEN = "open"
PENDING = "pending"
RESOLVED = "resolved"
STATUSES = (OPEN, PENDING, RESOLVED)

WEB = "web"
LINE = "line"
MESSENGER = "messenger"
CHANNELS = (WEB, LINE, MESSENGER)

SHOPPER = "shopper"
AGENT = "agent"
SYSTEM = "system"

TEXT = "text"
IMAGE = "image"
NOTE = "note"
RATING_REQUEST = "rating_request"
EVENT = "event"

# Where an agent's message stands on its way to a LINE or Messenger user.
QUEUED = "queued"
DELIVERED = "delivered"
FAILED = "failed"


class Conversation(Timestamps, db.Model):
    """One shopper's thread with the shop's team.

    A shopper on the storefront is known by ``visitor_id``; one who wrote on
    LINE or Messenger also by ``line_user_id`` / ``messenger_psid``. The
    team answers on ``reply_channel``, the channel the shopper last wrote
    on. ``waiting_since`` is when the oldest unanswered shopper message
    arrived (cleared by the team's answer); the no-reply timer reads it.
    """

    __tablename__ = "chat_conversations"
    __table_args__ = (
        UniqueConstraint("public_id"),
        Index("ix_chat_conversations_shop_status", "shop_id", "status"),
        Index("ix_chat_conversations_shop_visitor", "shop_id", "visitor_id"),
        Index("ix_chat_conversations_shop_line", "shop_id", "line_user_id"),
        Index("ix_chat_conversations_shop_psid", "shop_id", "messenger_psid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # What the widget and the panel name the conversation by (never the row id).
    public_id: Mapped[str] = mapped_column(String(32))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    line_user_id: Mapped[str | None] = mapped_column(String(128))
    messenger_psid: Mapped[str | None] = mapped_column(String(128))
    # The name the shopper gave a channel (LINE or Messenger profile), if any.
    shopper_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL")
    )
    reply_channel: Mapped[str] = mapped_column(String(16), default=WEB)
    last_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # The seq of the latest shopper message, for unread counts.
    last_shopper_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_shopper_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # LINE's free reply token of the shopper's latest message, and its time.
    line_reply_token: Mapped[str | None] = mapped_column(String(255))
    line_reply_token_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column()
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Conversation {self.id} shop={self.shop_id} {self.status}>"


class ChatMessage(db.Model):
    """One message of a conversation, numbered by ``seq`` within it.

    ``client_id`` (the widget's) and ``external_id`` (LINE's or Meta's
    message id) make a repeated send or a redelivered webhook store nothing
    twice. An agent's message to LINE or Messenger carries its delivery
    state; ``note`` messages are the team's internal notes, never shown to
    the shopper.
    """

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
        UniqueConstraint("shop_id", "channel", "external_id"),
        # The delivery sweep's (engine.chat.delivery.sweep_undelivered).
        Index(
            "ix_chat_messages_undelivered",
            "created_at",
            postgresql_where=sql_text("delivery = 'queued'"),
            sqlite_where=sql_text("delivery = 'queued'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column()
    author: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=TEXT)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL")
    )
    # The author's name as shown then (an agent's display name).
    author_name: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(16), default=WEB)
    text: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_images.id", ondelete="SET NULL")
    )
    client_id: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))
    delivery: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ChatMessage {self.conversation_id}#{self.seq} {self.author}>"


class ChatImage(db.Model):
    """An image a shopper or agent attached, kept in the database.

    The database is shared by every web process, so any of them can serve
    it; images are capped at ``engine.chat.images.MAX_BYTES``.
    """

    __tablename__ = "chat_images"
    __table_args__ = (Index("ix_chat_images_shop", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatAssignment(db.Model):
    """Who had a conversation from when: one row per change of hands."""

    __tablename__ = "chat_assignments"
    __table_args__ = (Index("ix_chat_assignments_conversation", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE")
    )
    from_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL")
    )
    to_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL")
    )
    # Who made the change; None when the no-reply timer did.
    by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatTag(db.Model):
    """A label the shop's team defined, such as "return/exchange"."""

    __tablename__ = "chat_tags"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    color: Mapped[str] = mapped_column(String(7), default="#5c6ac4")


class ConversationTag(db.Model):
    __tablename__ = "chat_conversation_tags"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("chat_tags.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))


class SavedReply(Timestamps, db.Model):
    """A reply the team reuses, with variables filled in when it is inserted."""

    __tablename__ = "chat_saved_replies"
    __table_args__ = (UniqueConstraint("shop_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)


class ChatRead(db.Model):
    """How far a team member has read a conversation."""

    __tablename__ = "chat_reads"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("team_members.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    last_read_seq: Mapped[int] = mapped_column(default=0)


class ChatSettings(Timestamps, db.Model):
    """A shop's chat: on or off, the no-reply timer, the closed-hours note."""

    __tablename__ = "chat_settings"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    # An open conversation unanswered this long leaves its assignee.
    no_reply_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    # "queue": back to the unassigned queue; "colleague": to an on-shift one.
    no_reply_action: Mapped[str] = mapped_column(String(16), default="colleague")
    # Shown in the widget outside opening hours.
    closed_note_en: Mapped[str | None] = mapped_column(String(200))
    closed_note_zh: Mapped[str | None] = mapped_column(String(200))
    # Whether Meta granted the Page the human-agent tag (7-day replies).
    messenger_human_agent: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    ask_rating: Mapped[bool] = mapped_column(default=True, server_default=true())
