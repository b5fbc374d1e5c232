"""Add opening_hours per shop, and shops.timezone_chosen_at for a merchant's zone.

Revision ID: 0802
Revises: 0801
"""

import sqlalchemy as sa
from alembic import op

revision = "0802"
down_revision = "0801"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opening_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_opening_hours_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_hours")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_opening_hours_shop_id")),
    )
    with op.batch_alter_table("shops") as batch:
        batch.add_column(
            sa.Column("timezone_chosen_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("timezone_chosen_at")
    op.drop_table("opening_hours")
