"""Add consent, the way of binding and the tag to channel_bindings.

Bindings made before consent was recorded keep receiving reminders
(``marketing_consent`` defaults to true), as they did.

Revision ID: 0402
Revises: 0401
"""

import sqlalchemy as sa
from alembic import op

revision = "0402"
down_revision = "0401"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_bindings") as batch:
        batch.add_column(
            sa.Column(
                "marketing_consent",
                sa.Boolean(),
                server_default=sa.true(),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("bound_via", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("tag", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_bindings") as batch:
        batch.drop_column("tag")
        batch.drop_column("bound_via")
        batch.drop_column("consented_at")
        batch.drop_column("marketing_consent")
