"""Images attached to chat messages: checked by their bytes, stored, signed.

A file is taken only if its first bytes are those of a JPEG, PNG, GIF or
WebP and they agree with the type it was sent as: the declared type alone
is the sender's word. Images are served back under an unguessable id with
the type we detected and ``nosniff``, so an upload can never run as a page.
"""

from __future__ import annotations

import logging
import re
import secrets

from sqlalchemy import select

from engine.chat.errors import InvalidImage
from engine.chat.models import ChatImage
from engine.db import db, utcnow

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
CONTENT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def detect_type(data: bytes) -> str | None:
    """The image type the bytes really are, or None."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_image(shop_id: int, data: bytes, declared_type: str | None) -> ChatImage:
    """Check and keep an image; the caller commits.

    Raises:
        InvalidImage: too large, empty, not an image we take, or not the
            type it was sent as.
    """
    if not data:
        raise InvalidImage("image_empty", "The image is empty.", "image")
    if len(data) > MAX_BYTES:
        raise InvalidImage(
            "image_too_large",
            f"An image may be at most {MAX_BYTES // (1024 * 1024)} MB.",
            "image",
        )
    content_type = detect_type(data)
    if content_type is None:
        raise InvalidImage(
            "image_type",
            "Send a JPEG, PNG, GIF or WebP image.",
            "image",
        )
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared and declared != content_type:
        raise InvalidImage(
            "image_type_mismatch",
            f"The file was sent as {declared[:40]!r} but is {content_type}.",
            "image",
        )

    image = ChatImage(
        shop_id=shop_id,
        public_id=secrets.token_urlsafe(18),
        content_type=content_type,
        size=len(data),
        data=data,
        created_at=utcnow(),
    )
    db.session.add(image)
    db.session.flush()
    logger.info(
        "chat.image_stored",
        extra={"shop_id": shop_id, "image_id": image.id, "size": image.size},
    )
    return image


def image_by_public_id(public_id: str) -> ChatImage | None:
    # Ids are token_urlsafe(18); anything else (a NUL from "%00", which the
    # database cannot compare) names no image.
    if not PUBLIC_ID.fullmatch(public_id):
        return None
    return db.session.scalar(select(ChatImage).where(ChatImage.public_id == public_id))
