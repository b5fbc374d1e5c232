"""Add storefront_origins.source: the store's own domains or the owner's additions.

A refresh from the store platform replaces the domains it reported before,
and must leave the origins a shop owner added by hand alone. Rows before
this revision all came from the platform (the primary domain).

Revision ID: 0804
Revises: 0803
"""

import sqlalchemy as sa
from alembic import op

revision = "0804"
down_revision = "0803"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("storefront_origins") as batch:
        batch.add_column(
            sa.Column(
                "source", sa.String(16), nullable=False, server_default="platform"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("storefront_origins") as batch:
        batch.drop_column("source")
