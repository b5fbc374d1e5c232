"""The merchant admin panel: its pages, its JSON API and who may use them.

Inside the store admin every request proves itself with the platform's
session token (``access``); outside it, team members sign in (``signin``)
and carry an expiring session cookie and a CSRF token. Pages
(``pages``) are server-rendered with small scripts; their dynamic parts
and every change go through the JSON API (``api``) described by the served
OpenAPI document (``openapi``). Adding a screen: write its route with
``@screen(...)`` (``screens``), and it gets its entry in the navigation.
Business logic stays in ``engine``.
"""

from flask import Blueprint

bp = Blueprint(
    "admin",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/admin/static",
)

# Importing the views registers their routes on bp.
from plugin.admin import (  # noqa: E402,F401
    api,
    binding,
    channels_api,
    game,
    inbox,
    inbox_setup,
    inbox_stream,
    pages,
    signin,
    storefronts,
)
