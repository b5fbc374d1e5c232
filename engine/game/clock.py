"""The game's "now": the wall clock, in one place so tests can move it.

Time on page is the game's central rule, and the server's clock is its only
judge; tests replace ``now`` (``monkeypatch.setattr(clock, "now", …)``)
rather than sleep.
"""

from __future__ import annotations

from datetime import datetime

from engine.db import utcnow


def now() -> datetime:
    """The current time for the game (aware, UTC)."""
    return utcnow()
