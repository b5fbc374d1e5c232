"""``GET /r/<token>``: a shopper tapped a reminder's button.

A good token counts the click and redirects to the recovered checkout with
UTM tags. An expired or broken one gets a short page (410 or 404) that still
offers the store, so a shopper with an old message is never stranded.
"""

from __future__ import annotations

from flask import Response, redirect, render_template, request

from engine.reminders.links import follow
from plugin.links import bp


@bp.get("/r/<token>")
def follow_reminder_link(token: str) -> Response:
    outcome = follow(token, request.headers.get("User-Agent"))
    if outcome.valid and outcome.url:
        response = redirect(outcome.url, code=302)
        # The token is the shopper's; keep it out of caches and referrers.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    page = render_template(
        "links/unavailable.html", store_url=outcome.url, expired=outcome.expired
    )
    return Response(page, status=410 if outcome.expired else 404)
