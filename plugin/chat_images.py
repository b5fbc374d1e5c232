"""``GET /chat/images/<id>``: the images of chat messages, for the widget and the panel.

An image is named by an unguessable id (``ChatImage.public_id``, 144 random
bits), like a private share link: whoever was given the message may see
it. It is served with the type its bytes were checked to be, ``nosniff``
and a sandboxing CSP, so an upload can never act as a page, and cached for
good (an image never changes).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Response

from engine.chat.conversations import images_by_id
from engine.chat.images import image_by_public_id
from engine.chat.models import ChatMessage
from engine.runtime import current
from plugin.errors import ApiError

bp = Blueprint("chat_images", __name__)


@bp.route("/chat/images/<public_id>")
def chat_image(public_id: str) -> Response:
    image = image_by_public_id(public_id)
    if image is None:
        raise ApiError(404, "image_not_found", "No such image.")
    response = Response(image.data, mimetype=image.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def image_urls(messages: Iterable[ChatMessage]) -> dict[int, str]:
    """Each image message's absolute image address, by message id."""
    messages = list(messages)
    images = images_by_id(messages)
    base = current().settings.app_url.rstrip("/")
    return {
        message.id: f"{base}/chat/images/{images[message.image_id].public_id}"
        for message in messages
        if message.image_id in images
    }
