"""Create channel_bindings: visitors linked to LINE and Messenger accounts.

Revision ID: 0301
Revises: 0202
"""

import sqlalchemy as sa
from alembic import op

revision = "0301"
down_revision = "0202"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_channel_bindings_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_channel_bindings_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_bindings")),
        sa.UniqueConstraint(
            "shop_id",
            "visitor_id",
            "channel",
            name=op.f("uq_channel_bindings_shop_id_visitor_id_channel"),
        ),
    )
    op.create_index(
        "ix_channel_bindings_shop_account",
        "channel_bindings",
        ["shop_id", "channel", "external_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_channel_bindings_shop_account", table_name="channel_bindings")
    op.drop_table("channel_bindings")
