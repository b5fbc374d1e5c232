"""Real processes for the fault tests: web, worker, and a Redis link that can break.

``WebProcess`` is gunicorn serving ``plugin:create_app()`` with the production
hooks (``plugin.gunicorn_conf``); ``WorkerProcess`` is ``revisit worker``
(``python -m plugin.cli worker``: forking work-horses, RQ's scheduler, the
webhook dispatcher). Each runs in a session of its own, logs to a file the
test prints on failure, and can be stopped politely or killed outright with
every process below it, as a crash of its machine would.

``RedisLink`` is a TCP forwarder on a local port between those processes and
the Redis server: ``cut`` closes every connection and refuses new ones, as a
Redis that went away does; ``restore`` lets them in again. The test's own
process talks to Redis directly, so it can still watch.

Ports are drawn below Linux's ephemeral range (32768 on), so no outgoing
connection of another program takes one between the check and the bind.
Every wait is bounded; ``Processes`` remembers what it started so a fixture
can kill all of it in teardown, even after a failure.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
# A process imports the app (and the worker line-bot-sdk) before it answers.
START_SECONDS = 60.0
STOP_SECONDS = 10.0


def free_port() -> int:
    """A free loopback port between 20000 and 30000."""
    for _ in range(200):
        port = random.randrange(20_000, 30_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("No free port between 20000 and 30000.")


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    *,
    details: Callable[[], str] = lambda: "",
    interval: float = 0.05,
) -> object:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"Timed out after {timeout:g} s waiting for {what}.\n{details()}"
            )
        time.sleep(interval)


class Process:
    """A command in a session of its own, logging to ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            log.write(f"--- {self.name} starting at {time.time():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and everything below it, all at once.

        RQ puts a work-horse in a process group of its own, so the tree is
        read from /proc rather than signalled by group.
        """
        if self.process is None:
            return
        pids = [self.process.pid, *descendants(self.process.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_SECONDS)

    def freeze(self) -> None:
        """SIGSTOP the process and everything below it: requests sent now stay
        under way, so a ``kill`` that follows cuts them off for sure."""
        for pid in [self.pid, *descendants(self.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM, then SIGKILL whatever is left after ``timeout``."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()

    def log(self, chars: int = 8000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return f"--- {self.name}'s log ({self.log_path}):\n{text[-chars:]}"


class WebProcess(Process):
    """gunicorn serving the app on a free port, one worker process."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "16",
            "--timeout",
            "30",
            "--config",
            "python:plugin.gunicorn_conf",
            "plugin:create_app()",
        ]
        super().__init__(name, argv, env, log_path)

    def wait_ready(self, timeout: float = START_SECONDS) -> WebProcess:
        """Until ``/healthz`` answers 200."""

        def answers() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited.\n{self.log()}")
            try:
                return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(
            answers, timeout, f"{self.name} to answer", details=self.log, interval=0.1
        )
        return self


class WorkerProcess(Process):
    """``revisit worker``: work-horses, RQ's scheduler, the webhook dispatcher."""

    LISTENING = "webhooks.dispatcher_listening"

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        argv = [sys.executable, "-m", "plugin.cli", "worker"]
        super().__init__(name, argv, env, log_path)
        self._log_offset = 0

    def start(self) -> WorkerProcess:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start()
        return self

    def wait_listening(self, timeout: float = START_SECONDS) -> WorkerProcess:
        """Until this start's dispatcher listens: the worker is about to take jobs."""

        def listening() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited.\n{self.log()}")
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return self.LISTENING.encode() in log.read()

        wait_until(
            listening, timeout, f"{self.name} to listen", details=self.log, interval=0.1
        )
        return self


class Processes:
    """Starts web and worker processes and remembers them, to kill them all."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[Process] = []

    def worker(
        self, name: str = "worker", *, wait: bool = True, **env: str
    ) -> WorkerProcess:
        """A worker, started (and listening, unless ``wait`` is false)."""
        process = WorkerProcess(name, {**self.env, **env}, self.logs / f"{name}.log")
        self.started.append(process.start())
        return process.wait_listening() if wait else process

    def web(self, name: str = "web", *, wait: bool = True, **env: str) -> WebProcess:
        """A web process, started (and answering, unless ``wait`` is false)."""
        process = WebProcess(name, {**self.env, **env}, self.logs / f"{name}.log")
        self.started.append(process.start())
        return process.wait_ready() if wait else process

    def logs_of_all(self) -> str:
        return "\n".join(process.log() for process in self.started)

    def kill_all(self) -> None:
        for process in self.started:
            process.kill()


class RedisLink:
    """A TCP forwarder to Redis that the test can cut and restore.

    Threads, one listener and two pumps per connection; ``url`` is the Redis
    URL to give the processes (same database number, the proxy's port).
    """

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.port = free_port()
        self.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def up(self) -> bool:
        return self._listener is not None

    def restore(self) -> None:
        """Accept connections again (the first call starts the link)."""
        if self.up:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._thread = threading.Thread(
            target=self._accept, args=(listener,), name="redis-link", daemon=True
        )
        self._thread.start()

    def cut(self) -> None:
        """Refuse new connections and close every open one, as a server that
        went away does."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            open_sockets, self._sockets = self._sockets, set()
        for sock in open_sockets:
            _close_now(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            ready, _, _ = select.select([listener], [], [], 0.1)
            if not ready or self._listener is not listener:
                continue
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                _close_now(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    _close_now(client)
                    _close_now(upstream)
                    return
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets -= {source, sink}
            _close_now(source)
            _close_now(sink)


def _close_now(sock: socket.socket) -> None:
    """Close now, as a server going away does: ``shutdown`` first, since a
    ``close`` alone would wait for another thread's blocked ``recv``."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from each thread's ``children`` in /proc
    (quick: a kill timed to a moment must not wait on a scan of /proc)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                below = [int(child) for child in children.read_text().split()]
                found.extend(below)
                pending.extend(below)
    return found
