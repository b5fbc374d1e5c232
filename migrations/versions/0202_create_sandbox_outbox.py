"""Create sandbox_outbox: what the sandbox channel sent, for the demo and tests.

Revision ID: 0202
Revises: 0201
"""

import sqlalchemy as sa
from alembic import op

revision = "0202"
down_revision = "0201"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.String(length=255), nullable=False),
        sa.Column("rendered_for", sa.String(length=16), nullable=False),
        sa.Column("retry_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_sandbox_outbox_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_outbox")),
        sa.UniqueConstraint(
            "shop_id", "retry_key", name=op.f("uq_sandbox_outbox_shop_id_retry_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("sandbox_outbox")
