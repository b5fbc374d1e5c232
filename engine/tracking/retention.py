"""Deleting raw storefront events older than ``TRACKING_RETENTION_DAYS``.

Footprints and on-site counts are kept in their own rows and stay. Deletes go
in slices of ``SLICE`` rows, each committed, so no single statement holds
locks on a busy table for long.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from engine.db import db, utcnow
from engine.runtime import current
from engine.tracking.models import VisitorEvent

logger = logging.getLogger(__name__)

SLICE = 10_000


def purge_old_events(now: datetime | None = None) -> int:
    """Delete events received more than the retention period ago; return count."""
    days = current().settings.tracking_retention_days
    cutoff = (now or utcnow()) - timedelta(days=days)

    events = VisitorEvent.__table__
    deleted = 0
    while True:
        ids = (
            select(events.c.id)
            .where(events.c.received_at < cutoff)
            .limit(SLICE)
            .scalar_subquery()
        )
        result = db.session.execute(delete(events).where(events.c.id.in_(ids)))
        db.session.commit()
        deleted += result.rowcount
        if result.rowcount < SLICE:
            break

    if deleted:
        logger.info(
            "tracking.events_purged",
            extra={"count": deleted, "retention_days": days},
        )
    return deleted
