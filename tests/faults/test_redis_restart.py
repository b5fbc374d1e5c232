"""Redis restarted under a web process and a worker; the books still balance.

The app's processes, and this test's own, use a Redis server of the test's
own on a free port (the shared one on 6379 is never touched), which the test
stops and starts again on the same port. Meanwhile the worker has a job in
hand, so the store platform's webhooks and the storefront events wait in
Redis behind it; the widget keeps sending events and chat messages; and
reminders fall due. Two faults:

- SIGTERM, then a restart from its append-only file: Redis comes back with
  all it held, so each reminder's own wake-up job fires and every event is
  drained; nothing is repeated.
- SIGKILL of a Redis without persistence, restarted empty: every queued and
  scheduled job is gone. The database is the truth: the worker puts its
  periodic jobs back, the reminder sweep wakes the reminders that were due,
  recorded webhooks are queued again, chat messages never left PostgreSQL.
  What only Redis held is lost: storefront events flushed to it and not yet
  drained (why the README asks for AOF). The test reads them, with writes
  paused, just before the kill, and checks nothing else is missing.

Either way the web answers again and the worker takes jobs again, neither
restarted.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq.registry import ScheduledJobRegistry

from engine.reminders import clock
from engine.runtime import EXTENSION_KEY, current
from engine.shops.models import Shop
from engine.tracking.buffer import QUEUE_KEY
from engine.webhooks.models import WebhookDelivery
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.faults.books import (
    Sender,
    Sent,
    all_ended,
    applied_deliveries,
    assert_chat_stored_once,
    assert_line_sent_each_once,
    carts_due_in,
    count_status,
    deliver_cart,
    rows,
    run_reminder_sweep,
    send_chat_message,
    send_event,
    stored_events,
    visitor_token,
    widget_of,
)
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import (
    STOP_SECONDS,
    Process,
    WebProcess,
    WorkerProcess,
    free_port,
    wait_until,
)

pytestmark = needs_postgresql

logger = logging.getLogger(__name__)

# Events and chat messages, one every SPACING seconds: Redis stops after
# LEAD_SECONDS and is away for OUTAGE_SECONDS; the last sends come after.
SENDS = 32
SPACING = 0.25
LEAD_SECONDS = 2.5
OUTAGE_SECONDS = 3.0
GIVE_UP_SECONDS = 30.0
# Cart webhooks, sent before Redis stops.
WEBHOOKS = 8
# The job the worker has in hand when Redis stops; it ends while Redis is away.
BUSY_SECONDS = LEAD_SECONDS + OUTAGE_SECONDS / 2
# After the restart: the worker notices at its next idle check (10 s),
# restarts RQ's scheduler and puts back what Redis lost.
RECOVERY_SECONDS = 30.0
REMINDERS = 6


class RedisServer:
    """``redis-server`` on a free loopback port, stopped and started at will."""

    def __init__(self, directory: Path, *, append_only: bool) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "yes" if append_only else "no",
        ]
        env = {"PATH": os.environ["PATH"]}
        self.process = Process("redis", argv, env, directory / "redis.log")

    def start(self) -> RedisServer:
        self.process.start()
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        wait_until(
            lambda: self._answers(client), 10, "Redis to answer", details=self.log
        )
        client.close()
        return self

    def stop(self, signum: signal.Signals) -> None:
        """Signal the server and wait until it has exited."""
        popen = self.process.process
        assert popen is not None
        popen.send_signal(signum)
        popen.wait(timeout=STOP_SECONDS)
        # Nothing left for the teardown to kill: its pid may be another's now.
        self.process.process = None

    def log(self) -> str:
        return self.process.log()

    def _answers(self, client: Redis) -> bool:
        if not self.process.alive():
            raise AssertionError(f"redis-server exited.\n{self.log()}")
        try:
            return bool(client.ping())
        except RedisError:
            # Refused until it listens, BUSY while it loads its file.
            return False


@pytest.fixture
def own_redis(
    request: pytest.FixtureRequest, processes: Processes, tmp_path: Path
) -> RedisServer:
    """A Redis of this test's own; its log joins the processes' on failure."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, append_only=request.param == "append-only")
    processes.started.append(server.process)
    return server.start()


@pytest.fixture
def own_redis_client(app: Flask, own_redis: RedisServer) -> Iterator[Redis]:
    """A client of the test's Redis, which this process's app uses too: the
    wake-ups the test's carts schedule and the jobs it enqueues go where its
    workers look."""
    runtime = app.extensions[EXTENSION_KEY]
    redis = Redis.from_url(own_redis.url, socket_timeout=5, socket_connect_timeout=3)
    app.extensions[EXTENSION_KEY] = dataclasses.replace(
        runtime, redis=redis, _queues={}
    )
    yield redis
    app.extensions[EXTENSION_KEY] = runtime
    redis.close()


