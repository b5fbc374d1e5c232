"""The per-app state the engine needs: settings, Redis, queues, clients.

``init_app`` builds it once per Flask app; ``current()`` returns the one of
the app in context, so jobs and web requests share the same construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import httpx
from flask import Flask, current_app
from redis import Redis
from rq import Queue
from shopify_app import ShopifyApp
from sqlalchemy import Engine, create_engine

from engine.crypto import TokenCipher
from engine.settings import Settings
from engine.shopify.http import make_http_client

EXTENSION_KEY = "revisit"

# The order workers take the queues in. Reminders first: a reminder late past
# its step misses the moment it was planned for, while a webhook applied a few
# seconds later loses nothing, and reminder work is bounded by the sends due,
# where a webhook backlog is not. An order waiting in ``webhooks`` still stops
# its shop's reminders: a batch holds back the sends of a shop with an order
# delivery recorded but not applied (engine.reminders.orders_waiting). Then
# store webhooks, cheap and what the rest depends on.
REMINDERS_QUEUE = "reminders"
QUEUE_NAMES = (REMINDERS_QUEUE, "webhooks", "tracking", "default")


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    token_cipher: TokenCipher
    shopify: ShopifyApp
    http: httpx.Client
    _queues: dict[str, Queue] = field(default_factory=dict)

    def queue(self, name: str = "default") -> Queue:
        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self.redis)
        return self._queues[name]

    @cached_property
    def queues(self) -> list[Queue]:
        return [self.queue(name) for name in QUEUE_NAMES]

    @cached_property
    def autocommit_engine(self) -> Engine:
        """A pool for single-statement writes on hot paths: one round trip each.

        No pre-ping (callers retry once on a dropped connection instead) and
        no BEGIN/COMMIT: a lone statement is its own transaction.
        """
        return create_engine(
            self.settings.database_url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
            pool_size=5,
            max_overflow=10,
        )


def build(settings: Settings) -> Runtime:
    return Runtime(
        settings=settings,
        redis=Redis.from_url(
            settings.redis_url,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
        ),
        token_cipher=TokenCipher(settings.token_encryption_keys),
        shopify=ShopifyApp(
            client_id=settings.shopify_api_key,
            client_secret=settings.shopify_api_secret,
            old_client_secret=settings.shopify_old_api_secret,
        ),
        http=make_http_client(settings),
    )


def init_app(app: Flask, settings: Settings) -> Runtime:
    runtime = build(settings)
    app.extensions[EXTENSION_KEY] = runtime
    return runtime


def current() -> Runtime:
    return current_app.extensions[EXTENSION_KEY]
