"""Create onsite_messages (merchant rules) and onsite_impressions.

Revision ID: 0103
Revises: 0102
"""

import sqlalchemy as sa
from alembic import op

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onsite_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("default_locale", sa.String(length=16), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("link_url", sa.Text(), nullable=True),
        sa.Column("url_match", sa.String(length=16), nullable=False),
        sa.Column("url_value", sa.Text(), nullable=True),
        sa.Column("excluded_pages", sa.JSON(), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("exit_intent", sa.Boolean(), nullable=False),
        sa.Column("visit_number", sa.Integer(), nullable=True),
        sa.Column("visit_mode", sa.String(length=16), nullable=False),
        sa.Column("cart_over", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("audience", sa.String(length=24), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cap_per_visitor", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_onsite_messages_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onsite_messages")),
    )
    op.create_index(
        "ix_onsite_messages_shop_active", "onsite_messages", ["shop_id", "active"]
    )

    op.create_table(
        "onsite_impressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("last_viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_onsite_impressions_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["onsite_messages.id"],
            name=op.f("fk_onsite_impressions_message_id_onsite_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_onsite_impressions_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onsite_impressions")),
        sa.UniqueConstraint(
            "visitor_id",
            "message_id",
            name=op.f("uq_onsite_impressions_visitor_id_message_id"),
        ),
    )
    op.create_index(
        "ix_onsite_impressions_message_id", "onsite_impressions", ["message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_onsite_impressions_message_id", table_name="onsite_impressions")
    op.drop_table("onsite_impressions")
    op.drop_index("ix_onsite_messages_shop_active", table_name="onsite_messages")
    op.drop_table("onsite_messages")
