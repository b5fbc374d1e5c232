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
round. Per page load it reads, once the page is loaded and the network idle:

* script time: main-thread JavaScript time from the DevTools protocol
  (``Performance.getMetrics``, ``ScriptDuration``);
* blocking time: the part over 50 ms of every long task (PerformanceObserver
  ``longtask``), summed, as total blocking time counts it;
* layout shift: the sum of ``layout-shift`` entries, as CLS counts them.

The figures are medians over the rounds; "added" is a widget shop's median
minus the bare shop's, page by page. A goal's figure is the worst added
figure over both widget shops and every page. Run::

    .venv/bin/python bench/widget_cost.py [--rounds 7]

It needs /usr/bin/chromium, Playwright, and Node 20+ to build the widget. It
prints a table, then one line per goal, and exits 0; non-zero only when the
bench itself could not run.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

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
PAGES = {"home": "", "collection": "collections/all", "product": "products/rope-tug"}
MESSAGE_TITLE = "Free shipping on orders over NT$1,000"

SCRIPT_TARGET_MS = 30.0
BLOCKING_TARGET_MS = 50.0
LAYOUT_SHIFT_TARGET = 0.0

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


@dataclass(frozen=True)
class Load:
    script_ms: float
    blocking_ms: float
    layout_shift: float


def build_widget() -> None:
    subprocess.run(["node", str(REPO / "widget" / "build.mjs")], check=True)


def start_stack(data_dir: Path) -> dict[str, str]:
    """App, embedded Redis and platform; returns each shop's storefront URL."""
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
    return {name: open_shop(app, platform, app_url, name) for name in SHOPS}


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


def measure(browser: Browser, url: str, shows_message: bool) -> Load:
    context = browser.new_context(viewport={"width": 412, "height": 823})
    try:
        page = context.new_page()
        page.add_init_script(OBSERVERS)
        devtools = context.new_cdp_session(page)
        devtools.send("Performance.enable")
        devtools.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})

        page.goto(url, wait_until="load")
        if shows_message:
            page.get_by_role("dialog", name=MESSAGE_TITLE).wait_for()
        page.wait_for_load_state("networkidle")

        metrics = devtools.send("Performance.getMetrics")["metrics"]
        script_seconds = next(
            m["value"] for m in metrics if m["name"] == "ScriptDuration"
        )
        observed = page.evaluate(READ_OBSERVERS)
        return Load(script_seconds * 1000, observed["blocking"], observed["shift"])
    finally:
        context.close()


def run_rounds(browser: Browser, stores: dict[str, str], rounds: int) -> dict:
    loads: dict[tuple[str, str], list[Load]] = defaultdict(list)
    # One unrecorded pass warms the servers and the browser's own caches.
    for shop in SHOPS:
        measure(browser, stores[shop], shop == "message")
    for number in range(rounds):
        order = SHOPS[number % 3 :] + SHOPS[: number % 3]
        for page_name, path in PAGES.items():
            for shop in order:
                load = measure(browser, stores[shop] + path, shop == "message")
                loads[(shop, page_name)].append(load)
    return loads


def median(loads: list[Load], field: str) -> float:
    return statistics.median(getattr(load, field) for load in loads)


def report(loads: dict, rounds: int) -> None:
    print(f"{rounds} rounds, CPU slowed {CPU_SLOWDOWN}x; medians; added = shop - bare")
    header = (
        f"{'page':<11} {'shop':<8} {'script ms':>10} {'added':>7}"
        f" {'blocking ms':>12} {'added':>7} {'layout shift':>13} {'added':>7}"
    )
    print(header)
    worst = {"script_ms": 0.0, "blocking_ms": 0.0, "layout_shift": 0.0}
    for page_name in PAGES:
        bare = loads[("bare", page_name)]
        for shop in SHOPS:
            mine = loads[(shop, page_name)]
            cells = []
            for field in ("script_ms", "blocking_ms", "layout_shift"):
                added = median(mine, field) - median(bare, field)
                cells.append((median(mine, field), added))
                if shop != "bare":
                    worst[field] = max(worst[field], added)
            (script, script_added), (block, block_added), (shift, shift_added) = cells
            print(
                f"{page_name:<11} {shop:<8} {script:>10.1f} {script_added:>+7.1f}"
                f" {block:>12.1f} {block_added:>+7.1f}"
                f" {shift:>13.4f} {shift_added:>+7.4f}"
            )
    print()
    goals = (
        ("widget_script_ms", worst["script_ms"], SCRIPT_TARGET_MS, "{:.1f} ms"),
        (
            "widget_added_blocking_ms",
            worst["blocking_ms"],
            BLOCKING_TARGET_MS,
            "{:.1f} ms",
        ),
        (
            "widget_added_layout_shift",
            worst["layout_shift"],
            LAYOUT_SHIFT_TARGET,
            "{:.4f}",
        ),
    )
    for name, figure, target, shape in goals:
        verdict = "met" if figure <= target else "missed"
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
        stores = start_stack(Path(scratch))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                loads = run_rounds(browser, stores, arguments.rounds)
            finally:
                browser.close()
    report(loads, arguments.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
