"""Errors of on-site messages.

``OnsiteError`` is the root. ``InvalidMessageError`` names the field at fault
(``.field``), so an admin form can point at it.
"""

from __future__ import annotations


class OnsiteError(Exception):
    """Something about on-site messages was refused."""


class InvalidMessageError(OnsiteError):
    """A message field with a value the rules cannot use."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Message field {field!r} {problem}")


class MessageNotFound(OnsiteError):
    """No message with that id in that shop."""

    def __init__(self, shop_id: int, message_id: int) -> None:
        self.shop_id = shop_id
        self.message_id = message_id
        super().__init__(f"Shop {shop_id!r} has no on-site message {message_id!r}.")
