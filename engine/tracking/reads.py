"""The widget API's reads: one database round trip each, off the main pool.

A storefront page view reads the shop, its rules and the visitor's footprint.
Through the app's session each SELECT would cost four more round trips: the
pool's pre-ping (``SELECT 1`` in its own transaction) and a BEGIN and ROLLBACK
around the query. These reads use a small pool of their own, in autocommit
and without pre-ping. A connection that died (a database restart) fails one
read with ``OperationalError`` and is replaced. The page endpoint survives a
failed rules or footprint read by showing no message (see
``engine.onsite.selection.message_for_page_view``); a failed shop lookup
answers 503, which the widget treats like any failed call: it shows nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, Executable, Row, create_engine

READS_KEY = "revisit.widget_reads"
POOL_SIZE = 4
MAX_OVERFLOW = 8


def rows(statement: Executable, **params: Any) -> list[Row]:
    """Every row of a prepared statement, read in autocommit."""
    with _engine(current_app).connect() as connection:
        return list(connection.execute(statement, params))


def first_row(statement: Executable, **params: Any) -> Row | None:
    with _engine(current_app).connect() as connection:
        return connection.execute(statement, params).first()


def _engine(app: Flask) -> Engine:
    engine = app.extensions.get(READS_KEY)
    if engine is None:
        engine = app.extensions.setdefault(READS_KEY, _create(app))
    return engine


def _create(app: Flask) -> Engine:
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.update(pool_pre_ping=False, isolation_level="AUTOCOMMIT")
    if "pool_size" in options:
        options.update(pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    return create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **options)
