"""The flow editor's previews, served as documents with a policy of their own.

A preview is the phone page the sandbox draws (``render_phone_page``), whose
look is inline styles. Framed through ``srcdoc`` it would inherit the
panel's Content-Security-Policy, which refuses inline styles; so the
preview API keeps each drawn page in Redis for a few minutes under an
unguessable key, and the editor frames ``/admin/previews/<key>`` instead.
That document may use inline styles and show images, and nothing else: no
script, no form, sandboxed, framed only by the panel's own pages.
"""

from __future__ import annotations

import json
import logging
import re
import secrets

from flask import Response, url_for

from engine.runtime import current
from plugin.admin import bp
from plugin.admin.access import Viewer
from plugin.admin.screens import frame_ancestors_of

logger = logging.getLogger(__name__)

PREVIEW_SECONDS = 600
_REDIS_KEY = "revisit:admin:preview:{key}"
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet.
_KEY = re.compile(r"[A-Za-z0-9_-]{43}")


def keep_preview(viewer: Viewer, html: str) -> str:
    """Keeps a drawn preview for a few minutes; returns the address to frame."""
    key = secrets.token_urlsafe(32)
    ancestors = frame_ancestors_of(viewer)
    stored = {
        "html": html,
        # The panel frames the preview, and whoever may frame the panel.
        "frame_ancestors": "'self'" if ancestors == "'none'" else f"'self' {ancestors}",
    }
    current().redis.set(
        _REDIS_KEY.format(key=key), json.dumps(stored), ex=PREVIEW_SECONDS
    )
    return url_for("admin.preview_document", key=key)


@bp.get("/admin/previews/<key>")
def preview_document(key: str) -> Response:
    stored = (
        current().redis.get(_REDIS_KEY.format(key=key)) if _KEY.fullmatch(key) else None
    )
    if stored is None:
        logger.info("admin.preview_gone")
        return Response("This preview has expired.", 404, mimetype="text/plain")

    page = json.loads(stored)
    response = Response(page["html"], mimetype="text/html")
    response.headers["Content-Security-Policy"] = "; ".join(
        (
            "default-src 'none'",
            "style-src 'unsafe-inline'",
            "img-src https: data:",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {page['frame_ancestors']}",
            "sandbox",
        )
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A product image's host learns nothing of the preview's address.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
