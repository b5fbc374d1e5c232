"""Helpers for the chat tests: messages said by either side, another shop's
team, and a count of the statements a call sends to the database.

Messages go through ``engine.chat.conversations.append``, the one way every
message is stored, so the conversation's counters (``last_seq``,
``waiting_since``) move as they do in the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from engine.binding.person import visitor_for
from engine.chat.conversations import NewMessage, append, start_for_visitor
from engine.chat.models import AGENT, SHOPPER, ChatMessage, Conversation
from engine.db import db
from engine.shops.models import Shop
from engine.team.accounts import add_member
from engine.team.models import AGENT as AGENT_ROLE
from engine.team.models import TeamMember
from engine.tracking.tokens import new_public_id
from engine.visitors.models import Visitor

PASSWORD = "correct horse battery"


def a_member(shop: Shop, name: str, role: str = AGENT_ROLE) -> TeamMember:
    """A team member of ``shop`` named ``name``, committed."""
    member = add_member(shop, f"{name.lower()}@example.com", name, role, PASSWORD)
    db.session.commit()
    return member


def a_visitor(shop: Shop, first_name: str | None = None, **fields: Any) -> Visitor:
    visitor = visitor_for(shop, new_public_id())
    visitor.first_name = first_name
    for name, value in fields.items():
        setattr(visitor, name, value)
    db.session.commit()
    return visitor


def a_conversation(shop: Shop, visitor: Visitor, *texts: str) -> Conversation:
    """The visitor's conversation, with the shopper having said ``texts``."""
    conversation = start_for_visitor(shop, visitor)
    for text in texts:
        shopper_says(conversation, text)
    db.session.commit()
    return conversation


def shopper_says(conversation: Conversation, text: str) -> ChatMessage:
    return append(conversation, NewMessage(author=SHOPPER, text=text))


def agent_says(
    conversation: Conversation, member: TeamMember, text: str
) -> ChatMessage:
    return append(
        conversation,
        NewMessage(
            author=AGENT,
            text=text,
            member_id=member.id,
            author_name=member.display_name,
        ),
    )


@dataclass
class StatementLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def statements_sent() -> Iterator[StatementLog]:
    """Record every statement sent to the database inside the block."""
    log = StatementLog()
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
        log.statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", record)