@dataclasses.dataclass
class Traffic:
    """What the platform and the widget send: webhooks before Redis stops,
    storefront events and chat messages all the way through the restart."""

    webhooks: Sender
    events: Sender
    chat: Sender

    @property
    def senders(self) -> list[Sender]:
        return [self.webhooks, self.events, self.chat]

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def finish(self) -> None:
        for sender in self.senders:
            sender.join(timeout=SENDS * SPACING + GIVE_UP_SECONDS + 10)
            assert not sender.is_alive()
        assert [sender.unexpected for sender in self.senders] == [[], [], []]
        taken = [len(sender.accepted) for sender in self.senders]
        assert taken == [WEBHOOKS, SENDS, SENDS]


def _traffic(web: WebProcess, shop: Shop, platform: FakeShopifyPlatform) -> Traffic:
    widget = widget_of(shop)
    token = visitor_token(web, widget)
    client_ids = [str(uuid.uuid4()) for _ in range(SENDS)]

    def sender(send_one: Callable[[int], Sent], count: int = SENDS) -> Sender:
        return Sender(send_one, count=count, spacing=SPACING, give_up=GIVE_UP_SECONDS)

    return Traffic(
        webhooks=sender(lambda n: deliver_cart(web, platform, f"cart-{n}"), WEBHOOKS),
        events=sender(lambda n: send_event(web, widget, token)),
        chat=sender(lambda n: send_chat_message(web, widget, token, client_ids[n])),
    )


@dataclasses.dataclass
class Started:
    web: WebProcess
    worker: WorkerProcess
    pids: tuple[int, int]


def _start(processes: Processes, own_redis: RedisServer) -> Started:
    worker = processes.worker(wait=False, REDIS_URL=own_redis.url)
    web = processes.web(wait=False, REDIS_URL=own_redis.url)
    worker.wait_listening()
    web.wait_ready()
    return Started(web, worker, (web.pid, worker.pid))


def _keep_worker_busy(redis: Redis) -> None:
    """Give the worker a job that ends while Redis is away, and wait until it
    is at work: meanwhile webhook jobs and event drains queue up in Redis."""
    key = f"faults:busy:{uuid.uuid4()}"
    current().queue("default").enqueue(
        "tests.faults.jobs.sleep_then_mark", BUSY_SECONDS, key
    )
    wait_until(lambda: redis.exists(f"{key}:started"), 30, "the worker to be busy")


@dataclasses.dataclass(frozen=True)
class Held:
    """What Redis held when it was stopped."""

    event_ids: set[str]
    webhook_jobs: int


def _held(redis: Redis) -> Held:
    """Read what Redis holds with every client's writes paused, so that no
    event is pushed or drained and no job queued before it is stopped."""
    redis.execute_command("CLIENT", "PAUSE", 2000, "WRITE")
    chunks = redis.lrange(QUEUE_KEY, 0, -1)
    events = {str(record["id"]) for chunk in chunks for record in json.loads(chunk)}
    return Held(events, redis.llen(current().queue("webhooks").key))


@pytest.mark.parametrize("own_redis", ["append-only"], indirect=True)
def test_redis_sigterm_and_restart_with_aof_loses_and_repeats_nothing(
    reminder_shop: Shop,
    line: FakeLinePlatform,
    platform: FakeShopifyPlatform,
    own_redis: RedisServer,
    processes: Processes,
    own_redis_client: Redis,
) -> None:
    # given a worker and a web process on the test's Redis (append-only
    # file on), reminders falling due while it will be away, and the
    # worker busy with a job until then
    shop = reminder_shop
    started = _start(processes, own_redis)
    traffic = _traffic(started.web, shop, platform)
    shoppers = carts_due_in(shop, REMINDERS, seconds=LEAD_SECONDS + 1)
    _keep_worker_busy(own_redis_client)

    # when webhooks, events and chat messages come, and Redis, holding
    # webhook jobs and events not yet drained, is stopped with SIGTERM and
    # started again on its port 3 s later
    held, restarted_at = _restart_under(
        traffic, own_redis, own_redis_client, signal.SIGTERM
    )

    # then every reminder is sent once by its own wake-up job, no sweep
    # needed, and everything accepted is stored once
    wait_until(
        lambda: all_ended(shop),
        RECOVERY_SECONDS,
        "the reminders due during the outage to be sent",
        details=lambda: str(count_status(shop)),
    )
    sent_after = time.monotonic() - restarted_at
    assert_line_sent_each_once(shop, line, shoppers)
    _assert_stored_once(shop, traffic, lost_events=set())
    _assert_recovered(started)
    logger.info(
        "faults.redis_restart_aof",
        extra={"sent_after": sent_after, "events_held": len(held.event_ids)},
    )


@pytest.mark.parametrize("own_redis", ["no-persistence"], indirect=True)
def test_redis_sigkill_and_restart_empty_loses_only_undrained_events(
    reminder_shop: Shop,
    line: FakeLinePlatform,
    platform: FakeShopifyPlatform,
    own_redis: RedisServer,
    processes: Processes,
    own_redis_client: Redis,
) -> None:
    # given a worker and a web process on the test's Redis (no persistence),
    # reminders falling due while it will be away, and the worker busy
    # with a job until then
    shop = reminder_shop
    started = _start(processes, own_redis)
    traffic = _traffic(started.web, shop, platform)
    shoppers = carts_due_in(shop, REMINDERS, seconds=LEAD_SECONDS + 1)
    _keep_worker_busy(own_redis_client)

    # when webhooks, events and chat messages come, and Redis, holding
    # webhook jobs and events not yet drained, is SIGKILLed and started
    # again, empty, on its port 3 s later
    held, restarted_at = _restart_under(
        traffic, own_redis, own_redis_client, signal.SIGKILL
    )

    # then the worker schedules its periodic jobs again, and the reminder
    # sweep (run now, not at its minute) wakes the reminders Redis lost;
    # each is sent once
    wait_until(
        lambda: _periodic_scheduled(own_redis_client),
        RECOVERY_SECONDS,
        "the worker to schedule its periodic jobs again",
    )
    back_after = time.monotonic() - restarted_at
    clock.advance(timedelta(minutes=1))
    run_reminder_sweep()
    wait_until(
        lambda: all_ended(shop),
        RECOVERY_SECONDS,
        "the reminders Redis lost to be sent",
        details=lambda: str(count_status(shop)),
    )
    assert_line_sent_each_once(shop, line, shoppers)

    # and everything accepted is stored once, the webhooks whose jobs Redis
    # lost among them, but for the events Redis held undrained when it died
    _assert_stored_once(shop, traffic, lost_events=held.event_ids)
    _assert_recovered(started)
    logger.info(
        "faults.redis_restart_empty",
        extra={"periodic_back_after": back_after, "events_lost": len(held.event_ids)},
    )


def _restart_under(
    traffic: Traffic, server: RedisServer, client: Redis, stop_with: signal.Signals
) -> tuple[Held, float]:
    """Stop Redis with ``stop_with`` while traffic flows, start it again on
    its port after the outage; what it held then, and when it came back."""
    traffic.start()
    time.sleep(LEAD_SECONDS)
    held = _held(client)
    server.stop(stop_with)
    time.sleep(OUTAGE_SECONDS)
    server.start()
    restarted_at = time.monotonic()
    traffic.finish()
    assert held.event_ids and held.webhook_jobs, held
    return held, restarted_at


def _periodic_scheduled(redis: Redis) -> bool:
    registry = ScheduledJobRegistry("default", connection=redis)
    return any(
        job_id.startswith("periodic-reminders-") for job_id in registry.get_job_ids()
    )


def _assert_stored_once(shop: Shop, traffic: Traffic, *, lost_events: set[str]) -> None:
    webhook_ids = list(traffic.webhooks.accepted)
    wait_until(
        lambda: applied_deliveries(webhook_ids) == WEBHOOKS,
        RECOVERY_SECONDS,
        "every accepted webhook to be applied",
        details=lambda: f"{applied_deliveries(webhook_ids)} of {WEBHOOKS}",
    )
    assert rows(WebhookDelivery) == WEBHOOKS

    event_ids = list(traffic.events.accepted)
    kept = [event_id for event_id in event_ids if event_id not in lost_events]
    wait_until(
        lambda: set(stored_events(kept)) == set(kept),
        RECOVERY_SECONDS,
        "every accepted event Redis did not lose to be stored",
        details=lambda: f"{len(stored_events(kept))} of {len(kept)}",
    )
    assert set(stored_events(event_ids).values()) == {1}

    assert_chat_stored_once(shop, traffic.chat.accepted)


def _assert_recovered(started: Started) -> None:
    """The same web and worker processes serve again: the web reads Redis
    and the database, the worker takes a job enqueued now."""
    assert (started.web.pid, started.worker.pid) == started.pids
    assert started.web.alive() and started.worker.alive()
    ready = httpx.get(f"{started.web.base}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text

    key = f"faults:after-restart:{uuid.uuid4()}"
    current().queue("default").enqueue("tests.faults.jobs.sleep_then_mark", 0, key)
    wait_until(
        lambda: current().redis.get(key) == b"done",
        RECOVERY_SECONDS,
        "the worker to run a job enqueued after the restart",
    )
