"""Serves the built widget chunks (``plugin/static/widget/``, from widget/build.mjs).

Storefronts import them cross-origin with ``import()``, which fetches in CORS
mode, so every answer allows any origin: the files are public code. Hashed
names never change content, so browsers and CDNs may keep them for a year.
``entry_chunks`` names the files the loader imports; the page endpoint sends
them, so a loader on the platform's CDN never has to know this build.

Deploy note: serve each build's files beside the previous build's (the build
keeps them), since a page opened before a deploy may still import an old file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Blueprint, Response, send_from_directory

from plugin.errors import ApiError

WIDGET_DIR = Path(__file__).resolve().parent / "static" / "widget"
# esbuild's "[name]-[hash]" file names: the hash is 8 upper-case base32 chars.
_HASHED_NAME = re.compile(r"^[a-z]+-[A-Z0-9]{8}\.js$")
# The shape of every name the build writes; any other (one too long for the
# file system, which then raises) is no file of ours, unasked.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
IMMUTABLE = "public, max-age=31536000, immutable"

bp = Blueprint("static_widget", __name__)

_entries: dict[str, str] = {}


def entry_chunks() -> dict[str, str]:
    """The loader's chunks by name, as the build wrote them: ``{"bubble":
    "bubble-AB12CD34", ...}``; empty until the widget is built."""
    if not _entries:
        manifest = WIDGET_DIR / "manifest.json"
        if manifest.is_file():
            _entries.update(json.loads(manifest.read_text("utf-8")).get("entries", {}))
    return _entries


@bp.get("/static/widget/<name>")
def widget_file(name: str) -> Response:
    """One built file; hashed chunks are cached for good, the rest revalidated."""
    if not _FILE_NAME.fullmatch(name) or not (WIDGET_DIR / name).is_file():
        raise ApiError(
            404,
            "widget_file_not_found",
            f"There is no widget file {name[:128]!r}; build the widget with"
            " `node widget/build.mjs`.",
        )

    response = send_from_directory(WIDGET_DIR, name, max_age=0)
    if _HASHED_NAME.match(name):
        response.cache_control.no_cache = None
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Lets stores that isolate themselves (COEP) still load the chunks.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
