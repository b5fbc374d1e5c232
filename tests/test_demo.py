"""`revisit demo` runs on a machine with no database or Redis server."""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

SERVER_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SHOPIFY_BASE_URL", "APP_URL")


def free_port_run(length: int = 4) -> int:
    """The first of ``length`` free ports in a row: the app, the fake store
    platform, fake LINE and fake Messenger. Drawn below Linux's ephemeral
    range (32768 on), so no other program's outgoing connection takes one
    between this check and the demo's start."""
    for _ in range(100):
        port = random.randrange(20_000, 30_000)
        if all(_is_free(port + offset) for offset in range(length)):
            return port
    raise RuntimeError(f"No {length} free ports in a row.")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} not printed; got:\n{''.join(lines)}")


def applied_deliveries(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'applied'"
        ).fetchone()[0]


def test_demo_starts_seeds_and_prints_address(tmp_path: Path) -> None:
    # given a shell with no server settings at all
    port = free_port_run()
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_SETTINGS}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plugin.cli",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # when it has started
        lines = wait_for_line(process, "Open the store admin", timeout=60)
        admin_url = lines[-1].split(": ", 1)[1].strip()

        # then the admin frames the app, and the worker applied the seed webhooks
        page = httpx.get(admin_url, timeout=10)
        assert page.status_code == 200
        assert f"http://127.0.0.1:{port}/?" in page.text
        database = tmp_path / "demo" / "revisit.sqlite3"
        deadline = time.monotonic() + 30
        while applied_deliveries(database) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert applied_deliveries(database) == 3
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
