"""Add the LINE Login channel, basic ID and webhook key to channel_accounts.

Revision ID: 0401
Revises: 0302
"""

import sqlalchemy as sa
from alembic import op

revision = "0401"
down_revision = "0302"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_accounts") as batch:
        batch.add_column(
            sa.Column("line_login_channel_id", sa.String(length=32), nullable=True)
        )
        batch.add_column(
            sa.Column("line_login_channel_secret", sa.String(length=512), nullable=True)
        )
        batch.add_column(
            sa.Column("line_basic_id", sa.String(length=32), nullable=True)
        )
        batch.add_column(
            sa.Column("line_webhook_key", sa.String(length=32), nullable=True)
        )
        batch.create_unique_constraint(
            op.f("uq_channel_accounts_line_webhook_key"), ["line_webhook_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_accounts") as batch:
        batch.drop_constraint(
            op.f("uq_channel_accounts_line_webhook_key"), type_="unique"
        )
        batch.drop_column("line_webhook_key")
        batch.drop_column("line_basic_id")
        batch.drop_column("line_login_channel_secret")
        batch.drop_column("line_login_channel_id")
