"""The Inbox's live events: the shop's chat notices as server-sent events.

EventSource cannot send the store admin's ``Authorization`` header, so
``POST /inbox/stream-token`` hands out a stream address carrying a
ten-minute token signed for the shop and the member (itsdangerous, a salt
of its own). ``GET /inbox/stream`` takes only that token, and refuses it
(401) once the member may no longer see the shop.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.models import TeamMember
from plugin.admin import inbox_schemas as schemas
from plugin.admin.access import Viewer, agent_of
from plugin.admin.openapi import operation
from plugin.chat_stream import notice_stream
from plugin.errors import ApiError

logger = logging.getLogger(__name__)

STREAM_TOKEN_SECONDS = 600
_STREAM_SALT = "revisit.inbox.stream"


@operation(
    "POST",
    "/inbox/stream-token",
    summary="A stream address for EventSource, good for ten minutes.",
    response=schemas.StreamTokenSchema,
    agents=True,
)
def post_inbox_stream_token(viewer: Viewer) -> dict[str, Any]:
    member = agent_of(viewer)
    token = stream_token(viewer.shop, member)
    return {
        "url": url_for("admin.get_inbox_stream", token=token),
        "expires_in": STREAM_TOKEN_SECONDS,
    }


@operation(
    "GET",
    "/inbox/stream",
    summary="The shop's chat notices as server-sent events (message,"
    " conversation; resync: fetch again). 401 once the token expired.",
    query=schemas.StreamQuerySchema,
    produces="text/event-stream",
    public=True,
    errors=(401,),
)
def get_inbox_stream(viewer: None, query: dict[str, Any]) -> Response:
    shop = shop_of_stream_token(query["token"])
    return notice_stream(shop.id, lambda event: True)


def stream_token(shop: Shop, member: TeamMember) -> str:
    return _serializer().dumps([shop.id, member.id])


def shop_of_stream_token(token: str) -> Shop:
    """The shop a stream token was signed for, while its member may still see it.

    Raises ``ApiError`` 401: ``stream_token_expired`` (ask for a new one) or
    ``invalid_stream_token``.
    """
    try:
        shop_id, member_id = _serializer().loads(token, max_age=STREAM_TOKEN_SECONDS)
    except SignatureExpired:
        # The page asks for a new token when its stream fails: no log line.
        raise ApiError(
            401, "stream_token_expired", "The stream token expired; ask for a new one."
        ) from None
    except (BadSignature, TypeError, ValueError):
        logger.warning("admin.inbox_stream_token_refused")
        raise ApiError(
            401, "invalid_stream_token", "The stream token is not valid."
        ) from None

    shop = db.session.get(Shop, shop_id) if isinstance(shop_id, int) else None
    member = (
        db.session.get(TeamMember, member_id) if isinstance(member_id, int) else None
    )
    if (
        shop is None
        or not shop.is_installed
        or member is None
        or member.shop_id != shop.id
        or not member.active
    ):
        raise ApiError(
            401, "invalid_stream_token", "The stream token's team member is gone."
        )
    return shop


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current().settings.secret_key, salt=_STREAM_SALT)
