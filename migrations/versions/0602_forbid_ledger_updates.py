"""Forbid updates to game_ledger_entries: the ledger is append-only.

A trigger refuses every UPDATE, whatever code issues it. Rows still go when
their shop is erased (shop/redact deletes every row of the shop).

Revision ID: 0602
Revises: 0601
"""

from alembic import op

revision = "0602"
down_revision = "0601"
branch_labels = None
depends_on = None

MESSAGE = "game_ledger_entries is append-only: write a new entry instead"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION game_ledger_entries_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (entry %)', OLD.id;
            END
            $$
            """
        )
        op.execute(
            """
            CREATE TRIGGER game_ledger_entries_append_only
            BEFORE UPDATE ON game_ledger_entries
            FOR EACH ROW EXECUTE FUNCTION game_ledger_entries_append_only()
            """
        )
        return
    op.execute(
        f"""
        CREATE TRIGGER game_ledger_entries_append_only
        BEFORE UPDATE ON game_ledger_entries
        BEGIN
            SELECT RAISE(ABORT, '{MESSAGE}');
        END
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER game_ledger_entries_append_only ON game_ledger_entries"
        )
        op.execute("DROP FUNCTION game_ledger_entries_append_only()")
        return
    op.execute("DROP TRIGGER game_ledger_entries_append_only")
