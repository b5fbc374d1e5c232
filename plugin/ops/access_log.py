"""Keeps successful probes and scrapes out of gunicorn's access log.

Orchestrators probe every few seconds per process; logging each answer at
info would drown the requests people care about. A failing probe (4xx,
5xx) is still logged. ``plugin.gunicorn_conf`` installs the filter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class QuietProbes(logging.Filter):
    """Drops gunicorn access records of a probe path answered below 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        # gunicorn logs each request with a mapping of its "atoms":
        # "U" the path, "s" the status.
        if not isinstance(atoms, Mapping):
            return True
        if atoms.get("U") not in QUIET_PATHS:
            return True
        return not str(atoms.get("s", "")).startswith(("2", "3"))


def quiet_probes(logger_name: str = "gunicorn.access") -> None:
    """Install ``QuietProbes`` on gunicorn's access logger (once)."""
    access_log = logging.getLogger(logger_name)
    if not any(isinstance(each, QuietProbes) for each in access_log.filters):
        access_log.addFilter(QuietProbes())
