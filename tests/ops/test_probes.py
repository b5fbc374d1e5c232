"""``GET /healthz`` and ``GET /readyz``: quick, quiet, and honest about backends."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.ops.connections import prompt_engine, prompt_redis
from engine.ops.health import Probes
from plugin.ops import PROBES_KEY
from plugin.ops.access_log import QuietProbes

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_DATABASE = "postgresql+psycopg://revisit@127.0.0.1:1/revisit"


@pytest.fixture
def probes(app: Flask) -> Iterator[Probes]:
    """The app's probes; a test may replace a client, restored afterwards."""
    original = app.extensions[PROBES_KEY]
    replaced = Probes(engine=original.engine, redis=original.redis)
    app.extensions[PROBES_KEY] = replaced
    yield replaced
    app.extensions[PROBES_KEY] = original


@pytest.fixture
def silent_server() -> Iterator[str]:
    """host:port of a socket that takes connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    host, port = listener.getsockname()
    yield f"{host}:{port}"
    listener.close()


def test_healthz_answers_without_cookies(client: FlaskClient) -> None:
    # when
    response = client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_with_both_backends_up(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.INFO)

    # when
    response = client.get("/readyz")

    # then
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "ok"}
    assert "Set-Cookie" not in response.headers
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_readyz_names_redis_when_it_is_out_of_reach(
    client: FlaskClient, probes: Probes
) -> None:
    # given
    probes.redis = prompt_redis(UNREACHABLE_REDIS, 0.5)

    # when
    response = client.get("/readyz")

    # then
    assert response.status_code == 503
    assert response.get_json() == {
        "database": "ok",
        "redis": "failed",
        "detail": "Not ready: could not reach the redis.",
        "code": "not_ready",
    }


def test_readyz_names_the_database_when_it_is_out_of_reach(
    client: FlaskClient, probes: Probes
) -> None:
    # given
    probes.engine = prompt_engine(UNREACHABLE_DATABASE, 0.5)

    # when
    response = client.get("/readyz")

    # then
    assert response.status_code == 503
    assert response.get_json()["database"] == "failed"
    assert response.get_json()["redis"] == "ok"
    assert response.get_json()["detail"] == "Not ready: could not reach the database."


def test_readyz_gives_up_on_backends_that_never_answer(
    client: FlaskClient, probes: Probes, silent_server: str
) -> None:
    # given a "database" and a "Redis" that accept connections and stay silent
    probes.redis = prompt_redis(f"redis://{silent_server}/0", 0.5)
    probes.engine = prompt_engine(f"postgresql+psycopg://x@{silent_server}/x", 0.5)

    # when
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    # then both fail within their timeouts (libpq's connect takes 2 s at least)
    assert response.status_code == 503
    assert response.get_json()["database"] == "failed"
    assert response.get_json()["redis"] == "failed"
    assert elapsed < 4.0


@pytest.mark.parametrize(
    ("path", "status", "kept"),
    [
        ("/healthz", "200", False),
        ("/readyz", "200", False),
        ("/metrics", "200", False),
        ("/readyz", "503", True),
        ("/metrics", "401", True),
        ("/api/widget/v1/page", "200", True),
    ],
)
def test_quiet_probes_keeps_only_failed_probes_and_other_requests(
    path: str, status: str, kept: bool
) -> None:
    # given a record shaped as gunicorn's access log makes it
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(U)s %(s)s", (), None
    )
    record.args = {"U": path, "s": status}

    # then
    assert QuietProbes().filter(record) is kept
