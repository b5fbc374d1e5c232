"""Add the footprint to visitors, and index carts by visitor.

Revision ID: 0102
Revises: 0101
"""

import sqlalchemy as sa
from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None

FOOTPRINT_COLUMNS = (
    "first_seen_at",
    "page_views",
    "visit_count",
    "products_viewed",
    "last_page_url",
    "last_page_type",
    "last_cart_token",
    "last_cart_total",
    "last_cart_item_count",
    "last_cart_currency",
    "last_cart_at",
)


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table; PostgreSQL alters it in place.
    with op.batch_alter_table("visitors") as batch:
        batch.add_column(
            sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("page_views", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("visit_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("products_viewed", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("last_page_url", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("last_page_type", sa.String(length=16), nullable=True)
        )
        batch.add_column(
            sa.Column("last_cart_token", sa.String(length=255), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "last_cart_total", sa.Numeric(precision=14, scale=2), nullable=True
            )
        )
        batch.add_column(sa.Column("last_cart_item_count", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("last_cart_currency", sa.String(length=3), nullable=True)
        )
        batch.add_column(
            sa.Column("last_cart_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index("ix_carts_shop_visitor", "carts", ["shop_id", "visitor_id"])


def downgrade() -> None:
    op.drop_index("ix_carts_shop_visitor", table_name="carts")
    with op.batch_alter_table("visitors") as batch:
        for name in reversed(FOOTPRINT_COLUMNS):
            batch.drop_column(name)
