"""The Flask web layer: install, store webhooks, and the pages around them.

``create_app`` is the only place an app is built; gunicorn loads it as
``plugin:create_app()``. Views stay thin: they verify, hand over to
``engine`` and answer. Business logic never lives here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

import engine.models  # noqa: F401  (every table in the metadata)
from engine import runtime
from engine.db import db
from engine.settings import Settings
from plugin import chat_images, errors, static_widget, widget_api
from plugin.admin import bp as admin_bp
from plugin.app_proxy import bp as app_proxy_bp
from plugin.binding import bp as binding_bp
from plugin.install import bp as install_bp
from plugin.links import bp as links_bp
from plugin.ops import bp as ops_bp
from plugin.webhooks import bp as webhooks_bp

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
migrate = Migrate(directory=str(MIGRATIONS))


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app from a ``Settings``, a mapping of overrides, or the env.

    A mapping is read like the environment (``DATABASE_URL`` and so on) and
    takes precedence over it, which is what tests and the demo pass.
    """
    settings = _settings(config)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        # Webhook bodies are small; anything near this is hostile.
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        SESSION_COOKIE_SECURE=not settings.demo,
        SESSION_COOKIE_SAMESITE="None" if not settings.demo else "Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )

    db.init_app(app)
    migrate.init_app(app, db)
    runtime.init_app(app, settings)
    errors.init_app(app)
    app.register_blueprint(install_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(links_bp)
    app.register_blueprint(widget_api.bp)
    app.register_blueprint(static_widget.bp)
    app.register_blueprint(binding_bp)
    app.register_blueprint(app_proxy_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(chat_images.bp)
    if settings.trusted_proxies:
        # Client addresses (the widget's rate limits) come from X-Forwarded-For
        # only as far back as the proxies we run; the rest could be forged.
        # The scheme stays gunicorn's (its forwarded_allow_ips).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=0)
    if settings.demo:
        # No session guards this page; real merchants will see their sandbox
        # messages in the admin panel.
        from plugin.sandbox_outbox import bp as sandbox_outbox_bp

        app.register_blueprint(sandbox_outbox_bp)
    return app


def _settings(config: Mapping[str, Any] | Settings | None) -> Settings:
    if isinstance(config, Settings):
        return config
    environ = dict(os.environ)
    environ.update({key: str(value) for key, value in (config or {}).items()})
    return Settings.from_env(environ)


def _engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Web threads and the demo's worker share one file.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
