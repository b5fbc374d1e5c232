"""Create channel_deliveries: verified LINE and Messenger webhooks until applied.

Revision ID: 0406
Revises: 0405
"""

import sqlalchemy as sa
from alembic import op

revision = "0406"
down_revision = "0405"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_channel_deliveries_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_deliveries")),
    )
    op.create_index(
        "ix_channel_deliveries_status",
        "channel_deliveries",
        ["status", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_channel_deliveries_status", table_name="channel_deliveries")
    op.drop_table("channel_deliveries")
