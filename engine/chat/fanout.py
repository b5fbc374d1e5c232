"""Live delivery: chat events published through Redis, one subscriber per process.

A message is stored first; ``publish_after_commit`` holds its event on the
session and publishes it to the shop's Redis channel once the transaction
commits (a rolled-back message is never announced). Each process has one
``ChatHub``: a thread with a single Redis subscription for every shop, which
hands each event to the open streams of that process that want it. Streams
are in-memory queues, so Redis connections do not grow with the number of
shoppers connected.

Redis pub/sub keeps nothing: an event published while the hub was
reconnecting is lost to live delivery. The hub then tells every stream to
resynchronise, and the stream reads what it missed from the database, where
every message is numbered.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.db import db

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "revisit:chat:"
_PENDING_KEY = "revisit.pending_chat_events"
# Tells a stream it may have missed events and must read the database.
RESYNC = {"type": "resync"}
# Seconds between attempts to subscribe again after Redis went away.
RECONNECT_DELAY = 1.0


def publish_after_commit(shop_id: int, payload: dict[str, Any]) -> None:
    """Announce ``payload`` to the shop's listeners once the transaction commits."""
    pending = db.session().info.setdefault(_PENDING_KEY, [])
    pending.append((shop_id, payload))


@event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    from engine.runtime import current

    redis = current().redis
    for shop_id, payload in pending:
        try:
            redis.publish(CHANNEL_PREFIX + str(shop_id), json.dumps(payload))
        except RedisError:
            # Stored is what counts: streams catch up from the database.
            logger.warning("chat.publish_failed", extra={"shop_id": shop_id})


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


@dataclass(eq=False)
class Listener:
    """One open stream's inbox of events, filtered by ``wants``."""

    shop_id: int
    wants: Callable[[dict[str, Any]], bool]
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    def offer(self, payload: dict[str, Any]) -> None:
        if payload is RESYNC or self.wants(payload):
            self.events.put(payload)

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None


class ChatHub:
    """A process's one subscription to every shop's chat events."""

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._listeners: dict[int, set[Listener]] = defaultdict(set)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def listen(self, shop_id: int, wants: Callable[[dict[str, Any]], bool]) -> Listener:
        listener = Listener(shop_id, wants)
        with self._lock:
            self._listeners[shop_id].add(listener)
        self._ensure_running()
        return listener

    def forget(self, listener: Listener) -> None:
        with self._lock:
            listeners = self._listeners.get(listener.shop_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[listener.shop_id]

    @property
    def listener_count(self) -> int:
        with self._lock:
            return sum(len(listeners) for listeners in self._listeners.values())

    def stop(self) -> None:
        self._stopped.set()

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._run, name="revisit-chat-hub", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        subscribed_before = False
        while not self._stopped.is_set():
            try:
                self._subscribe_and_dispatch(resync=subscribed_before)
            except (RedisError, OSError) as failure:
                logger.warning(
                    "chat.hub_disconnected", extra={"error": type(failure).__name__}
                )
            subscribed_before = True
            self._stopped.wait(RECONNECT_DELAY)

    def _subscribe_and_dispatch(self, *, resync: bool) -> None:
        connection = Redis.from_url(
            self._redis_url, socket_connect_timeout=3, health_check_interval=30
        )
        pubsub = connection.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.psubscribe(CHANNEL_PREFIX + "*")
            logger.info("chat.hub_subscribed", extra={"resync": resync})
            if resync:
                self._broadcast(RESYNC)
            while not self._stopped.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._dispatch(message)
        finally:
            pubsub.close()
            connection.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode()
        try:
            shop_id = int(str(channel).removeprefix(CHANNEL_PREFIX))
            payload = json.loads(message["data"])
        except (ValueError, TypeError):
            logger.warning("chat.hub_unreadable_event")
            return
        with self._lock:
            listeners = list(self._listeners.get(shop_id, ()))
        for listener in listeners:
            listener.offer(payload)

    def _broadcast(self, payload: dict[str, Any]) -> None:
        with self._lock:
            listeners = [item for group in self._listeners.values() for item in group]
        for listener in listeners:
            listener.offer(payload)


_hubs: dict[str, ChatHub] = {}
_hubs_lock = threading.Lock()


def hub_for(redis_url: str) -> ChatHub:
    """This process's hub for ``redis_url``, created on first use.

    Created lazily, so a web process forked by gunicorn starts its own
    thread after the fork rather than inheriting a dead one.
    """
    with _hubs_lock:
        hub = _hubs.get(redis_url)
        if hub is None:
            hub = _hubs[redis_url] = ChatHub(redis_url)
        return hub
