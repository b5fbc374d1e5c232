"""The sandbox outbox page: a shop's sandbox messages, as a phone shows them.

Registered only when ``REVISIT_DEMO=1`` (the page asks for no session and
names the shop in its query); merchants will find their sandbox messages in
the admin panel instead.
"""

from flask import Blueprint

bp = Blueprint("sandbox_outbox", __name__)

from plugin.sandbox_outbox import routes  # noqa: E402,F401  (registers the routes)
