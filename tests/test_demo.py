"""`revisit demo` runs on a machine with no database or Redis server."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from plugin.demo import (
    DEMO_AGENT_EMAIL,
    DEMO_AGENT_PASSWORD,
    DEMO_LINE_QUESTION,
    DEMO_SHOP,
)

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


def drain(process: subprocess.Popen) -> None:
    """Keep reading the demo's output, so its logging never fills the pipe."""
    threading.Thread(
        target=lambda: process.stdout.read(), name="demo-output", daemon=True
    ).start()


def applied_deliveries(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'applied'"
        ).fetchone()[0]


def line_questions(database: Path) -> list[str]:
    """What LINE shoppers wrote, as the worker put it in their conversations."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT text FROM chat_messages"
            " WHERE author = 'shopper' AND channel = 'line'"
        ).fetchall()
    return [text for (text,) in rows]


def printed_address(lines: list[str], label: str) -> str:
    (line,) = [line for line in lines if line.strip().startswith(label)]
    return line.split(": ", 1)[1].strip()


def open_inbox_as_agent(app_url: str) -> httpx.Response:
    """Sign in to the panel as the demo's agent, landing on the inbox."""
    with httpx.Client(base_url=app_url, follow_redirects=True, timeout=10) as browser:
        form = browser.get("/admin/login", params={"shop": DEMO_SHOP})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        return browser.post(
            "/admin/login",
            data={
                "csrf_token": csrf.group(1),
                "shop": DEMO_SHOP,
                "email": DEMO_AGENT_EMAIL,
                "password": DEMO_AGENT_PASSWORD,
                "next": "/admin/inbox",
            },
        )


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
        lines += wait_for_line(process, "Data is kept in", timeout=10)
        drain(process)

        # then the admin frames the app, and the worker applied the seed webhooks
        page = httpx.get(admin_url, timeout=10)
        assert page.status_code == 200
        assert f"http://127.0.0.1:{port}/?" in page.text
        database = tmp_path / "demo" / "revisit.sqlite3"
        deadline = time.monotonic() + 30
        while applied_deliveries(database) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert applied_deliveries(database) == 3

        # and the LINE question came in through the fake LINE's webhook
        while not line_questions(database) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert line_questions(database) == [DEMO_LINE_QUESTION]

        # and the agent's inbox opens on it
        inbox = open_inbox_as_agent(f"http://127.0.0.1:{port}")
        assert inbox.status_code == 200
        assert inbox.url.path == "/admin/inbox"
        boot = re.search(r'id="inbox-boot">(.*?)</script>', inbox.text, re.S)
        assert boot is not None
        listed = json.loads(boot.group(1))["list"]["conversations"]
        assert [(row["channel"], row["preview"]) for row in listed] == [
            ("line", DEMO_LINE_QUESTION)
        ]

        # and the printed phone pages show the LINE shopper's and Messenger's
        line_phone = httpx.get(printed_address(lines, "Write as the LINE"), timeout=5)
        assert DEMO_LINE_QUESTION in line_phone.text
        assert "Write as this shopper" in line_phone.text
        messenger_phone = printed_address(lines, "Write as the Messenger")
        assert httpx.get(messenger_phone, timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
