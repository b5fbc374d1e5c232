"""Every migration upgrades, downgrades and upgrades again, on both backends."""

from __future__ import annotations

import os
from collections.abc import Iterator

import flask_migrate
import pytest
from sqlalchemy import inspect

from engine.db import db
from plugin import create_app
from tests import backends
from tests.conftest import BACKENDS

APP_TABLES = {
    "binding_consents",
    "binding_funnel_days",
    "binding_popups",
    "carts",
    "channel_accounts",
    "channel_bindings",
    "channel_deliveries",
    "chat_assignments",
    "chat_conversation_tags",
    "chat_conversations",
    "chat_images",
    "chat_messages",
    "chat_reads",
    "chat_saved_replies",
    "chat_settings",
    "chat_tags",
    "checkouts",
    "data_exports",
    "game_attributions",
    "game_campaigns",
    "game_collects",
    "game_ledger_entries",
    "game_participants",
    "game_redemptions",
    "game_targets",
    "game_wallets",
    "line_items",
    "onsite_impressions",
    "onsite_messages",
    "opening_hours",
    "orders",
    "reminder_attributions",
    "reminder_flows",
    "reminder_notices",
    "reminder_runs",
    "reminder_sends",
    "reminder_steps",
    "sandbox_outbox",
    "shops",
    "storefront_origins",
    "team_members",
    "team_sessions",
    "visitor_events",
    "visitors",
    "webhook_deliveries",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_database(
    request: pytest.FixtureRequest, tmp_path: os.PathLike
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrations.sqlite3"
        return
    if BACKENDS.admin_database_url is None:
        pytest.skip("PostgreSQL is not reachable here; CI runs this case.")
    name = f"revisit_migrations_{os.getpid()}"
    yield backends.create_database(BACKENDS.admin_database_url, name)
    backends.drop_database(BACKENDS.admin_database_url, name)


def tables(app) -> set[str]:  # noqa: ANN001
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_upgrade_downgrade_upgrade(
    scratch_database: str, settings_env: dict[str, str]
) -> None:
    app = create_app({**settings_env, "DATABASE_URL": scratch_database})

    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        assert tables(app) == APP_TABLES

        flask_migrate.downgrade(revision="base")
        assert tables(app) == set()

        flask_migrate.upgrade(revision="heads")
        assert tables(app) == APP_TABLES
        db.engine.dispose()


def test_migrations_match_models(
    scratch_database: str, settings_env: dict[str, str]
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = create_app({**settings_env, "DATABASE_URL": scratch_database})

    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": False}
            )
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()

    assert differences == []
