"""Create channel_accounts: each shop's LINE and Messenger accounts.

Revision ID: 0201
Revises: 0103
"""

import sqlalchemy as sa
from alembic import op

revision = "0201"
down_revision = "0103"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("line_channel_id", sa.String(length=32), nullable=True),
        sa.Column("line_channel_secret", sa.String(length=512), nullable=True),
        sa.Column("line_channel_access_token", sa.String(length=1024), nullable=True),
        sa.Column("messenger_page_id", sa.String(length=32), nullable=True),
        sa.Column("messenger_page_access_token", sa.String(length=1024), nullable=True),
        sa.Column("quota_exhausted_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_channel_accounts_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_accounts")),
        sa.UniqueConstraint(
            "shop_id", "channel", name=op.f("uq_channel_accounts_shop_id_channel")
        ),
    )


def downgrade() -> None:
    op.drop_table("channel_accounts")
