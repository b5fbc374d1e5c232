"""What every channel offers: ``send`` a message, get a ``SendResult`` back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.channels.messages import Part


@dataclass(frozen=True)
class SendResult:
    """What the platform accepted.

    ``duplicate`` is true when the platform (or our own record, on Messenger
    and the sandbox) says this ``retry_key`` was already accepted: the
    message went out earlier and counts as sent. ``request_id`` is the
    platform's id of the accepting request when it gives one (LINE).
    """

    platform_message_ids: tuple[str, ...]
    duplicate: bool = False
    request_id: str | None = None


class Channel(Protocol):
    """A way to reach a shopper: "line", "messenger" or "sandbox"."""

    name: str

    def send(
        self, recipient_id: str, parts: Sequence[Part], *, retry_key: str
    ) -> SendResult:
        """Render ``parts`` and deliver them to ``recipient_id`` once.

        ``retry_key`` is a UUID that stays the same across retries of one
        message. Raises the ``engine.channels.errors`` hierarchy.
        """
        ...
