"""Log output for the ``revisit`` processes: one line per event, data appended.

Modules log an event name with the data in ``extra``
(``logger.info("shops.installed", extra={"shop_id": 1})``); this formatter
prints those fields as ``key=value`` after the name so they are not lost.
"""

from __future__ import annotations

import logging

# Attributes every LogRecord has; anything else came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class EventFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {
            key: value for key, value in vars(record).items() if key not in _STANDARD
        }
        if not fields:
            return line
        data = " ".join(f"{key}={value!r}" for key, value in sorted(fields.items()))
        head, newline, trace = line.partition("\n")
        return f"{head} {data}{newline}{trace}"


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        EventFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
