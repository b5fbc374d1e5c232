"""Install and open the app: token exchange in the admin, the code grant outside."""

from flask import Blueprint

bp = Blueprint("install", __name__)

from plugin.install import routes  # noqa: E402,F401  (registers the routes)
