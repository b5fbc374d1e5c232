"""Endpoints for the machines around the app: ``/healthz``, ``/readyz``, ``/metrics``.

Load balancers and orchestrators probe the first two, Prometheus scrapes
the third. None of them uses a session or sets a cookie; the probes need no
credentials, ``/metrics`` a bearer token (``METRICS_TOKEN``). The figures
and checks themselves live in ``engine.ops``.
"""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from engine.ops.health import Probes
from engine.runtime import EXTENSION_KEY

PROBES_KEY = "revisit.probes"

bp = Blueprint("ops", __name__)


@bp.record_once
def _give_app_its_probes(state: BlueprintSetupState) -> None:
    settings = state.app.extensions[EXTENSION_KEY].settings
    state.app.extensions[PROBES_KEY] = Probes.build(settings)


from plugin.ops import routes  # noqa: E402,F401  (the routes)
