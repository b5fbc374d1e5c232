"""The storefront widget's API: ``/api/widget/v1/page``, ``/events``, ``/game/*``,
``/chat/*``.

Public and cross-origin: a request names its shop by the public widget key
and must come from one of that shop's storefront origins (CORS). The page
and events views read at most a little (cached shop and rules, the
visitor's footprint) and never write to the database: events go to
``engine.tracking.buffer``. The bonus game's views (``game``) are the
exception: collecting and redeeming are writes, one short transaction each,
and so are the chat's (``chat``), whose stream stays open.
"""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from engine.tracking import buffer

bp = Blueprint("widget_api", __name__, url_prefix="/api/widget/v1")


@bp.record_once
def _give_app_its_event_buffer(state: BlueprintSetupState) -> None:
    buffer.init_app(state.app)


# The routes, and (limits) the rate limits every call meets before its view.
from plugin.widget_api import binding, chat, game, limits, routes  # noqa: E402,F401
