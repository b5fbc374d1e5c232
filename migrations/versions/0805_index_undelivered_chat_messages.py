"""Index the team's chat messages still waiting for delivery, by age.

The chat's sweep looks every minute for messages to LINE or Messenger still
queued well after RQ's retries ended; without this index that is a scan of
every chat message ever written. Partial: delivered and widget messages,
nearly all of them, are not in it.

It needs the chat tables (0701) and follows the last storefront change
(0804), so it joins the two lines into one head again.

Revision ID: 0805
Revises: 0701, 0804
"""

import sqlalchemy as sa
from alembic import op

revision = "0805"
down_revision = ("0701", "0804")
branch_labels = None
depends_on = None

QUEUED = sa.text("delivery = 'queued'")


def upgrade() -> None:
    op.create_index(
        "ix_chat_messages_undelivered",
        "chat_messages",
        ["created_at"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_chat_messages_undelivered", table_name="chat_messages")
