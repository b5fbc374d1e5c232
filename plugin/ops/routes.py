"""``GET /healthz``, ``GET /readyz`` and ``GET /metrics``.

``/healthz`` is liveness: the process answers, with no I/O, so a restart is
never caused by a slow database. ``/readyz`` is readiness: a ``SELECT 1``
and a Redis ``PING``, each bounded by a short timeout, 200 when both pass
and 503 naming the one that did not, so a load balancer stops sending
traffic to a process that cannot serve it. ``/metrics`` answers only a
request bearing ``Authorization: Bearer <METRICS_TOKEN>``; without the
setting it does not exist (404).
"""

from __future__ import annotations

import hmac
import json

from flask import Response, current_app, request

from engine.ops.health import OK
from engine.ops.metrics import scrape
from engine.ops.prometheus import CONTENT_TYPE
from engine.runtime import current
from plugin.errors import ApiError
from plugin.ops import PROBES_KEY, bp

BEARER = "Bearer "


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz() -> Response:
    checks = current_app.extensions[PROBES_KEY].check()
    failed = [backend for backend, state in checks.items() if state != OK]
    if not failed:
        return _json(checks, 200)
    detail = f"Not ready: could not reach the {' and the '.join(failed)}."
    return _json({**checks, "detail": detail, "code": "not_ready"}, 503)


@bp.get("/metrics")
def metrics() -> Response:
    _require_metrics_token()
    response = Response(scrape(), mimetype=None, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _require_metrics_token() -> None:
    token = current().settings.metrics_token
    if token is None:
        raise ApiError(404, "not_found", "There is nothing at this address.")
    offered = request.headers.get("Authorization", "")
    expected = f"{BEARER}{token}"
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(
            401,
            "invalid_metrics_token",
            "Send Authorization: Bearer <METRICS_TOKEN>.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _json(body: dict[str, str], status: int) -> Response:
    response = Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )
    # A cached answer would hide the process's state from the next probe.
    response.headers["Cache-Control"] = "no-store"
    return response
