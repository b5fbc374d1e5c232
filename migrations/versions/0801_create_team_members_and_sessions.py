"""Create team_members and team_sessions: a shop's people and their sign-ins.

Revision ID: 0801
Revises: 0302
"""

import sqlalchemy as sa
from alembic import op

revision = "0801"
down_revision = "0302"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _when("password_changed_at"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("platform_user_id", sa.String(64), nullable=True),
        sa.Column("locale", sa.String(16), nullable=True),
        _when("last_signed_in_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_team_members_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
        sa.UniqueConstraint(
            "shop_id", "email", name=op.f("uq_team_members_shop_id_email")
        ),
    )
    op.create_index(
        "ix_team_members_shop_platform_user",
        "team_members",
        ["shop_id", "platform_user_id"],
    )
    op.create_table(
        "team_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_team_sessions_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["team_members.id"],
            name=op.f("fk_team_sessions_member_id_team_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_team_sessions_token_hash")),
    )
    op.create_index("ix_team_sessions_member", "team_sessions", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_team_sessions_member", table_name="team_sessions")
    op.drop_table("team_sessions")
    op.drop_index("ix_team_members_shop_platform_user", table_name="team_members")
    op.drop_table("team_members")
