"""Readiness: can this process reach its database and its Redis, right now.

``Probes`` holds its own quick clients (``connections``), so a check never
waits behind the app's pools or their longer timeouts, and never takes one
of their connections from a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from engine.ops.connections import prompt_engine, prompt_redis
from engine.settings import Settings

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
OK = "ok"
FAILED = "failed"


@dataclass
class Probes:
    """The readiness checks of one process, with their own small clients."""

    engine: Engine
    redis: Redis

    @classmethod
    def build(
        cls, settings: Settings, timeout: float = CHECK_TIMEOUT_SECONDS
    ) -> Probes:
        return cls(
            engine=prompt_engine(settings.database_url, timeout),
            redis=prompt_redis(settings.redis_url, timeout),
        )

    def check(self) -> dict[str, str]:
        """``{"database": "ok" | "failed", "redis": ...}``, each checked once."""
        return {"database": self._database(), "redis": self._redis()}

    def _database(self) -> str:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return _failed("database", exc)
        return OK

    def _redis(self) -> str:
        try:
            self.redis.ping()
        except RedisError as exc:
            return _failed("redis", exc)
        return OK


def _failed(backend: str, error: Exception) -> str:
    logger.warning(
        "ops.readiness_failed",
        extra={"backend": backend, "error": type(error).__name__},
    )
    return FAILED
