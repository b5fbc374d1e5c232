"""Bytes the storefront widget costs a page, gzipped, before and after interaction.

It builds the widget (``node widget/build.mjs``), then measures:

* before_interaction: what every storefront page loads whatever the visitor
  does: the loader (``revisit-loader.js``, a file of its own) plus what the app
  embed adds to the page's HTML (the JSON config and the script tag), counted
  as the growth of the gzipped demo product page when the embed is switched
  on, with the script tag pointing at a Shopify CDN address as long as real
  ones;
* whole_widget: that, plus every chunk the widget can ever load (bubble,
  message, cart watcher, panel, chat, game, binding, shared code), each
  gzipped on its own as a browser fetches it.

Files are gzipped at level 6 (the usual server default). The table puts the
figures beside the platform's per-file hint for app embed scripts (10 KB) and
two chat widgets' script weight. Run::

    .venv/bin/python bench/widget_size.py

It prints a table, then one line per goal, and exits 0; non-zero only when
the build or the measurement could not run.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import open_storefront
from plugin.sandbox.storefront_embed import loader_url

REPO = Path(__file__).resolve().parent.parent
WIDGET_DIR = REPO / "plugin" / "static" / "widget"
SHOP = "revisit-demo.myshopify.com"
# The shape of a theme app extension asset address on Shopify's CDN.
CDN_LOADER_URL = (
    "https://cdn.shopify.com/extensions/0199c3b1-5d2e-7a40-9f1b-2c8e4d6a7b90"
    "/revisit-widget-12/assets/revisit-loader.js"
)
# A widget key as the app issues them ("wk_" and 24 url-safe characters).
WIDGET_KEY = "wk_4hQ2-xV9pLmZ0aTbYc7uRs1E"
APP_URL = "https://revisit.example.com"

BEFORE_INTERACTION_TARGET = 2 * 1024
WHOLE_WIDGET_TARGET = 30 * 1024
# For scale, from the issue: the platform's hint per app embed script file,
# Crisp's and Chatwoot's script weight.
REFERENCES = (
    ("platform hint, one app embed script file", 10_000),
    ("Crisp chat widget script", 90 * 1024),
    ("Chatwoot chat widget script", 170 * 1024),
)


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def build_widget() -> dict:
    subprocess.run(["node", str(REPO / "widget" / "build.mjs")], check=True)
    return json.loads((WIDGET_DIR / "manifest.json").read_text(encoding="utf-8"))


def product_page(platform: FakeShopifyPlatform, embed: bool) -> bytes:
    open_storefront(
        platform,
        SHOP,
        app_url=APP_URL,
        widget_key=WIDGET_KEY if embed else None,
    )
    client = platform.wsgi_app.test_client()
    page = client.get(f"/store/{SHOP}/products/rope-tug").get_data(as_text=True)
    return page.replace(loader_url(), CDN_LOADER_URL).encode()


def embed_bytes() -> tuple[int, int]:
    """The embed's raw bytes, and what it adds to the gzipped page."""
    platform = FakeShopifyPlatform("bench-key", "bench-secret")
    platform.serve()
    try:
        platform.add_shop(SHOP, name="Revisit Demo Pet Supply")
        with_embed = product_page(platform, embed=True)
        without = product_page(platform, embed=False)
    finally:
        platform.shutdown()
    return len(with_embed) - len(without), gzipped(with_embed) - gzipped(without)


def kilobytes(count: int) -> str:
    return f"{count:,} B ({count / 1024:.2f} KB)"


def main() -> int:
    manifest = build_widget()
    loader = (REPO / manifest["loader"]["path"]).read_bytes()
    embed_raw, embed_gzipped = embed_bytes()
    chunks = {name: (WIDGET_DIR / name).read_bytes() for name in manifest["files"]}

    before = gzipped(loader) + embed_gzipped
    whole = before + sum(gzipped(data) for data in chunks.values())

    rows = [
        ("loader (revisit-loader.js)", len(loader), gzipped(loader)),
        ("app embed markup in the page", embed_raw, embed_gzipped),
        *((name, len(data), gzipped(data)) for name, data in sorted(chunks.items())),
    ]
    print(f"{'file':<40} {'raw':>9} {'gzipped':>9}")
    for name, raw, packed in rows:
        print(f"{name:<40} {raw:>9,} {packed:>9,}")
    print()
    print(f"before any interaction: {kilobytes(before)}")
    print(f"whole widget:           {kilobytes(whole)}")
    for label, size in REFERENCES:
        print(f"  for scale, {label}: {kilobytes(size)}")
    print()

    goals = (
        ("widget_before_interaction_gzip", before, BEFORE_INTERACTION_TARGET),
        ("widget_whole_gzip", whole, WHOLE_WIDGET_TARGET),
    )
    for name, figure, target in goals:
        verdict = "met" if figure <= target else "missed"
        print(f"goal {name}: {figure:,} B (target <= {target:,} B) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
