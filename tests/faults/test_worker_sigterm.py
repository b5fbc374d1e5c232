"""``revisit worker`` on SIGTERM: finish the job in hand, take no other, exit 0.

RQ's worker answers a first SIGTERM or SIGINT with a *warm* shutdown: it
stops taking jobs, lets the work-horse finish the job in hand, and leaves.
A second signal (more than a second later: RQ ignores a repeat within one
second, as a pool sends two) is a *cold* shutdown: the horse is killed and
the worker exits 128 plus the signal's number (``engine.worker``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from rq.job import Job

from engine.runtime import current

ROOT = Path(__file__).resolve().parents[2]
JOB = "tests.faults.jobs.sleep_then_mark"
# A worker imports the app and line-bot-sdk and starts its dispatcher first.
START_SECONDS = 60.0


class Worker:
    """``revisit worker`` in a process (and session) of its own."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "plugin.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"The worker did not exit within {timeout:g} s:\n{self.log()}"
            ) from None

    def kill(self) -> None:
        """Kill what is left: the worker's session (its horse has a group of its
        own, RQ's doing, so it is found through the parent pid)."""
        if self.process.poll() is not None:
            return
        pids = [self.process.pid, *_children(self.process.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@pytest.fixture
def start_worker(
    app: Flask, settings_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(dict(os.environ, **settings_env), tmp_path / "worker.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
    # The scheduler's locks would outlive the worker by a minute.
    redis = current().redis
    for lock in redis.keys("rq:scheduler-lock:*"):
        redis.delete(lock)


def wait_until(condition: Callable[[], object], worker: Worker, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not condition():
        if worker.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"Never saw {what}; the worker's log:\n{worker.log()}")
        time.sleep(0.05)


def test_sigterm_finishes_the_job_in_hand_and_exits_0(
    start_worker: Callable[[], Worker],
) -> None:
    # given a job of 3 s in hand, and another queued behind it
    redis, queue = current().redis, current().queue("default")
    in_hand = queue.enqueue(JOB, 3, "faults:in-hand")
    behind = queue.enqueue(JOB, 0, "faults:behind")
    worker = start_worker()
    wait_until(lambda: redis.get("faults:in-hand:started"), worker, "the job start")

    # when
    worker.signal(signal.SIGTERM)
    status = worker.wait(timeout=30)

    # then the job finished, the one behind it was left queued, and all is well
    assert status == 0, worker.log()
    assert redis.get("faults:in-hand") == b"done"
    assert in_hand.get_status(refresh=True) == "finished"
    assert behind.get_status(refresh=True) == "queued"
    assert redis.get("faults:behind:started") is None
    assert "warm shut down requested" in worker.log()


def test_sigterm_while_idle_exits_0(start_worker: Callable[[], Worker]) -> None:
    # given an idle worker (it has run one job, so it is surely listening)
    redis, queue = current().redis, current().queue("default")
    queue.enqueue(JOB, 0, "faults:warm-up")
    worker = start_worker()
    wait_until(lambda: redis.get("faults:warm-up"), worker, "the warm-up job")

    # when
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    status = worker.wait(timeout=30)

    # then
    assert status == 0, worker.log()
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_second_signal_stops_the_job_at_once(
    start_worker: Callable[[], Worker], second: int
) -> None:
    # given a long job in hand, and a warm shutdown under way
    redis, queue = current().redis, current().queue("default")
    in_hand = queue.enqueue(JOB, 60, "faults:long")
    worker = start_worker()
    wait_until(lambda: redis.get("faults:long:started"), worker, "the job start")
    worker.signal(signal.SIGTERM)
    # RQ takes a second signal within one second for a repeat of the first.
    time.sleep(1.5)

    # when
    started = time.monotonic()
    worker.signal(second)
    status = worker.wait(timeout=20)

    # then the job was cut short, not waited for, and the status says so
    assert time.monotonic() - started < 10
    assert status == 128 + second, worker.log()
    assert redis.get("faults:long") is None
    assert "cold shut down" in worker.log()
    assert Job.fetch(in_hand.id, connection=redis).get_status() != "finished"


def _children(pid: int) -> list[int]:
    """Every process whose parent is ``pid``, and theirs (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found += [int(entry.name), *_children(int(entry.name))]
    return found
