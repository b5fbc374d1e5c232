"""What the chat refuses, each with a code the web layer answers with.

``ChatError`` carries a stable ``code`` and a sentence for a person; the
web layer turns it into its one error shape. ``field`` names the input at
fault when there is one.
"""

from __future__ import annotations


class ChatError(Exception):
    """A chat action that cannot be done as asked."""

    status = 409

    def __init__(self, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field


class InvalidChatInput(ChatError):
    """A field's value is not acceptable (too long, empty, unknown)."""

    status = 422


class ConversationNotFound(ChatError):
    """No conversation of this shop has that id."""

    status = 404

    def __init__(self, public_id: str) -> None:
        super().__init__(
            "conversation_not_found", f"No conversation {public_id[:40]!r} here."
        )


class ChannelClosed(ChatError):
    """The shopper cannot be reached on the conversation's channel right now."""


class InvalidImage(ChatError):
    """An attachment that is not an image we take, or too large."""

    status = 415
