"""What the widget costs the demo storefront's pages in headless Chromium.

It runs the app (SQLite in a scratch directory, an embedded Redis, a threaded
werkzeug server) and the fake platform serving the demo storefront for three
shops with the same theme and catalogue:

* ``bare``: the app embed switched off, the page as the theme alone makes it;
* ``quiet``: the widget on, nothing to show this visitor (it tracks the page
  view, time on page and the cart, and draws nothing);
* ``message``: the widget on, with an on-site message on every page, shown as
  soon as the page is idle (a chunk fetched, a card drawn).

Each round opens the home, collection and product pages once per shop, each
in a fresh browser profile (a first visit, nothing cached), with the CPU
slowed 4x as Lighthouse's mobile run does, shops in a different order each
round. Each load is recorded as a performance trace (DevTools' timeline and
V8's sampling profiler) until the page is loaded, its message shown and the
network idle. The widget's cost is read from the renderer's main thread in
that trace, the way Lighthouse's bootup-time audit charges main-thread time
to script URLs, instead of from the difference between two noisy pages:

* widget script time: the script work whose outermost script is the
  widget's, that is the loader (the theme app extension's asset) or a chunk
  under the app's ``/static/widget/``. An ``EvaluateScript``, ``v8.compile``,
  ``v8.compileModule`` or ``FunctionCall`` event names its script; a
  ``TimerFire``, ``FireIdleCallback`` or ``FireAnimationFrame`` belongs to
  the script that asked for it (the outermost frame of the stack that set
  it); an event dispatch, XHR callback and the like is its listeners'
  ``FunctionCall`` events. Each event counts once, with everything nested in
  it. Microtask checkpoints and module evaluation name no script, yet that is
  where a fetch's callbacks run (the loader's handling of the widget API's
  answers) and where a chunk mounts: their time is split by the profiler's
  samples inside them, a sample belonging to the outermost script on its
  stack.
* widget blocking time: for each long task (a ``RunTask`` over 50 ms), the
  part of its blocking time that would vanish without the widget's work in
  it, max(0, d - 50) - max(0, d - w - 50), summed over the load.
* layout shift: the sum of ``layout-shift`` entries, as CLS counts them.

Durations are the main thread's own CPU time (the events' thread time), not
the wall clock. DevTools slows the CPU by making the main thread spin, which
is thread time too, so the 4x holds; the time this machine's other processes
take the CPU from the renderer does not count. On an idle machine the two
agree, but for waits on a synchronous call (the first ``localStorage``
access), which only the wall clock counts; the table shows the wall-clock
figure beside. Work the browser does afterwards for the widget's elements
(style, layout and paint in a rendering task) is not script, and is charged
to nobody, as in Lighthouse.

The figures are medians over the rounds, page by page; a goal's figure is the
worst page over both widget shops (layout shift: the median minus the bare
shop's). The bench checks its attribution on every run: nothing is charged to
the widget on the bare shop; the loader's evaluation is found in every widget
load; nothing is counted twice (a page's script adds up to no more than its
main-thread tasks); the widget's part never exceeds the page's script; and,
per widget shop, the profiler's samples alone, grouped by script as DevTools'
bottom-up view groups them, agree with the events on the widget's wall-clock
time. It also prints, for comparison, the figures it used to report: a widget
shop's median minus the bare shop's of the whole page's ``ScriptDuration``
(``Performance.getMetrics``) and ``longtask`` blocking time. Those carry all
of the machine's noise, and ``ScriptDuration`` counts only script that
Blink calls or evaluates, not the microtasks run after it (the widget's fetch
callbacks, a chunk's mounting); they are not goals. Run::

    .venv/bin/python bench/widget_cost.py [--rounds 7]

It needs /usr/bin/chromium, Playwright, and Node 20+ to build the widget. It
prints the tables and the checks, then one line per goal, and exits 0;
non-zero only when the bench itself could not run, or a check failed (the
goals then read "missed": figures it cannot trust meet nothing).
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask_migrate
from cryptography.fernet import Fernet
from flask import Flask
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from engine.onsite.rules import create_message
from engine.shops.install import shop_by_domain
from plugin import create_app
from plugin.sandbox.embedded_redis import start_embedded_redis
from plugin.sandbox.shopify_http import QuietRequestHandler
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import open_storefront
from plugin.sandbox.storefront_embed import LOADER_PATH

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
API_KEY = "bench-api-key"
API_SECRET = "bench-api-secret-0123456789abcdef01"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Lighthouse's mobile run slows the CPU four times.
CPU_SLOWDOWN = 4
SHOPS = ("bare", "quiet", "message")
WIDGET_SHOPS = ("quiet", "message")
PAGES = {"home": "", "collection": "collections/all", "product": "products/rope-tug"}
MESSAGE_TITLE = "Free shipping on orders over NT$1,000"

SCRIPT_TARGET_MS = 30.0
BLOCKING_TARGET_MS = 50.0
LAYOUT_SHIFT_TARGET = 0.0

# What Lighthouse records, less screenshots: the timeline with the stacks
# that set timers, V8's own events, and V8's sampling profiler.
TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "disabled-by-default-devtools.timeline.stack",
    "v8",
    "v8.execute",
    "disabled-by-default-v8.cpu_profiler",
    "toplevel",
    "loading",
]
LONG_TASK_MS = 50.0
# Events that name their script in args.data.url.
EVENTS_WITH_URL = {"EvaluateScript", "v8.compile", "FunctionCall"}
# A callback's event, the event that asked for it, and the id they share.
CALLBACKS = {
    "TimerFire": ("TimerInstall", "timerId"),
    "FireIdleCallback": ("RequestIdleCallback", "id"),
    "FireAnimationFrame": ("RequestAnimationFrame", "id"),
}
REQUESTS = dict(CALLBACKS.values())
# Script work that may name no script; the profiler's samples split it.
SCRIPT_WITHOUT_URL = {
    "RunMicrotasks",
    "v8.evaluateModule",
    "v8.callFunction",
    "EvaluateScript",
    "FunctionCall",
}
# How closely the samples alone must agree with the events on a shop's widget
# time; the samples come a few hundred microseconds to a few milliseconds apart.
SAMPLES_AGREE = 0.2

# Installed before any of the page's own scripts: long tasks and layout shifts.
OBSERVERS = """
window.benchLongTasks = [];
window.benchLayoutShifts = [];
new PerformanceObserver((list) => {
  for (const task of list.getEntries()) benchLongTasks.push(task.duration);
}).observe({ type: 'longtask', buffered: true });
new PerformanceObserver((list) => {
  for (const shift of list.getEntries()) {
    if (!shift.hadRecentInput) benchLayoutShifts.push(shift.value);
  }
}).observe({ type: 'layout-shift', buffered: true });
"""
READ_OBSERVERS = """() => ({
  blocking: benchLongTasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0),
  shift: benchLayoutShifts.reduce((sum, value) => sum + value, 0),
})"""
# A plain poll, not a Playwright locator: a locator loads Playwright's
# selector engine into the page, a long task of script on the message shop
# alone, which whole-page figures would count as the widget's.
WAIT_FOR_MESSAGE = """(title) => new Promise((resolve, reject) => {
  const giveUp = performance.now() + 30000;
  const look = () => {
    const root = document.querySelector('revisit-widget')?.shadowRoot;
    const card = root && root.querySelector('[role="dialog"]');
    if (card && card.textContent.includes(title)) resolve();
    else if (performance.now() > giveUp) reject(new Error('No message: ' + title));
    else setTimeout(look, 50);
  };
  look();
})"""


@dataclass(frozen=True)
class WidgetScripts:
    """Which script URLs are the widget's."""

    loader_url: str
    chunks_prefix: str

    def is_loader(self, url: str) -> bool:
        # The embed adds ?v=<hash> to the loader, as Shopify's asset_url does.
        return url.split("?", 1)[0] == self.loader_url

    def owns(self, url: str | None) -> bool:
        return url is not None and (
            self.is_loader(url) or url.startswith(self.chunks_prefix)
        )


