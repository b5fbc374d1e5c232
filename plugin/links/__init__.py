"""Tracked reminder links: ``GET /r/<token>`` counts the click and redirects."""

from flask import Blueprint

bp = Blueprint("links", __name__, template_folder="templates")

from plugin.links import routes  # noqa: E402,F401  (registers the routes)
