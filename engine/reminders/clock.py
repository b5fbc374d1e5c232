"""The reminders' "now": UTC wall time, shifted in sandboxes so tests move time.

Reminder due times are far apart (hours), so tests and the demo cannot wait
for them. When ``REVISIT_SANDBOX_CLOCK_FILE`` names a file, every process
(web, worker, test) adds the number of seconds written in it to the wall
clock; production leaves the variable unset and reads the wall clock.
RQ's scheduler keeps real time, so times handed to it go through
``to_wall``; a clock moved forward is caught up by the due-reminder sweep.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from engine.db import utcnow

CLOCK_FILE_ENV = "REVISIT_SANDBOX_CLOCK_FILE"


def now() -> datetime:
    """The current time for reminders (aware, UTC)."""
    return utcnow() + offset()


def offset() -> timedelta:
    """How far the sandbox clock is ahead of the wall clock (zero in production)."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return timedelta()
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return timedelta()
    return timedelta(seconds=float(text or 0))


def to_wall(moment: datetime) -> datetime:
    """The wall-clock time at which the reminders' clock shows ``moment``."""
    return moment - offset()


def set_offset(seconds: float) -> None:
    """Put the sandbox clock ``seconds`` ahead of the wall clock.

    Only for sandboxes: refuses to run when no clock file is configured.
    """
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        raise RuntimeError(
            f"Set {CLOCK_FILE_ENV} to move the reminders' clock; production"
            " always reads the wall clock."
        )
    # Written aside and renamed, so a reader never sees a half-written file.
    staging = Path(f"{path}.{os.getpid()}.tmp")
    staging.write_text(repr(float(seconds)), encoding="utf-8")
    os.replace(staging, path)


def advance(delta: timedelta) -> datetime:
    """Move the sandbox clock forward by ``delta``; returns the new now."""
    set_offset((offset() + delta).total_seconds())
    return now()
