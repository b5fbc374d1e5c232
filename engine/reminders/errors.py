"""Errors of the reminders domain.

``ReminderError`` is the root. ``FlowValidationError`` refuses a flow edit and
names the field at fault, so the admin can point at it.
"""

from __future__ import annotations


class ReminderError(Exception):
    """Something about reminders cannot be done as asked."""


class FlowValidationError(ReminderError):
    """A flow edit that must be refused; ``field`` is the path of the bad value.

    Paths read like ``steps[2].delay_minutes`` (steps counted from 0) or
    ``abandonment_minutes``.
    """

    code = "invalid_reminder_flow"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
