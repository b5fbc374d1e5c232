"""Create binding_funnel_days: pop-ups shown, clicked, bound per shop and channel.

Revision ID: 0405
Revises: 0404
"""

import sqlalchemy as sa
from alembic import op

revision = "0405"
down_revision = "0404"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "binding_funnel_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("clicked", sa.Integer(), nullable=False),
        sa.Column("bound", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_binding_funnel_days_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_funnel_days")),
        sa.UniqueConstraint(
            "shop_id",
            "channel",
            "day",
            name=op.f("uq_binding_funnel_days_shop_id_channel_day"),
        ),
    )


def downgrade() -> None:
    op.drop_table("binding_funnel_days")
