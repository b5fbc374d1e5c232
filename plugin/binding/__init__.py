"""Where LINE Login sends the shopper back: ``/binding/line/<shop key>/callback``.

The view hands the query to ``engine.binding.line_login`` and shows the
shopper a short page: bound (with the shop's success message), or why not.
The widget that opened LINE Login learns of the binding by asking
``/api/widget/v1/binding/status``.
"""

from flask import Blueprint

bp = Blueprint("binding", __name__)

from plugin.binding import routes  # noqa: E402,F401  (registers the routes)