@dataclass(frozen=True)
class Stack:
    stores: dict[str, str]
    widget: WidgetScripts


@dataclass(frozen=True)
class TraceCost:
    """What one load's trace charges to the widget, and the page's totals."""

    widget_script_ms: float
    widget_script_wall_ms: float
    # The part of widget_script_ms split out of unnamed work by samples.
    widget_sampled_ms: float
    widget_blocking_ms: float
    page_script_ms: float
    page_blocking_ms: float
    # Every task on the main thread: script, parsing, style, layout, paint.
    main_thread_ms: float
    loader_seen: bool
    # The widget's wall-clock time by the samples alone, as a check.
    widget_by_samples_ms: float


@dataclass(frozen=True)
class Load:
    trace: TraceCost
    layout_shift: float
    # The whole-page figures this bench used to compare, for comparison.
    script_duration_ms: float
    longtask_blocking_ms: float


@dataclass
class TraceEvent:
    name: str
    start: int
    end: int
    thread_us: int
    args: dict[str, Any]
    children: list[TraceEvent] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.args.get("data") or {}


@dataclass(frozen=True)
class Samples:
    """The V8 profiler's samples of one thread: when, and whose script.

    A sample stands for the time until the next one, as DevTools draws it.
    """

    times: list[int]
    owners: list[str | None]

    def widget_us(self, widget: WidgetScripts) -> int:
        pairs = zip(self.times, self.times[1:], self.owners, strict=False)
        return sum(until - at for at, until, owner in pairs if widget.owns(owner))

    def widget_share(self, start: int, end: int, widget: WidgetScripts) -> float:
        """The fraction of [start, end) that the widget's samples cover."""
        if end <= start:
            return 0.0
        ours = 0
        first = max(0, bisect.bisect_right(self.times, start) - 1)
        for index in range(first, len(self.times)):
            at = self.times[index]
            if at >= end:
                break
            until = self.times[index + 1] if index + 1 < len(self.times) else end
            if widget.owns(self.owners[index]):
                ours += max(0, min(until, end) - max(at, start))
        return ours / (end - start)


def build_widget() -> None:
    subprocess.run(["node", str(REPO / "widget" / "build.mjs")], check=True)


def start_stack(data_dir: Path) -> Stack:
    """App, embedded Redis and platform; each shop's storefront URL."""
    redis_url = start_embedded_redis(HOST)
    platform = FakeShopifyPlatform(API_KEY, API_SECRET)
    platform_url = platform.serve(HOST)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{data_dir / 'bench.sqlite3'}",
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret-key",
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": API_SECRET,
            "SHOPIFY_BASE_URL": platform_url,
            "APP_URL": "http://bench.invalid",
            "REVISIT_DEMO": "0",
        }
    )
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    app_url = serve(app)

    stores = {name: open_shop(app, platform, app_url, name) for name in SHOPS}
    widget = WidgetScripts(
        loader_url=platform_url + LOADER_PATH,
        chunks_prefix=f"{app_url}/static/widget/",
    )
    return Stack(stores, widget)


def serve(app: Flask) -> str:
    server = make_server(
        HOST, 0, app, threaded=True, request_handler=QuietRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://{HOST}:{server.server_port}"


def open_shop(
    app: Flask, platform: FakeShopifyPlatform, app_url: str, name: str
) -> str:
    shop_domain = f"{name}-pets.myshopify.com"
    platform.add_shop(shop_domain, name="Revisit Demo Pet Supply")
    if name == "bare":
        return open_storefront(platform, shop_domain)

    token = platform.session_token(shop_domain)
    client = app.test_client()
    installed = client.get(f"/?shop={shop_domain}&embedded=1&id_token={token}")
    if installed.status_code != 200:
        raise RuntimeError(
            f"Installing {shop_domain} answered {installed.status_code}."
        )
    with app.app_context():
        shop = shop_by_domain(shop_domain)
        widget_key = shop.widget_key
        if name == "message":
            create_message(
                shop,
                name="Free shipping",
                kind="button",
                texts={"en": {"title": MESSAGE_TITLE, "button_label": "Shop now"}},
                link_url=f"https://{shop_domain}/collections/all",
            )
    return open_storefront(
        platform, shop_domain, app_url=app_url, widget_key=widget_key
    )


# --- one load ------------------------------------------------------------------


def measure(
    browser: Browser, url: str, widget: WidgetScripts, shows_message: bool
) -> Load:
    context = browser.new_context(viewport={"width": 412, "height": 823})
    try:
        page = context.new_page()
        page.add_init_script(OBSERVERS)
        devtools = context.new_cdp_session(page)
        devtools.send("Performance.enable")
        devtools.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})

        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        try:
            page.goto(url, wait_until="load")
            if shows_message:
                page.evaluate(WAIT_FOR_MESSAGE, MESSAGE_TITLE)
            page.wait_for_load_state("networkidle")
            metrics = devtools.send("Performance.getMetrics")["metrics"]
            observed = page.evaluate(READ_OBSERVERS)
        finally:
            trace = json.loads(browser.stop_tracing())

        script_seconds = next(
            m["value"] for m in metrics if m["name"] == "ScriptDuration"
        )
        return Load(
            trace=trace_cost(trace["traceEvents"], widget),
            layout_shift=observed["shift"],
            script_duration_ms=script_seconds * 1000,
            longtask_blocking_ms=observed["blocking"],
        )
    finally:
        context.close()


# --- reading a trace -------------------------------------------------------------


def trace_cost(events: list[dict[str, Any]], widget: WidgetScripts) -> TraceCost:
    """Charge the main thread's script work to the widget or to others."""
    pid, tid = main_thread(events)
    thread = [event for event in events if (event["pid"], event["tid"]) == (pid, tid)]
    requesters = callback_requesters(thread)
    samples = profiler_samples(events, pid, tid)

    total: dict[str, float] = defaultdict(float)
    loader_seen = False
    for task in event_tree(thread):
        task_widget_us = 0.0
        for unit, url in script_units(task, requesters):
            if url is None:
                share = samples.widget_share(unit.start, unit.end, widget)
                total["sampled"] += unit.thread_us * share
            else:
                share = 1.0 if widget.owns(url) else 0.0
                loader_seen |= unit.name == "EvaluateScript" and widget.is_loader(url)
            task_widget_us += unit.thread_us * share
            total["wall"] += (unit.end - unit.start) * share
            total["page"] += unit.thread_us
        total["widget"] += task_widget_us
        total["main_thread"] += task.thread_us

        if task.name == "RunTask":
            task_ms = task.thread_us / 1000
            without_widget_ms = task_ms - task_widget_us / 1000
            total["page_blocking"] += blocking(task_ms)
            total["widget_blocking"] += blocking(task_ms) - blocking(without_widget_ms)

    return TraceCost(
        widget_script_ms=total["widget"] / 1000,
        widget_script_wall_ms=total["wall"] / 1000,
        widget_sampled_ms=total["sampled"] / 1000,
        widget_blocking_ms=total["widget_blocking"],
        page_script_ms=total["page"] / 1000,
        page_blocking_ms=total["page_blocking"],
        main_thread_ms=total["main_thread"] / 1000,
        loader_seen=loader_seen,
        widget_by_samples_ms=samples.widget_us(widget) / 1000,
    )


def blocking(task_ms: float) -> float:
    return max(0.0, task_ms - LONG_TASK_MS)


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int]:
    """The renderer main thread of the tab's main frame, as last committed."""
    pid = None
    for event in events:
        data = event.get("args", {}).get("data") or {}
        if event["name"] == "FrameCommittedInBrowser" and data.get(
            "isOutermostMainFrame"
        ):
            pid = data["processId"]
    for event in events:
        if (
            event["pid"] == pid
            and event["name"] == "thread_name"
            and event["args"].get("name") == "CrRendererMain"
        ):
            return pid, event["tid"]
    raise RuntimeError("The trace has no main-frame renderer thread.")


def event_tree(events: list[dict[str, Any]]) -> list[TraceEvent]:
    """A thread's complete events, each nested in the one enclosing it."""
    flat = [
        TraceEvent(
            name=event["name"],
            start=event["ts"],
            end=event["ts"] + event.get("dur", 0),
            # A few bookkeeping events carry no thread time.
            thread_us=event.get("tdur", event.get("dur", 0)),
            args=event.get("args") or {},
        )
        for event in events
        if event["ph"] == "X"
    ]
    flat.sort(key=lambda event: (event.start, -event.end))
    roots: list[TraceEvent] = []
    enclosing: list[TraceEvent] = []
    for event in flat:
        while enclosing and event.start >= enclosing[-1].end:
            enclosing.pop()
        (enclosing[-1].children if enclosing else roots).append(event)
        enclosing.append(event)
    return roots


def callback_requesters(events: list[dict[str, Any]]) -> dict[tuple, str]:
    """The script that set each timer, idle callback and animation frame.

    That is the outermost script on the stack that asked, keyed by the asking
    event's name, the frame and the callback's id.
    """
    requesters = {}
    for event in events:
        key = REQUESTS.get(event["name"])
        if key is None:
            continue
        data = event["args"]["data"]
        url = outermost_url(data.get("stackTrace") or [])
        if url:
            requesters[(event["name"], data.get("frame"), data.get(key))] = url
    return requesters


def outermost_url(stack: list[dict[str, Any]]) -> str | None:
    # Stack traces list the innermost frame first.
    return next((frame["url"] for frame in reversed(stack) if frame.get("url")), None)


def event_url(event: TraceEvent, requesters: dict[tuple, str]) -> str | None:
    """The script an event's work belongs to, when the event says."""
    data = event.data
    if event.name in EVENTS_WITH_URL:
        return data.get("url") or None
    if event.name == "v8.compileModule":
        return event.args.get("fileName") or data.get("url") or None
    if event.name in CALLBACKS:
        request, key = CALLBACKS[event.name]
        return requesters.get((request, data.get("frame"), data.get(key)))
    return None


def script_units(
    event: TraceEvent, requesters: dict[tuple, str]
) -> Iterator[tuple[TraceEvent, str | None]]:
    """The outermost script events in an event, each with its script's URL.

    None stands for script work that names no script, for samples to split.
    Nothing nested in a unit is a unit of its own, so nothing counts twice.
    """
    url = event_url(event, requesters)
    if url is not None:
        yield event, url
    elif event.name in SCRIPT_WITHOUT_URL and not names_a_script(event, requesters):
        yield event, None
    else:
        for child in event.children:
            yield from script_units(child, requesters)


def names_a_script(event: TraceEvent, requesters: dict[tuple, str]) -> bool:
    return any(
        event_url(child, requesters) is not None or names_a_script(child, requesters)
        for child in event.children
    )


