"""Create the bonus game's tables: campaigns, collects, wallets, the ledger.

Revision ID: 0601
Revises: 0302
"""

import sqlalchemy as sa
from alembic import op

revision = "0601"
down_revision = "0302"
branch_labels = None
depends_on = None


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["shop_id"],
        ["shops.id"],
        name=op.f(f"fk_{table}_shop_id_shops"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    _create_campaigns()
    _create_wallets_and_collects()
    _create_redemptions()
    _create_ledger()


def _create_campaigns() -> None:
    op.create_table(
        "game_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("min_seconds", sa.Integer(), nullable=False),
        sa.Column("cap_per_visitor", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("spent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("credit_expiry_days", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("look", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "spent >= 0 AND spent <= budget",
            name=op.f("ck_game_campaigns_within_budget"),
        ),
        _shop_fk("game_campaigns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_campaigns")),
    )
    op.create_index(
        "ix_game_campaigns_shop", "game_campaigns", ["shop_id"], unique=False
    )
    op.create_table(
        "game_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "collected >= 0", name=op.f("ck_game_participants_collected_positive")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["game_campaigns.id"],
            name=op.f("fk_game_participants_campaign_id_game_campaigns"),
            ondelete="CASCADE",
        ),
        _shop_fk("game_participants"),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_game_participants_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_participants")),
        sa.UniqueConstraint(
            "campaign_id",
            "visitor_id",
            name=op.f("uq_game_participants_campaign_id_visitor_id"),
        ),
    )
    op.create_table(
        "game_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reward", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["game_campaigns.id"],
            name=op.f("fk_game_targets_campaign_id_game_campaigns"),
            ondelete="CASCADE",
        ),
        _shop_fk("game_targets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_targets")),
    )
    op.create_index(
        op.f("ix_game_targets_campaign_id"),
        "game_targets",
        ["campaign_id"],
        unique=False,
    )


def _create_wallets_and_collects() -> None:
    op.create_table(
        "game_wallets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("owner_key", sa.String(length=96), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("balance", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "balance >= 0", name=op.f("ck_game_wallets_balance_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["game_wallets.id"],
            name=op.f("fk_game_wallets_merged_into_id_game_wallets"),
            ondelete="SET NULL",
        ),
        _shop_fk("game_wallets"),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_game_wallets_visitor_id_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_wallets")),
        sa.UniqueConstraint(
            "shop_id", "owner_key", name=op.f("uq_game_wallets_shop_id_owner_key")
        ),
    )
    op.create_table(
        "game_collects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("token_nonce", sa.String(length=32), nullable=False),
        sa.Column("page_event_id", sa.String(length=64), nullable=False),
        sa.Column("page_viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["game_campaigns.id"],
            name=op.f("fk_game_collects_campaign_id_game_campaigns"),
            ondelete="CASCADE",
        ),
        _shop_fk("game_collects"),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["game_targets.id"],
            name=op.f("fk_game_collects_target_id_game_targets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_game_collects_visitor_id_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_collects")),
        sa.UniqueConstraint(
            "target_id",
            "visitor_id",
            name=op.f("uq_game_collects_target_id_visitor_id"),
        ),
        sa.UniqueConstraint("token_nonce", name=op.f("uq_game_collects_token_nonce")),
    )
    op.create_index(
        "ix_game_collects_campaign", "game_collects", ["campaign_id"], unique=False
    )


def _create_redemptions() -> None:
    op.create_table(
        "game_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("discount_id", sa.String(length=128), nullable=True),
        sa.Column("transaction_id", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_game_redemptions_order_id_orders"),
            ondelete="SET NULL",
        ),
        _shop_fk("game_redemptions"),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["game_wallets.id"],
            name=op.f("fk_game_redemptions_wallet_id_game_wallets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_redemptions")),
        sa.UniqueConstraint(
            "shop_id", "code", name=op.f("uq_game_redemptions_shop_id_code")
        ),
        sa.UniqueConstraint(
            "shop_id",
            "transaction_id",
            name=op.f("uq_game_redemptions_shop_id_transaction_id"),
        ),
    )
    op.create_index(
        "ix_game_redemptions_shop_status",
        "game_redemptions",
        ["shop_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_game_redemptions_wallet", "game_redemptions", ["wallet_id"], unique=False
    )
    op.create_table(
        "game_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["game_campaigns.id"],
            name=op.f("fk_game_attributions_campaign_id_game_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_game_attributions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["game_redemptions.id"],
            name=op.f("fk_game_attributions_redemption_id_game_redemptions"),
            ondelete="CASCADE",
        ),
        _shop_fk("game_attributions"),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["game_wallets.id"],
            name=op.f("fk_game_attributions_wallet_id_game_wallets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_attributions")),
        sa.UniqueConstraint(
            "order_id",
            "campaign_id",
            name=op.f("uq_game_attributions_order_id_campaign_id"),
        ),
    )
    op.create_index(
        op.f("ix_game_attributions_campaign_id"),
        "game_attributions",
        ["campaign_id"],
        unique=False,
    )


def _create_ledger() -> None:
    op.create_table(
        "game_ledger_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "lot_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collect_id", sa.Integer(), nullable=True),
        sa.Column("redemption_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount <> 0", name=op.f("ck_game_ledger_entries_amount_not_zero")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["game_campaigns.id"],
            name=op.f("fk_game_ledger_entries_campaign_id_game_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collect_id"],
            ["game_collects.id"],
            name=op.f("fk_game_ledger_entries_collect_id_game_collects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["game_ledger_entries.id"],
            name=op.f("fk_game_ledger_entries_lot_id_game_ledger_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["game_redemptions.id"],
            name=op.f("fk_game_ledger_entries_redemption_id_game_redemptions"),
            ondelete="CASCADE",
        ),
        _shop_fk("game_ledger_entries"),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["game_wallets.id"],
            name=op.f("fk_game_ledger_entries_wallet_id_game_wallets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_ledger_entries")),
    )
    op.create_index(
        "ix_game_ledger_entries_campaign",
        "game_ledger_entries",
        ["campaign_id"],
        unique=False,
    )
    op.create_index(
        "ix_game_ledger_entries_lot", "game_ledger_entries", ["lot_id"], unique=False
    )
    op.create_index(
        "ix_game_ledger_entries_wallet",
        "game_ledger_entries",
        ["wallet_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_game_ledger_entries_wallet", table_name="game_ledger_entries")
    op.drop_index("ix_game_ledger_entries_lot", table_name="game_ledger_entries")
    op.drop_index("ix_game_ledger_entries_campaign", table_name="game_ledger_entries")
    op.drop_table("game_ledger_entries")
    op.drop_index(
        op.f("ix_game_attributions_campaign_id"), table_name="game_attributions"
    )
    op.drop_table("game_attributions")
    op.drop_index("ix_game_redemptions_wallet", table_name="game_redemptions")
    op.drop_index("ix_game_redemptions_shop_status", table_name="game_redemptions")
    op.drop_table("game_redemptions")
    op.drop_index("ix_game_collects_campaign", table_name="game_collects")
    op.drop_table("game_collects")
    op.drop_table("game_wallets")
    op.drop_index(op.f("ix_game_targets_campaign_id"), table_name="game_targets")
    op.drop_table("game_targets")
    op.drop_table("game_participants")
    op.drop_index("ix_game_campaigns_shop", table_name="game_campaigns")
    op.drop_table("game_campaigns")
