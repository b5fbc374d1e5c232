"""Create webhook_deliveries: the durable record of each store webhook.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("api_version", sa.String(length=16), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_webhook_deliveries_shop_id_shops"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "shop_domain",
            "topic",
            "event_id",
            name=op.f("uq_webhook_deliveries_shop_domain_topic_event_id"),
        ),
        sa.UniqueConstraint(
            "shop_domain",
            "webhook_id",
            name=op.f("uq_webhook_deliveries_shop_domain_webhook_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_status_received",
        "webhook_deliveries",
        ["status", "received_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_deliveries_status_received", table_name="webhook_deliveries"
    )
    op.drop_table("webhook_deliveries")
