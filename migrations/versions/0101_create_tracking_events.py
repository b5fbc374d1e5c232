"""Create visitor_events (raw storefront events) and storefront_origins.

Revision ID: 0101
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visitor_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("page_type", sa.String(length=16), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("product_handle", sa.String(length=255), nullable=True),
        sa.Column("variant_id", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("utm_source", sa.String(length=255), nullable=True),
        sa.Column("utm_medium", sa.String(length=255), nullable=True),
        sa.Column("utm_campaign", sa.String(length=255), nullable=True),
        sa.Column("utm_term", sa.String(length=255), nullable=True),
        sa.Column("utm_content", sa.String(length=255), nullable=True),
        sa.Column("seconds_on_page", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("cart_token", sa.String(length=255), nullable=True),
        sa.Column("cart_total", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("cart_item_count", sa.Integer(), nullable=True),
        sa.Column("cart_currency", sa.String(length=3), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_visitor_events_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_visitor_events_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_events")),
        sa.UniqueConstraint(
            "shop_id", "event_id", name=op.f("uq_visitor_events_shop_id_event_id")
        ),
    )
    op.create_index(
        "ix_visitor_events_visitor_occurred",
        "visitor_events",
        ["visitor_id", "occurred_at"],
    )
    op.create_index("ix_visitor_events_received", "visitor_events", ["received_at"])

    op.create_table(
        "storefront_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_storefront_origins_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storefront_origins")),
        sa.UniqueConstraint(
            "shop_id", "origin", name=op.f("uq_storefront_origins_shop_id_origin")
        ),
    )
    op.create_index("ix_storefront_origins_origin", "storefront_origins", ["origin"])


def downgrade() -> None:
    op.drop_index("ix_storefront_origins_origin", table_name="storefront_origins")
    op.drop_table("storefront_origins")
    op.drop_index("ix_visitor_events_received", table_name="visitor_events")
    op.drop_index("ix_visitor_events_visitor_occurred", table_name="visitor_events")
    op.drop_table("visitor_events")
