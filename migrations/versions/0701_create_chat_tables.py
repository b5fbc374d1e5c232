"""Create the chat's tables: conversations, messages, images, the team's tags,
saved replies, read marks, assignments and settings; add team members' shifts.

It also joins the three lines of revisions (binding, the game, the panel)
into one head, since the chat builds on all of them.

Revision ID: 0701
Revises: 0406, 0602, 0803
"""

import sqlalchemy as sa
from alembic import op

revision = "0701"
down_revision = ("0406", "0602", "0803")
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    target_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{target_table}"),
        ondelete=ondelete,
    )


def _shop(table: str) -> sa.ForeignKeyConstraint:
    return _fk(table, "shop_id", "shops.id", "CASCADE")


def _member(table: str, column: str, ondelete: str = "SET NULL") -> sa.Constraint:
    return _fk(table, column, "team_members.id", ondelete)


def upgrade() -> None:
    _create_conversations()
    _create_messages()
    _create_team_tables()
    with op.batch_alter_table("team_members") as batch:
        batch.add_column(
            sa.Column(
                "on_shift", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )


def _create_conversations() -> None:
    table = "chat_conversations"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("line_user_id", sa.String(128), nullable=True),
        sa.Column("messenger_psid", sa.String(128), nullable=True),
        sa.Column("shopper_name", sa.String(120), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("reply_channel", sa.String(16), nullable=False),
        sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_shopper_seq", sa.Integer(), server_default="0", nullable=False),
        _when("last_message_at"),
        _when("last_shopper_message_at"),
        _when("waiting_since"),
        sa.Column("line_reply_token", sa.String(255), nullable=True),
        _when("line_reply_token_at"),
        _when("follow_up_at"),
        _when("resolved_at"),
        _when("rating_requested_at"),
        sa.Column("rating", sa.Integer(), nullable=True),
        _when("rated_at"),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _shop(table),
        _fk(table, "visitor_id", "visitors.id", "SET NULL"),
        _member(table, "assignee_id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("public_id", name=op.f(f"uq_{table}_public_id")),
    )
    op.create_index("ix_chat_conversations_shop_status", table, ["shop_id", "status"])
    op.create_index(
        "ix_chat_conversations_shop_visitor", table, ["shop_id", "visitor_id"]
    )
    op.create_index(
        "ix_chat_conversations_shop_line", table, ["shop_id", "line_user_id"]
    )
    op.create_index(
        "ix_chat_conversations_shop_psid", table, ["shop_id", "messenger_psid"]
    )


def _create_messages() -> None:
    op.create_table(
        "chat_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _when("created_at", nullable=False),
        _shop("chat_images"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_images")),
        sa.UniqueConstraint("public_id", name=op.f("uq_chat_images_public_id")),
    )
    op.create_index("ix_chat_images_shop", "chat_images", ["shop_id"])

    table = "chat_messages"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(120), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("delivery", sa.String(16), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        _when("created_at", nullable=False),
        _shop(table),
        _fk(table, "conversation_id", "chat_conversations.id", "CASCADE"),
        _member(table, "member_id"),
        _fk(table, "image_id", "chat_images.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "conversation_id", "seq", name=op.f(f"uq_{table}_conversation_id_seq")
        ),
        sa.UniqueConstraint(
            "conversation_id",
            "client_id",
            name=op.f(f"uq_{table}_conversation_id_client_id"),
        ),
        sa.UniqueConstraint(
            "shop_id",
            "channel",
            "external_id",
            name=op.f(f"uq_{table}_shop_id_channel_external_id"),
        ),
    )


def _create_team_tables() -> None:
    table = "chat_assignments"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("from_member_id", sa.Integer(), nullable=True),
        sa.Column("to_member_id", sa.Integer(), nullable=True),
        sa.Column("by_member_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(24), nullable=False),
        _when("at", nullable=False),
        _shop(table),
        _fk(table, "conversation_id", "chat_conversations.id", "CASCADE"),
        _member(table, "from_member_id"),
        _member(table, "to_member_id"),
        _member(table, "by_member_id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index("ix_chat_assignments_conversation", table, ["conversation_id"])

    op.create_table(
        "chat_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("color", sa.String(7), nullable=False),
        _shop("chat_tags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_tags")),
        sa.UniqueConstraint("shop_id", "name", name=op.f("uq_chat_tags_shop_id_name")),
    )
    table = "chat_conversation_tags"
    op.create_table(
        table,
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        _fk(table, "conversation_id", "chat_conversations.id", "CASCADE"),
        _fk(table, "tag_id", "chat_tags.id", "CASCADE"),
        _shop(table),
        sa.PrimaryKeyConstraint("conversation_id", "tag_id", name=op.f(f"pk_{table}")),
    )
    op.create_table(
        "chat_saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _shop("chat_saved_replies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_saved_replies")),
        sa.UniqueConstraint(
            "shop_id", "title", name=op.f("uq_chat_saved_replies_shop_id_title")
        ),
    )
    table = "chat_reads"
    op.create_table(
        table,
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("last_read_seq", sa.Integer(), nullable=False),
        _member(table, "member_id", "CASCADE"),
        _fk(table, "conversation_id", "chat_conversations.id", "CASCADE"),
        _shop(table),
        sa.PrimaryKeyConstraint(
            "member_id", "conversation_id", name=op.f(f"pk_{table}")
        ),
    )
    table = "chat_settings"
    op.create_table(
        table,
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "no_reply_minutes", sa.Integer(), server_default="15", nullable=False
        ),
        sa.Column("no_reply_action", sa.String(16), nullable=False),
        sa.Column("closed_note_en", sa.String(200), nullable=True),
        sa.Column("closed_note_zh", sa.String(200), nullable=True),
        sa.Column(
            "messenger_human_agent",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
        sa.Column("ask_rating", sa.Boolean(), server_default=sa.true(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _shop(table),
        sa.PrimaryKeyConstraint("shop_id", name=op.f(f"pk_{table}")),
    )


def downgrade() -> None:
    with op.batch_alter_table("team_members") as batch:
        batch.drop_column("on_shift")
    op.drop_table("chat_settings")
    op.drop_table("chat_reads")
    op.drop_table("chat_saved_replies")
    op.drop_table("chat_conversation_tags")
    op.drop_table("chat_tags")
    op.drop_index("ix_chat_assignments_conversation", table_name="chat_assignments")
    op.drop_table("chat_assignments")
    op.drop_table("chat_messages")
    op.drop_index("ix_chat_images_shop", table_name="chat_images")
    op.drop_table("chat_images")
    for index in ("psid", "line", "visitor", "status"):
        op.drop_index(
            f"ix_chat_conversations_shop_{index}", table_name="chat_conversations"
        )
    op.drop_table("chat_conversations")
