"""Create binding_popups: each shop's pop-up asking shoppers to bind.

Revision ID: 0404
Revises: 0403
"""

import sqlalchemy as sa
from alembic import op

revision = "0404"
down_revision = "0403"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "binding_popups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("page_types", sa.JSON(), nullable=False),
        sa.Column("excluded_pages", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("trigger_count", sa.Integer(), nullable=False),
        sa.Column("max_per_day", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("default_locale", sa.String(length=16), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_binding_popups_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_popups")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_binding_popups_shop_id")),
    )


def downgrade() -> None:
    op.drop_table("binding_popups")
