"""Add channel_accounts.test_recipient_id: where "send a test to me" goes.

Revision ID: 0803
Revises: 0802
"""

import sqlalchemy as sa
from alembic import op

revision = "0803"
down_revision = "0802"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_accounts") as batch:
        batch.add_column(sa.Column("test_recipient_id", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_accounts") as batch:
        batch.drop_column("test_recipient_id")
