"""Settings read from the environment, checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from engine.ratelimit import Budget

# Names a production process refuses to start without.
REQUIRED = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "TOKEN_ENCRYPTION_KEY",
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "APP_URL",
)

DEFAULT_SCOPES = (
    "read_orders,read_customers,read_products,write_discounts,"
    "read_store_credit_accounts,write_store_credit_account_transactions,"
    "write_app_proxy"
)


# The widget API's default budgets, per client address (shoppers behind one
# carrier NAT share it), per shop (a flash sale's thousands of shoppers) and
# per visitor (a page view and a few event batches per page, game and
# binding calls, chat): generous for people, short for a script.
WIDGET_IP_BUDGET = Budget(600, 60)
WIDGET_SHOP_BUDGET = Budget(3000, 5)
WIDGET_VISITOR_BUDGET = Budget(120, 60)


class MissingSettingError(RuntimeError):
    """A setting that production needs is not set."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(names)
        super().__init__(
            f"Missing required setting(s): {listed}. Set them in the environment"
            " (see README, 'Running in production'); only `revisit demo` has"
            " defaults."
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Revisit deployment."""

    database_url: str
    redis_url: str
    secret_key: str
    # Fernet keys, newest first: the first encrypts, all decrypt (key rotation).
    token_encryption_keys: tuple[str, ...]
    shopify_api_key: str
    shopify_api_secret: str
    app_url: str
    # Accepted alongside the current secret while a rotation rolls out.
    shopify_old_api_secret: str | None = None
    shopify_api_version: str = "2026-10"
    shopify_scopes: str = DEFAULT_SCOPES
    # Where https://{shop}/... is really sent; set only for the fake platform.
    shopify_base_url: str | None = None
    # How old an OAuth callback's timestamp may be, in seconds.
    oauth_timestamp_tolerance: int = 300
    reconcile_interval_minutes: int = 15
    # Where LINE and Messenger calls go; the demo and tests point them at fakes.
    line_api_base_url: str = "https://api.line.me"
    # LINE serves what users sent (images and other content) from its own host.
    line_data_base_url: str = "https://api-data.line.me"
    messenger_graph_base_url: str = "https://graph.facebook.com/v25.0"
    # LINE Login's pages (authorize, account link) and LINE's web links
    # (add friend, open a chat), and Messenger's m.me links.
    line_access_base_url: str = "https://access.line.me"
    line_web_base_url: str = "https://line.me"
    messenger_me_base_url: str = "https://m.me"
    # One Meta app serves every shop's Page: its secret signs the webhook
    # and its verify token answers the subscription check. Unset, the
    # Messenger webhook refuses everything.
    messenger_app_secret: str | None = None
    messenger_verify_token: str | None = None
    # Raw storefront events older than this are deleted (footprints stay).
    tracking_retention_days: int = 90
    # How long a drain that emptied Redis watches for more before it ends
    # (engine.tracking.drain); 0 ends at once.
    tracking_drain_linger_seconds: float = 2.0
    # The platforms' send limits per channel, requests per second (LINE push
    # 2,000 per channel; Messenger 300 per Page); we use 80 % of each.
    line_push_rate_limit: int = 2000
    messenger_send_rate_limit: int = 300
    # How late a due reminder must be before the minute's sweep, a recovery
    # path, wakes a worker for it rather than waiting for its own RQ job.
    reminder_sweep_grace_seconds: int = 30
    # GET /metrics answers only a request bearing this token; unset, 404.
    metrics_token: str | None = None
    # How many proxies in front of the app append to X-Forwarded-For; 0
    # trusts none and takes the client's address from the connection.
    trusted_proxies: int = 0
    # The widget API's budgets (engine.ratelimit); None lifts one of them.
    widget_rate_limits: bool = True
    widget_rate_limit_ip: Budget | None = WIDGET_IP_BUDGET
    widget_rate_limit_shop: Budget | None = WIDGET_SHOP_BUDGET
    widget_rate_limit_visitor: Budget | None = WIDGET_VISITOR_BUDGET
    demo: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment; raise if a required one is missing."""
        env = os.environ if environ is None else environ

        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise MissingSettingError(missing)

        return cls(
            database_url=normalize_database_url(env["DATABASE_URL"]),
            redis_url=env["REDIS_URL"],
            secret_key=env["SECRET_KEY"],
            token_encryption_keys=tuple(env["TOKEN_ENCRYPTION_KEY"].split(",")),
            shopify_api_key=env["SHOPIFY_API_KEY"],
            shopify_api_secret=env["SHOPIFY_API_SECRET"],
            shopify_old_api_secret=env.get("SHOPIFY_OLD_API_SECRET") or None,
            app_url=env["APP_URL"].rstrip("/"),
            shopify_api_version=env.get("SHOPIFY_API_VERSION", "2026-10"),
            shopify_scopes=env.get("SHOPIFY_SCOPES", DEFAULT_SCOPES),
            shopify_base_url=env.get("SHOPIFY_BASE_URL") or None,
            oauth_timestamp_tolerance=int(env.get("OAUTH_TIMESTAMP_TOLERANCE", 300)),
            reconcile_interval_minutes=int(env.get("RECONCILE_INTERVAL_MINUTES", 15)),
            line_api_base_url=env.get(
                "LINE_API_BASE_URL", "https://api.line.me"
            ).rstrip("/"),
            line_data_base_url=_base_url(env, "LINE_DATA_BASE_URL"),
            messenger_graph_base_url=env.get(
                "MESSENGER_GRAPH_BASE_URL", "https://graph.facebook.com/v25.0"
            ).rstrip("/"),
            line_access_base_url=_base_url(env, "LINE_ACCESS_BASE_URL"),
            line_web_base_url=_base_url(env, "LINE_WEB_BASE_URL"),
            messenger_me_base_url=_base_url(env, "MESSENGER_ME_BASE_URL"),
            messenger_app_secret=env.get("MESSENGER_APP_SECRET") or None,
            messenger_verify_token=env.get("MESSENGER_VERIFY_TOKEN") or None,
            tracking_retention_days=int(env.get("TRACKING_RETENTION_DAYS", 90)),
            tracking_drain_linger_seconds=float(
                env.get("TRACKING_DRAIN_LINGER_SECONDS", 2.0)
            ),
            line_push_rate_limit=int(env.get("LINE_PUSH_RATE_LIMIT", 2000)),
            messenger_send_rate_limit=int(env.get("MESSENGER_SEND_RATE_LIMIT", 300)),
            reminder_sweep_grace_seconds=int(
                env.get("REMINDER_SWEEP_GRACE_SECONDS", 30)
            ),
            metrics_token=env.get("METRICS_TOKEN") or None,
            trusted_proxies=int(env.get("TRUSTED_PROXIES", 0)),
            widget_rate_limits=env.get("WIDGET_RATE_LIMITS", "on") != "off",
            widget_rate_limit_ip=_budget(env, "WIDGET_RATE_LIMIT_IP", WIDGET_IP_BUDGET),
            widget_rate_limit_shop=_budget(
                env, "WIDGET_RATE_LIMIT_SHOP", WIDGET_SHOP_BUDGET
            ),
            widget_rate_limit_visitor=_budget(
                env, "WIDGET_RATE_LIMIT_VISITOR", WIDGET_VISITOR_BUDGET
            ),
            demo=env.get("REVISIT_DEMO") == "1",
        )

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced (tests and the demo)."""
        return replace(self, **changes)


_BASE_URL_DEFAULTS = {
    "LINE_DATA_BASE_URL": "https://api-data.line.me",
    "LINE_ACCESS_BASE_URL": "https://access.line.me",
    "LINE_WEB_BASE_URL": "https://line.me",
    "MESSENGER_ME_BASE_URL": "https://m.me",
}


def _base_url(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or _BASE_URL_DEFAULTS[name]).rstrip("/")


def _budget(env: Mapping[str, str], name: str, default: Budget) -> Budget | None:
    text = env.get(name)
    return Budget.parse(text) if text else default


def normalize_database_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at the psycopg 3 driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
