"""The database handle, the declarative base and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    TableValuedAlias,
    TypeDecorator,
    bindparam,
    cast,
    func,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so Alembic migrations can drop what they create on
# every backend (SQLite needs names for batch alterations).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


def insert_for(entity: Any):  # noqa: ANN201 - the dialect's Insert
    """An INSERT of the database in use, for its ``ON CONFLICT`` clauses."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(entity)


def unnested(columns: dict[str, Column]) -> TableValuedAlias:
    """PostgreSQL's ``unnest`` of one bound array per name: rows to join,
    insert or update from, bound as ``{name: [value, ...]}``.

    The statement's text is the same for any number of rows. A multi-row
    VALUES list or a long ``IN`` has a placeholder per value, and psycopg
    parses such a text anew each time: for a 1,000-row batch that parse costs
    far more than the database's own work. Each array takes its column's
    type, so values are bound as they would be for the column itself.
    """
    arrays = [
        cast(bindparam(name), postgresql.ARRAY(column.type))
        for name, column in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no zone, so values come back naive; this puts UTC back on
    them and refuses naive values going in, which would be ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Naive datetime {value!r}: pass a timezone-aware one.")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the deployment's token cipher before it is stored."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _cipher().encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _cipher().decrypt(value)


def _cipher():  # noqa: ANN202 - imported lazily to avoid a cycle with runtime
    from engine.runtime import current

    return current().token_cipher


class Timestamps:
    """When we created a row and last changed it (not the platform's times)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )
