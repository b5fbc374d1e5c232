"""Cart reminders: timed sequences to LINE and Messenger, stopped by any order.

The contract: the commerce layer reports news through the hooks below (one
call at the end of each ``apply_*``), and ``rechecks`` looks at a shopper's
open carts again once they can be reminded (a binding, a cart the widget
linked to them); the merchant's flow is read and edited through
``flow_for`` / ``update_flow`` / ``pause_flow``; shoppers' answers
arrive as ``snooze`` / ``unsubscribe`` / ``mark_unreachable``. The database
is the source of truth for what is due (``models``); RQ only wakes workers
(``scheduling``; ``sweep`` runs from ``engine.periodic``), which send
through ``engine.channels`` (``dispatch``, ``delivery``). Never imports
Flask request objects or ``plugin``; uses only the channels contract's names.
"""

from engine.reminders.attribution import attribute_order
from engine.reminders.defaults import flow_for
from engine.reminders.flows import pause_flow, resume_flow, update_flow
from engine.reminders.history import SentReminder, sent_reminders_for
from engine.reminders.optout import (
    mark_reachable,
    mark_unreachable,
    snooze,
    unsubscribe,
)
from engine.reminders.sequences import (
    note_cart_activity,
    note_checkout_activity,
    stop_for_order,
)
from engine.reminders.stats import StepStats, reminder_stats

__all__ = [
    "SentReminder",
    "StepStats",
    "attribute_order",
    "flow_for",
    "mark_reachable",
    "mark_unreachable",
    "note_cart_activity",
    "note_checkout_activity",
    "pause_flow",
    "reminder_stats",
    "resume_flow",
    "sent_reminders_for",
    "snooze",
    "stop_for_order",
    "unsubscribe",
    "update_flow",
]
