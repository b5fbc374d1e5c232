"""The sandbox channel: records messages in our database instead of sending them.

Used for "send a test to me" and the demo. A message is rendered exactly as
``rendered_for`` ("line" or "messenger") would receive it, so the same limits
apply and the phone-like outbox page shows what a shopper would see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.channels.base import SendResult
from engine.channels.line import render as line_render
from engine.channels.messages import Part
from engine.channels.messenger import render as messenger_render
from engine.channels.models import SandboxMessage
from engine.db import db

logger = logging.getLogger(__name__)

RENDERERS: dict[str, Callable[[Sequence[Part]], list[dict[str, Any]]]] = {
    "line": line_render.render,
    "messenger": messenger_render.render,
}


class SandboxChannel:
    """Records a shop's sends in ``sandbox_outbox``, in the caller's transaction.

    A ``retry_key`` already recorded for the shop returns ``duplicate`` and
    records nothing, like LINE's 409.
    """

    name = "sandbox"

    def __init__(self, shop_id: int, rendered_for: str = "line") -> None:
        if rendered_for not in RENDERERS:
            raise ValueError(
                f"The sandbox renders for {sorted(RENDERERS)}, not {rendered_for!r}."
            )
        self.shop_id = shop_id
        self.rendered_for = rendered_for

    def send(
        self, recipient_id: str, parts: Sequence[Part], *, retry_key: str
    ) -> SendResult:
        """Render ``parts`` and record them; raises ``InvalidMessageError``."""
        payload = RENDERERS[self.rendered_for](parts)

        existing = self._recorded(retry_key)
        if existing is not None:
            return SendResult((_message_id(existing),), duplicate=True)

        message = SandboxMessage(
            shop_id=self.shop_id,
            recipient_id=recipient_id,
            rendered_for=self.rendered_for,
            retry_key=retry_key,
            payload=payload,
        )
        try:
            with db.session.begin_nested():
                db.session.add(message)
        except IntegrityError:
            # Another worker recorded the same key between our read and write.
            return SendResult((_message_id(self._recorded(retry_key)),), duplicate=True)

        logger.info(
            "channels.sandbox.recorded",
            extra={"shop_id": self.shop_id, "sandbox_message_id": message.id},
        )
        return SendResult((_message_id(message),))

    def _recorded(self, retry_key: str) -> SandboxMessage | None:
        return db.session.scalar(
            select(SandboxMessage).where(
                SandboxMessage.shop_id == self.shop_id,
                SandboxMessage.retry_key == retry_key,
            )
        )


def outbox(shop_id: int, limit: int = 100) -> list[SandboxMessage]:
    """The shop's latest sandbox messages, oldest first."""
    newest = db.session.scalars(
        select(SandboxMessage)
        .where(SandboxMessage.shop_id == shop_id)
        .order_by(SandboxMessage.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(newest))


def _message_id(message: SandboxMessage | None) -> str:
    return f"sandbox-{message.id}" if message is not None else "sandbox-unknown"