def profiler_samples(events: list[dict[str, Any]], pid: int, tid: int) -> Samples:
    """A thread's samples, each with the outermost script on its stack."""
    profile = next(
        (
            event
            for event in events
            if event["name"] == "Profile" and (event["pid"], event["tid"]) == (pid, tid)
        ),
        None,
    )
    if profile is None:
        raise RuntimeError("The trace has no profile of the main thread.")

    owners: dict[int, str | None] = {}
    timed: list[tuple[int, str | None]] = []
    at = profile["args"]["data"]["startTime"]
    for event in events:
        if event["name"] != "ProfileChunk" or event.get("id") != profile["id"]:
            continue
        if event["pid"] != pid:
            continue
        data = event["args"]["data"]
        cpu_profile = data.get("cpuProfile") or {}
        # A node comes after its parent, so the parent's owner is known.
        for node in cpu_profile.get("nodes", []):
            own_url = node["callFrame"].get("url") or None
            owners[node["id"]] = owners.get(node.get("parent")) or own_url
        for node_id, delta in zip(
            cpu_profile.get("samples", []), data.get("timeDeltas", []), strict=False
        ):
            at += delta
            timed.append((at, owners.get(node_id)))
    # The deltas may step back a little; the samples are read in time order.
    timed.sort(key=lambda sample: sample[0])
    return Samples([at for at, _ in timed], [owner for _, owner in timed])


# --- rounds and report -------------------------------------------------------------


def run_rounds(browser: Browser, stack: Stack, rounds: int) -> dict:
    loads: dict[tuple[str, str], list[Load]] = defaultdict(list)
    # One unrecorded pass warms the servers and the browser's own caches.
    for shop in SHOPS:
        measure(browser, stack.stores[shop], stack.widget, shop == "message")
    for number in range(rounds):
        turn = number % len(SHOPS)
        for page_name, path in PAGES.items():
            for shop in SHOPS[turn:] + SHOPS[:turn]:
                url = stack.stores[shop] + path
                load = measure(browser, url, stack.widget, shop == "message")
                loads[(shop, page_name)].append(load)
    return loads


def median_of(loads: list[Load], figure: Callable[[Load], float]) -> float:
    return statistics.median(figure(load) for load in loads)


def traced(name: str) -> Callable[[Load], float]:
    return lambda load: getattr(load.trace, name)


def report(loads: dict, rounds: int) -> bool:
    """Print the tables, the checks and the goals; False if a check failed."""
    print(f"{rounds} rounds, CPU slowed {CPU_SLOWDOWN}x; medians over the rounds")
    print_charged(loads)
    print_whole_page(loads)
    trusted = print_checks(loads)
    print_goals(loads, trusted)
    return trusted


def print_charged(loads: dict) -> None:
    print()
    print(
        "Charged to the widget by the trace, in main-thread CPU time (wall: the"
        " same by the clock; sampled: the part split by samples; page: all"
        " script, and the total blocking time):"
    )
    print(
        f"{'page':<11} {'shop':<8} {'script ms':>10} {'wall':>6} {'sampled':>8}"
        f" {'blocking ms':>12} {'page script':>12} {'page blocking':>14}"
        f" {'layout shift':>13} {'added':>7}"
    )
    columns = (
        ("widget_script_ms", 10),
        ("widget_script_wall_ms", 6),
        ("widget_sampled_ms", 8),
        ("widget_blocking_ms", 12),
        ("page_script_ms", 12),
        ("page_blocking_ms", 14),
    )
    for page_name in PAGES:
        bare_shift = median_of(loads[("bare", page_name)], shift_of)
        for shop in SHOPS:
            mine = loads[(shop, page_name)]
            cells = "".join(
                f" {median_of(mine, traced(name)):>{width}.1f}"
                for name, width in columns
            )
            shift = median_of(mine, shift_of)
            print(
                f"{page_name:<11} {shop:<8}{cells}"
                f" {shift:>13.4f} {shift - bare_shift:>+7.4f}"
            )


def shift_of(load: Load) -> float:
    return load.layout_shift


def print_whole_page(loads: dict) -> None:
    print()
    print(
        "For comparison, not goals: the figures this bench used to report, the"
        " whole page's, added = shop - bare (all the machine's noise included):"
    )
    print(
        f"{'page':<11} {'shop':<8} {'ScriptDuration ms':>18} {'added':>7}"
        f" {'longtask blocking ms':>21} {'added':>7}"
    )
    figures = (
        (lambda load: load.script_duration_ms, 18),
        (lambda load: load.longtask_blocking_ms, 21),
    )
    for page_name in PAGES:
        bare = loads[("bare", page_name)]
        for shop in SHOPS:
            mine = loads[(shop, page_name)]
            cells = "".join(
                f" {median_of(mine, figure):>{width}.1f}"
                f" {median_of(mine, figure) - median_of(bare, figure):>+7.1f}"
                for figure, width in figures
            )
            print(f"{page_name:<11} {shop:<8}{cells}")


