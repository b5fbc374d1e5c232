"""The ``revisit`` command: serve, worker, demo, db and operator chores."""

from __future__ import annotations

import logging
import os
import sys

import click
import flask_migrate

from engine.crypto import generate_key
from engine.settings import MissingSettingError, Settings
from plugin import create_app, logs

logger = logging.getLogger(__name__)

# How long a starting worker waits for its webhook dispatcher to listen.
DISPATCHER_START_SECONDS = 30.0


@click.group()
def cli() -> None:
    """Revisit: brings shoppers back to online stores."""
    logs.configure(logging.DEBUG if os.environ.get("REVISIT_DEBUG") else logging.INFO)


@cli.command()
@click.option("--bind", default="0.0.0.0:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, help="Processes.")
@click.option("--threads", default=4, show_default=True, help="Threads each.")
@click.option(
    "--chat-streams",
    default=200,
    show_default=True,
    help="Open chat streams each process can hold, on threads of their own.",
)
def serve(bind: str, workers: int, threads: int, chat_streams: int) -> None:
    """Run the web app under gunicorn.

    An open chat stream (a shopper's or the inbox's) keeps a thread for as
    long as it is open, so each process gets ``--chat-streams`` threads on
    top of ``--threads``; an idle thread costs little memory.
    """
    Settings.from_env()
    threads += chat_streams
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            # gthread accepts no more connections than this at once: room for
            # every thread's connection and as many idle keep-alive ones.
            "--worker-connections",
            str(max(1000, threads * 2)),
            "--worker-class",
            "gthread",
            # The platform gives webhooks 5 s; never hold a request longer.
            "--timeout",
            "30",
            "--graceful-timeout",
            "25",
            "--access-logfile",
            "-",
            # Flushes buffered storefront events when a worker stops.
            "--config",
            "python:plugin.gunicorn_conf",
            "plugin:create_app()",
        ],
    )


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not run RQ's scheduler.")
def worker(burst: bool, no_scheduler: bool) -> None:
    """Run an RQ worker for the engine's queues (with the scheduler)."""
    from engine.worker import make_worker, start_dispatcher

    app = create_app()
    worker = make_worker(app)
    if not burst:
        dispatcher = start_dispatcher(app)
        # Its first round runs before the first fork: see the dispatcher.
        if dispatcher is not None:
            dispatcher.wait_listening(DISPATCHER_START_SECONDS)
    worker.work(with_scheduler=not no_scheduler, burst=burst)


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.argument("revision", default="heads")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: every newest one)."""
    with create_app().app_context():
        flask_migrate.upgrade(revision=revision)


@db.command()
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Undo migrations down to REVISION (default: one step)."""
    with create_app().app_context():
        flask_migrate.downgrade(revision=revision)


@db.command()
def current() -> None:
    """Show the database's revision."""
    with create_app().app_context():
        flask_migrate.current()


@cli.command()
@click.option(
    "--port",
    default=8000,
    show_default=True,
    help="The app's port; the fake store platform takes the next one.",
)
@click.option("--data-dir", default=".demo", show_default=True, type=click.Path())
def demo(port: int, data_dir: str) -> None:
    """Run everything on this machine with no servers: app, worker, fake store."""
    from pathlib import Path

    from plugin.demo import run_demo

    run_demo(port=port, data_dir=Path(data_dir))


@cli.command("generate-key")
def generate_key_command() -> None:
    """Print a new key for TOKEN_ENCRYPTION_KEY."""
    click.echo(generate_key())


@cli.command("rotate-token-key")
def rotate_token_key() -> None:
    """Re-encrypt stored tokens under the first TOKEN_ENCRYPTION_KEY key."""
    from engine.shops.tokens import reencrypt_all_tokens

    with create_app().app_context():
        count = reencrypt_all_tokens()
    click.echo(f"Re-encrypted the tokens of {count} shop(s).")


@cli.command()
@click.option("--shop", "shop_domain", help="One shop's myshopify domain.")
def reconcile(shop_domain: str | None) -> None:
    """Fetch recent checkouts and orders from the platform now."""
    from engine.shopify.reconcile import reconcile_now

    with create_app().app_context():
        count = reconcile_now(shop_domain)
    click.echo(f"Reconciled {count} shop(s).")


def main() -> None:
    try:
        cli()
    except MissingSettingError as exc:
        click.echo(f"revisit: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
