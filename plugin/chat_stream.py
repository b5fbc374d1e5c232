"""Server-sent event streams of the chat, for the widget and for the team's inbox.

A stream registers with the process's ``ChatHub`` before it reads the
database, so nothing published in between is missed; it holds no database
session while it waits. The widget's stream carries whole messages keyed
by ``seq`` (the ``id:`` of each event, which the browser sends back as
``Last-Event-ID`` when it reconnects): it sends what the client has not
seen, in order and once. The inbox's stream carries notices ("conversation
x changed") for the panel to fetch what it shows.

Each stream occupies one of its web process's threads while open;
``revisit serve`` sizes the thread pool for that (``plugin.gunicorn_conf``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app

from engine.chat.fanout import RESYNC, Listener, hub_for
from engine.db import db
from engine.runtime import current

logger = logging.getLogger(__name__)

PING_SECONDS = 15.0
# The browser waits this long before reconnecting a dropped stream.
RETRY_MS = 2000
# A stream ends after this long; the browser reconnects at once, which
# spreads long-lived connections across processes after a deploy.
MAX_SECONDS = 15 * 60

CatchUp = Callable[[int], tuple[list[dict[str, Any]], int | None]]


def message_stream(
    shop_id: int,
    wants: Callable[[dict[str, Any]], bool],
    catch_up: CatchUp,
    after: int,
) -> Response:
    """Stream the messages numbered above ``after``, then live ones.

    ``catch_up(after)`` reads the database and returns the messages past
    ``after`` (as the widget's JSON, each with its ``seq``) and the id of the
    conversation they belong to, if one exists yet.
    """
    hub = hub_for(current().settings.redis_url)
    listener = hub.listen(shop_id, wants)
    app = current_app._get_current_object()

    def events() -> Iterator[str]:
        last = after
        try:
            yield f"retry: {RETRY_MS}\n\n"
            last = yield from _messages_past(app, catch_up, last)
            for event in _waiting(listener):
                if event is None:
                    yield ": ping\n\n"
                elif event is RESYNC or event.get("type") == "message":
                    last = yield from _messages_past(app, catch_up, last)
                else:
                    # The shopper learns the case's status, nothing of the team.
                    change = {key: event.get(key) for key in ("what", "status")}
                    yield _event("conversation", change)
        finally:
            hub.forget(listener)

    return _response(events)


def notice_stream(shop_id: int, wants: Callable[[dict[str, Any]], bool]) -> Response:
    """Stream every chat event of the shop that ``wants`` takes, as notices."""
    hub = hub_for(current().settings.redis_url)
    listener = hub.listen(shop_id, wants)

    def events() -> Iterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            for event in _waiting(listener):
                if event is None:
                    yield ": ping\n\n"
                elif event is RESYNC:
                    yield _event("resync", {})
                else:
                    yield _event(event.get("type", "notice"), event)
        finally:
            hub.forget(listener)

    return _response(events)


def _messages_past(app: Any, catch_up: CatchUp, last: int) -> Iterator[str]:
    # A short app context of its own: the database session is returned to
    # the pool before the stream waits again.
    with app.app_context():
        try:
            messages, _conversation = catch_up(last)
        finally:
            db.session.remove()
    for message in messages:
        if message["seq"] > last:
            last = message["seq"]
            yield f"id: {last}\nevent: message\ndata: {json.dumps(message)}\n\n"
    return last


def _waiting(listener: Listener) -> Iterator[dict[str, Any] | None]:
    """Events as they come, None after each quiet ``PING_SECONDS``."""
    waited = 0.0
    while waited < MAX_SECONDS:
        event = listener.next_event(PING_SECONDS)
        if event is None:
            waited += PING_SECONDS
        yield event


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _response(events: Callable[[], Iterator[str]]) -> Response:
    # Not stream_with_context: the request's context (and its database
    # session) ends when the view returns; the stream opens its own briefly.
    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-transform"
    # Tells nginx-style proxies not to hold the stream in a buffer.
    response.headers["X-Accel-Buffering"] = "no"
    return response
