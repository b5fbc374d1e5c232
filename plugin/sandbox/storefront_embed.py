"""The theme app embed as the demo storefront renders it into every page.

Mirrors ``extensions/revisit-widget/blocks/revisit-embed.liquid`` line for
line: the JSON config, with the labels its ``t`` filter would pick from the
extension's locale files, then the loader from the extension's assets, which
the platform serves at ``LOADER_PATH`` as Shopify's CDN would.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXTENSION = Path(__file__).resolve().parents[2] / "extensions" / "revisit-widget"
LOADER_FILE = EXTENSION / "assets" / "revisit-loader.js"
LOADER_PATH = "/cdn/extensions/revisit-widget/assets/revisit-loader.js"


@dataclass(frozen=True)
class EmbedPage:
    """What the Liquid reads of the page being rendered."""

    shop_domain: str
    locale: str
    page_type: str
    product_id: int | None = None
    product_handle: str | None = None


def render_app_embed(
    app_url: str, widget_key: str, position: str, page: EmbedPage
) -> str:
    """The embed block's output for one page, as its Liquid renders it."""
    labels = _labels(page.locale)
    values = [
        ("version", 1),
        ("app_url", app_url),
        ("widget_key", widget_key),
        ("position", position),
        ("shop", page.shop_domain),
        ("locale", page.locale),
        ("page_type", page.page_type),
        ("design_mode", False),
        ("product_id", page.product_id),
        ("product_handle", page.product_handle),
        ("customer_id_hint", None),
    ]
    return "\n".join(
        [
            '<script type="application/json" id="revisit-config">',
            "  {",
            *(f'    "{name}": {_liquid_json(value)},' for name, value in values),
            '    "labels": {',
            f'      "open": {_liquid_json(labels["open"])},',
            f'      "close": {_liquid_json(labels["close"])}',
            "    }",
            "  }",
            "</script>",
            f'<script src="{loader_url()}" defer></script>',
        ]
    )


def loader_url() -> str:
    """The loader's address; like ``asset_url``, ``?v=`` changes with the file."""
    version = "0"
    if LOADER_FILE.is_file():
        version = hashlib.sha256(LOADER_FILE.read_bytes()).hexdigest()[:10]
    return f"{LOADER_PATH}?v={version}"


def _labels(locale: str) -> dict[str, str]:
    # The `t` filter: the locale's own file, else the default one.
    path = EXTENSION / "locales" / f"{locale}.json"
    if not path.is_file():
        path = EXTENSION / "locales" / "en.default.json"
    return json.loads(path.read_text(encoding="utf-8"))["revisit"]["widget"]


def _liquid_json(value: Any) -> str:
    # Liquid's json filter; <, > and & escaped so the text cannot end the tag.
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
