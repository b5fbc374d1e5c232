"""Create the reminder tables: flows, steps, runs, sends, attributions, notices.

Revision ID: 0302
Revises: 0301
"""

import sqlalchemy as sa
from alembic import op

revision = "0302"
down_revision = "0301"
branch_labels = None
depends_on = None


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["shop_id"],
        ["shops.id"],
        name=op.f(f"fk_{table}_shop_id_shops"),
        ondelete="CASCADE",
    )


def _timestamps(*names: str, nullable: bool = False) -> list[sa.Column]:
    return [
        sa.Column(name, sa.DateTime(timezone=True), nullable=nullable) for name in names
    ]


def upgrade() -> None:
    _create_flows_and_steps()
    _create_runs_and_sends()
    _create_attributions_and_notices()


def _create_flows_and_steps() -> None:
    op.create_table(
        "reminder_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("abandonment_minutes", sa.Integer(), nullable=False),
        sa.Column("quiet_start_minute", sa.Integer(), nullable=True),
        sa.Column("quiet_end_minute", sa.Integer(), nullable=True),
        sa.Column("frequency_cap", sa.Integer(), nullable=False),
        sa.Column("frequency_window_hours", sa.Integer(), nullable=False),
        sa.Column("attribution_days", sa.Integer(), nullable=False),
        sa.Column("channel_order", sa.JSON(), nullable=False),
        sa.Column("message_costs", sa.JSON(), nullable=False),
        *_timestamps("created_at", "updated_at"),
        _shop_fk("reminder_flows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_flows")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_reminder_flows_shop_id")),
    )
    op.create_table(
        "reminder_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("latest_minutes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["reminder_flows.id"],
            name=op.f("fk_reminder_steps_flow_id_reminder_flows"),
            ondelete="CASCADE",
        ),
        _shop_fk("reminder_steps"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_steps")),
        sa.UniqueConstraint(
            "flow_id", "position", name=op.f("uq_reminder_steps_flow_id_position")
        ),
    )


def _create_runs_and_sends() -> None:
    op.create_table(
        "reminder_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stop_reason", sa.String(length=64), nullable=True),
        sa.Column("cart_fingerprint", sa.String(length=64), nullable=False),
        *_timestamps("last_activity_at", "abandoned_at", "created_at"),
        *_timestamps("ended_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["cart_id"],
            ["carts.id"],
            name=op.f("fk_reminder_runs_cart_id_carts"),
            ondelete="CASCADE",
        ),
        _shop_fk("reminder_runs"),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_reminder_runs_visitor_id_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_runs")),
        sa.UniqueConstraint(
            "shop_id",
            "cart_id",
            "round",
            name=op.f("uq_reminder_runs_shop_id_cart_id_round"),
        ),
    )
    op.create_index(
        "ix_reminder_runs_shop_visitor", "reminder_runs", ["shop_id", "visitor_id"]
    )
    op.create_index("ix_reminder_runs_status", "reminder_runs", ["status"])
    op.create_table(
        "reminder_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_timestamps("planned_at", "due_at"),
        sa.Column("deferred_reason", sa.String(length=64), nullable=True),
        *_timestamps("claimed_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_key", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("binding_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("platform_message_ids", sa.JSON(), nullable=True),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=True),
        *_timestamps("sent_at", "ended_at", nullable=True),
        sa.Column("clicks", sa.Integer(), nullable=False),
        *_timestamps("first_clicked_at", "last_clicked_at", nullable=True),
        *_timestamps("created_at", "updated_at"),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["channel_bindings.id"],
            name=op.f("fk_reminder_sends_binding_id_channel_bindings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reminder_runs.id"],
            name=op.f("fk_reminder_sends_run_id_reminder_runs"),
            ondelete="CASCADE",
        ),
        _shop_fk("reminder_sends"),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_reminder_sends_visitor_id_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sends")),
        sa.UniqueConstraint(
            "run_id", "position", name=op.f("uq_reminder_sends_run_id_position")
        ),
    )
    op.create_index(
        "ix_reminder_sends_status_due", "reminder_sends", ["status", "due_at"]
    )
    op.create_index(
        "ix_reminder_sends_shop_visitor",
        "reminder_sends",
        ["shop_id", "visitor_id", "sent_at"],
    )
    op.create_index(
        "ix_reminder_sends_shop_recipient",
        "reminder_sends",
        ["shop_id", "recipient_id", "sent_at"],
    )


def _create_attributions_and_notices() -> None:
    op.create_table(
        "reminder_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("credited_for", sa.String(length=8), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        *_timestamps("placed_at", nullable=True),
        *_timestamps("created_at"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_reminder_attributions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["reminder_sends.id"],
            name=op.f("fk_reminder_attributions_send_id_reminder_sends"),
            ondelete="SET NULL",
        ),
        _shop_fk("reminder_attributions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_attributions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_reminder_attributions_order_id")),
    )
    op.create_table(
        "reminder_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        *_timestamps("until", nullable=True),
        *_timestamps("created_at"),
        *_timestamps("resolved_at", nullable=True),
        _shop_fk("reminder_notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_notices")),
    )
    op.create_index(
        "ix_reminder_notices_shop_kind", "reminder_notices", ["shop_id", "kind"]
    )


def downgrade() -> None:
    op.drop_index("ix_reminder_notices_shop_kind", table_name="reminder_notices")
    op.drop_table("reminder_notices")
    op.drop_table("reminder_attributions")
    op.drop_index("ix_reminder_sends_shop_recipient", table_name="reminder_sends")
    op.drop_index("ix_reminder_sends_shop_visitor", table_name="reminder_sends")
    op.drop_index("ix_reminder_sends_status_due", table_name="reminder_sends")
    op.drop_table("reminder_sends")
    op.drop_index("ix_reminder_runs_status", table_name="reminder_runs")
    op.drop_index("ix_reminder_runs_shop_visitor", table_name="reminder_runs")
    op.drop_table("reminder_runs")
    op.drop_table("reminder_steps")
    op.drop_table("reminder_flows")