def print_checks(loads: dict) -> bool:
    """The attribution's own checks, one line each; False if one failed."""

    def traces(shops: tuple[str, ...]) -> list[TraceCost]:
        return [
            load.trace
            for shop in shops
            for page in PAGES
            for load in loads[(shop, page)]
        ]

    bare, widget, every = traces(("bare",)), traces(WIDGET_SHOPS), traces(SHOPS)
    per_load = (
        (
            "the bare shop charges nothing to the widget",
            bare,
            lambda trace: trace.widget_script_ms == 0,
        ),
        (
            "the loader's evaluation found on the widget shops",
            widget,
            lambda trace: trace.loader_seen,
        ),
        (
            "nothing counted twice: page script <= main-thread tasks",
            every,
            lambda trace: trace.page_script_ms <= trace.main_thread_ms,
        ),
        (
            "widget script <= page script",
            every,
            lambda trace: trace.widget_script_ms <= trace.page_script_ms,
        ),
    )
    print()
    passed = True
    for name, checked, holds in per_load:
        good = sum(1 for trace in checked if holds(trace))
        passed &= good == len(checked)
        print(f"check {name}: {good}/{len(checked)} loads {ok(good == len(checked))}")
    for shop in WIDGET_SHOPS:
        by_events = sum(trace.widget_script_wall_ms for trace in traces((shop,)))
        by_samples = sum(trace.widget_by_samples_ms for trace in traces((shop,)))
        agree = abs(by_events - by_samples) <= SAMPLES_AGREE * by_events
        passed &= agree
        print(
            f"check {shop} shop, the widget's wall-clock time by events and by"
            f" samples alone: {by_events:.0f} and {by_samples:.0f} ms"
            f" (within {SAMPLES_AGREE:.0%}) {ok(agree)}"
        )
    return passed


def ok(passed: bool) -> str:
    return "ok" if passed else "FAILED"


def print_goals(loads: dict, trusted: bool) -> None:
    def worst(figure: Callable[[Load], float], less_bare: bool = False) -> float:
        return max(
            median_of(loads[(shop, page)], figure)
            - (median_of(loads[("bare", page)], figure) if less_bare else 0.0)
            for shop in WIDGET_SHOPS
            for page in PAGES
        )

    goals = (
        (
            "widget_script_ms",
            worst(traced("widget_script_ms")),
            SCRIPT_TARGET_MS,
            "{:.1f} ms",
        ),
        (
            "widget_added_blocking_ms",
            worst(traced("widget_blocking_ms")),
            BLOCKING_TARGET_MS,
            "{:.1f} ms",
        ),
        (
            "widget_added_layout_shift",
            worst(shift_of, less_bare=True),
            LAYOUT_SHIFT_TARGET,
            "{:.4f}",
        ),
    )
    print()
    if not trusted:
        print("A check failed, so the attribution is not trusted: no goal is met.")
    for name, figure, target, shape in goals:
        verdict = "met" if trusted and figure <= target else "missed"
        print(
            f"goal {name}: {shape.format(figure)}"
            f" (target <= {shape.format(target)}) {verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    build_widget()
    with tempfile.TemporaryDirectory(prefix="revisit-widget-cost-") as scratch:
        stack = start_stack(Path(scratch))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                loads = run_rounds(browser, stack, arguments.rounds)
            finally:
                browser.close()
    trusted = report(loads, arguments.rounds)
    return 0 if trusted else 1


if __name__ == "__main__":
    sys.exit(main())
