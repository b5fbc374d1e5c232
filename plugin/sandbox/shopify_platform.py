"""A fake Shopify: OAuth, token grants, the Admin GraphQL API and webhook sending.

``FakeShopifyPlatform`` keeps shops, checkouts, orders and tokens in memory and
serves them over HTTP at ``{base_url}/{shop_domain}/...``, the address our
``PlatformTransport`` maps ``https://{shop_domain}/...`` to. It enforces the
documented contract (CONTRACTS.md section A) so client code meets the same
refusals it would meet in production: signed callbacks, single-use codes,
rotating refresh tokens, 401 for dead tokens and the cost throttle.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import re
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, make_server

from plugin.sandbox.shopify_catalog import StoredProduct
from plugin.sandbox.shopify_graphql import execute_admin_query
from plugin.sandbox.shopify_http import (
    INVALID_TOKEN_ERROR,
    PATH_KINDS,
    Fault,
    PlatformCall,
    QuietRequestHandler,
    admin_host,
    build_wsgi_app,
    token_grant_type,
)
from plugin.sandbox.shopify_nodes import CostBucket, ShopRecord, StoredCheckout
from plugin.sandbox.shopify_rewards import StoredDiscount
from plugin.sandbox.shopify_tokens import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_TOKEN_EXCHANGE,
    AccessToken,
    TokenLedger,
    TokenRequestError,
    query_hmac,
)

__all__ = [
    "INVALID_TOKEN_ERROR",
    "FakeShopifyPlatform",
    "PlatformCall",
    "TokenRequestError",
    "load_payload",
]

logger = logging.getLogger(__name__)

PAYLOADS_DIR = Path(__file__).with_name("payloads")
DEFAULT_SCOPES = "read_customers,read_orders,read_products"

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]\.myshopify\.com$")


def load_payload(name: str) -> dict[str, Any]:
    """A fresh copy of a sample webhook payload, by file stem or topic.

    ``load_payload("orders_paid")`` and ``load_payload("orders/paid")`` both
    read ``payloads/orders_paid.json``.
    """
    stem = name.replace("/", "_").removesuffix(".json")
    return json.loads((PAYLOADS_DIR / f"{stem}.json").read_text(encoding="utf-8"))


class FakeShopifyPlatform:
    """An in-memory Shopify for one app, served over HTTP by a werkzeug thread.

    ``app_url``, when given, is the only allowed prefix for OAuth redirect URIs.
    The keyword options size the GraphQL cost bucket of every shop, the
    single-query cost cap, and how long an access token keeps working after its
    refresh token was used (Shopify does not document that grace period).

    Attributes tests may read or replace:
        now: the platform's clock (an aware-datetime callable). Replace it, or
            call ``advance_clock``, to age codes, tokens and the cost bucket.
        calls: every answered request as a ``PlatformCall``.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        app_url: str | None = None,
        *,
        maximum_available: float = 2000.0,
        restore_rate: float = 100.0,
        max_query_cost: int = 1000,
        rotated_token_grace: timedelta = timedelta(seconds=60),
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.app_url = app_url
        self.maximum_available = maximum_available
        self.restore_rate = restore_rate
        self.max_query_cost = max_query_cost
        self.now: Callable[[], datetime] = _wall_clock
        self.calls: list[PlatformCall] = []
        self.base_url: str | None = None

        self._lock = threading.RLock()
        self._clock_offset = timedelta()
        self._shops: dict[str, ShopRecord] = {}
        self._tokens = TokenLedger(api_key, api_secret, rotated_token_grace)
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._next_checkout_id = 35_000_000_001
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.wsgi_app = build_wsgi_app(self)

    def reset(self) -> None:
        """Forget every shop, token, fault, call and clock change; keep serving.

        Lets one served platform (say, a session-scoped test fixture) start each
        test empty.
        """
        with self._lock:
            self.now = _wall_clock
            self.calls.clear()
            self._clock_offset = timedelta()
            self._shops.clear()
            self._faults.clear()
            self._tokens = TokenLedger(
                self.api_key, self.api_secret, self._tokens.rotated_token_grace
            )

    # --- clock, counters and faults --------------------------------------------

    def current_time(self) -> datetime:
        """The platform's notion of now: ``now()`` plus any ``advance_clock``."""
        return self.now() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the platform's clock forward, e.g. past a token's expiry."""
        with self._lock:
            self._clock_offset += timedelta(seconds=seconds)

    @property
    def graphql_calls(self) -> int:
        """How many GraphQL requests were answered, whatever the outcome."""
        return self.count_calls("graphql")

    def count_calls(self, kind: str, grant_type: str | None = None) -> int:
        """Count answered requests of a kind, optionally of one token grant.

        ``count_calls("access_token", "refresh_token")`` is the number of refresh
        attempts; code grants are counted as ``"authorization_code"``.
        """
        with self._lock:
            return sum(
                1
                for call in self.calls
                if call.kind == kind
                and (grant_type is None or call.grant_type == grant_type)
            )

    def inject_faults(
        self,
        path_kind: str,
        faults: list[int | str],
        *,
        timeout_seconds: float = 6.0,
    ) -> None:
        """Make the next calls of a kind fail, one fault per call, in order.

        ``path_kind`` is ``"authorize"``, ``"access_token"`` or ``"graphql"``.
        A fault is an HTTP status (429 comes with ``Retry-After: 1``) or
        ``"timeout"``: the answer waits ``timeout_seconds`` and then is a 504,
        so a client that waits that long still sees a failure.
        """
        if path_kind not in PATH_KINDS:
            raise ValueError(
                f"Unknown path kind {path_kind!r}; use one of {PATH_KINDS}."
            )
        with self._lock:
            for fault in faults:
                if fault != "timeout" and not isinstance(fault, int):
                    raise ValueError(
                        f"A fault is an HTTP status or 'timeout': {fault!r}"
                    )
                self._faults[path_kind].append(Fault(fault, timeout_seconds))

    # --- shops and their data --------------------------------------------------

    def add_shop(
        self,
        shop_domain: str,
        name: str | None = None,
        currency: str = "TWD",
        timezone: str = "Asia/Taipei",
        scopes: str = DEFAULT_SCOPES,
        *,
        email: str | None = None,
        shop_id: int | None = None,
        installed: bool = True,
        primary_domain: str | None = None,
        domains: list[str] | None = None,
    ) -> None:
        """Create a shop, installed by default as a Shopify-managed install would be.

        ``scopes`` (comma-separated) are what the merchant granted the app; token
        exchange hands them out, and GraphQL checks ``read_orders`` against them.
        ``domains`` are hosts of its other domains (a market's, say).
        """
        if not _SHOP_DOMAIN.match(shop_domain):
            raise ValueError(f"{shop_domain!r} is not a *.myshopify.com domain.")
        with self._lock:
            self._shops[shop_domain] = ShopRecord(
                shop_domain=shop_domain,
                shop_id=shop_id or 60_000_000_000 + len(self._shops) + 1,
                name=name or shop_domain.split(".", 1)[0].replace("-", " ").title(),
                email=email or f"owner@{shop_domain.split('.', 1)[0]}.example.com",
                currency=currency,
                timezone=timezone,
                scopes=scopes,
                bucket=self._new_bucket(),
                installed=installed,
                primary_domain=primary_domain,
                domains=list(domains or []),
            )

    def set_domains(
        self, shop_domain: str, primary_domain: str | None, domains: list[str]
    ) -> None:
        """Change the store's primary domain and its other domains' hosts."""
        with self._lock:
            shop = self._shop(shop_domain)
            shop.primary_domain = primary_domain
            shop.domains = list(domains)

    def drain_bucket(self, shop_domain: str) -> None:
        """Empty a shop's cost bucket, as a burst of other apps' calls would."""
        with self._lock:
            bucket = self._shops[shop_domain].bucket
            bucket.restore(self.current_time())
            bucket.spend(bucket.currently_available)

    def add_abandoned_checkout(self, shop_domain: str, payload: dict) -> str:
        """Store a checkout in ``checkouts/*`` payload shape, keyed by ``token``.

        Adding the same token again replaces it, as a ``checkouts/update`` would.
        Returns the checkout's GraphQL id.
        """
        if not payload.get("token"):
            raise ValueError("A checkout payload needs its 'token'.")
        stored_payload = copy.deepcopy(payload)
        with self._lock:
            shop = self._shop(shop_domain)
            existing = shop.checkouts.get(stored_payload["token"])
            numeric_id = existing.numeric_id if existing else self._next_checkout_id
            if existing is None:
                self._next_checkout_id += 1
            self._fill_checkout_defaults(shop, stored_payload, numeric_id)
            shop.checkouts[stored_payload["token"]] = StoredCheckout(
                numeric_id, stored_payload
            )
        return f"gid://shopify/AbandonedCheckout/{numeric_id}"

    def add_order(self, shop_domain: str, payload: dict) -> str:
        """Store an order in ``orders/*`` payload shape, keyed by ``id``.

        Adding the same id again replaces it (``orders/updated``, ``orders/paid``).
        Returns the order's GraphQL id.
        """
        if payload.get("id") is None or not payload.get("created_at"):
            raise ValueError("An order payload needs 'id' and 'created_at'.")
        stored_payload = copy.deepcopy(payload)
        stored_payload.setdefault("updated_at", stored_payload["created_at"])
        with self._lock:
            self._shop(shop_domain).orders[int(stored_payload["id"])] = stored_payload
        return f"gid://shopify/Order/{stored_payload['id']}"

    def add_product(
        self,
        shop_domain: str,
        title: str,
        *,
        product_id: int | None = None,
        description: str = "",
        image_url: str | None = None,
        handle: str | None = None,
        variants: list[dict[str, Any]] | None = None,
    ) -> StoredProduct:
        """Put a product on sale; see ``shopify_catalog`` for the variant fields.

        Without ``variants`` the product has one untracked "Default Title"
        variant at 0.00. Adding an existing ``product_id`` replaces it.
        """
        with self._lock:
            return self._shop(shop_domain).catalog.add(
                title,
                product_id=product_id,
                description=description,
                image_url=image_url,
                handle=handle,
                variants=variants,
            )

    def set_inventory(
        self, shop_domain: str, variant_id: int, quantity: int | None
    ) -> None:
        """Set a variant's stock (None: not tracked, always for sale)."""
        with self._lock:
            found = self._shop(shop_domain).catalog.find_variant(variant_id)
            if found is None:
                raise KeyError(f"No variant {variant_id!r} in {shop_domain!r}.")
            found[1].inventory = quantity

    def remove_product(self, shop_domain: str, product_id: int) -> None:
        """Delete a product and its variants, as the merchant would."""
        with self._lock:
            self._shop(shop_domain).catalog.products.pop(product_id, None)

    def add_customer(
        self,
        shop_domain: str,
        customer_id: int,
        email: str | None = None,
        first_name: str | None = None,
    ) -> None:
        """Register a customer, whom store credit and codes can then name."""
        with self._lock:
            self._shop(shop_domain).rewards.customers[customer_id] = {
                "id": customer_id,
                "email": email,
                "first_name": first_name,
            }

    def store_credit_balance(
        self, shop_domain: str, customer_id: int, currency: str | None = None
    ) -> Decimal:
        """A customer's store credit balance (0 without an account)."""
        with self._lock:
            shop = self._shop(shop_domain)
            wanted = currency or shop.currency
            return sum(
                (
                    account.balance
                    for account in shop.rewards.accounts.values()
                    if account.customer_id == customer_id and account.currency == wanted
                ),
                Decimal(0),
            )

    def find_discount(self, shop_domain: str, code: str) -> StoredDiscount | None:
        """The shop's code discount with this code (any case), if any."""
        with self._lock:
            return self._shop(shop_domain).rewards.discount_by_code(code)

    def discounts(self, shop_domain: str) -> list[StoredDiscount]:
        """Every code discount of the shop, oldest first."""
        with self._lock:
            return list(self._shop(shop_domain).rewards.discounts.values())

    def install(self, shop_domain: str, scopes: str | None = None) -> None:
        """Reinstall the app on a shop, as a Shopify-managed install would."""
        with self._lock:
            shop = self._shop(shop_domain)
            shop.installed = True
            if scopes is not None:
                shop.scopes = scopes

    def uninstall(self, shop_domain: str) -> None:
        """Uninstall the app: every token and pending code of the shop dies."""
        with self._lock:
            self._shop(shop_domain).installed = False
            revoked = self._tokens.revoke_shop(shop_domain)
        logger.info(
            "sandbox.shopify.app_uninstalled",
            extra={"shop_domain": shop_domain, "tokens_revoked": revoked},
        )

    def issue_access_token(self, shop_domain: str, *, expiring: bool = True) -> dict:
        """Mint an offline token without the HTTP dance; returns Shopify's JSON."""
        with self._lock:
            shop = self._installed_shop(shop_domain)
            now = self.current_time()
            record = self._tokens.issue_offline(
                shop.shop_domain, shop.scopes, expiring, now
            )
            return record.response(now)

    # --- signing helpers -------------------------------------------------------

    def session_token(
        self,
        shop_domain: str,
        user_id: int = 1,
        exp_in: int = 60,
        **overrides: Any,
    ) -> str:
        """A session token as App Bridge issues it; ``overrides`` replace claims.

        An override of ``None`` removes that claim, to test missing claims.
        """
        return self._tokens.session_token(
            shop_domain, user_id, exp_in, self.current_time(), **overrides
        )

    def sign_query(self, params: dict[str, Any]) -> dict[str, str]:
        """Return ``params`` with the ``hmac`` Shopify adds to admin redirects."""
        signed = {key: str(value) for key, value in params.items() if key != "hmac"}
        signed["hmac"] = query_hmac(signed, self.api_secret)
        return signed

    def webhook_headers(
        self,
        topic: str,
        shop_domain: str,
        body: bytes,
        webhook_id: str | None = None,
        event_id: str | None = None,
        triggered_at: str | None = None,
        api_version: str = "2026-10",
    ) -> dict[str, str]:
        """The headers Shopify sends with a webhook whose raw body is ``body``."""
        digest = hmac.new(self.api_secret.encode(), body, hashlib.sha256).digest()
        moment = triggered_at or self.current_time().astimezone(UTC).isoformat(
            timespec="microseconds"
        ).replace("+00:00", "Z")
        return {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop_domain,
            "X-Shopify-API-Version": api_version,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": moment,
        }

    def deliver_webhook(
        self,
        url: str,
        topic: str,
        shop_domain: str,
        payload: dict | bytes,
        **header_overrides: str | None,
    ) -> int:
        """POST a webhook to our app as Shopify would; returns the HTTP status.

        ``webhook_id``, ``event_id``, ``triggered_at`` and ``api_version`` go to
        ``webhook_headers``. Any other keyword is a literal header to replace
        (``**{"X-Shopify-Hmac-Sha256": "forged"}``); ``None`` removes it.
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        known = ("webhook_id", "event_id", "triggered_at", "api_version")
        options = {
            key: header_overrides.pop(key) for key in known if key in header_overrides
        }
        headers = self.webhook_headers(topic, shop_domain, body, **options)
        for name, value in header_overrides.items():
            headers.pop(name, None)
            if value is not None:
                headers[name] = value

        # Shopify gives the app 5 seconds for the whole delivery.
        response = httpx.post(url, content=body, headers=headers, timeout=5.0)
        logger.info(
            "sandbox.shopify.webhook_delivered",
            extra={
                "topic": topic,
                "shop_domain": shop_domain,
                "status": response.status_code,
            },
        )
        return response.status_code

    # --- serving ---------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving in a daemon thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError(f"The platform is already serving at {self.base_url}.")
        self._server = make_server(
            host,
            port,
            self.wsgi_app,
            threaded=True,
            request_handler=QuietRequestHandler,
        )
        # A short poll interval keeps shutdown() from stalling a test for 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-shopify",
            daemon=True,
        )
        self._thread.start()
        self.base_url = f"http://{host}:{self._server.server_port}"
        logger.info("sandbox.shopify.serving", extra={"base_url": self.base_url})
        return self.base_url

    def shutdown(self) -> None:
        """Stop the server thread started by ``serve``."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        self.base_url = None

    # --- operations behind the HTTP routes (see shopify_http) ----------------

    def find_shop(self, shop_domain: str) -> ShopRecord | None:
        """The shop's record, or ``None`` if the platform has no such shop."""
        with self._lock:
            return self._shops.get(shop_domain)

    def authorization_problem(self, params: Mapping[str, str]) -> str | None:
        """Why Shopify would refuse this authorize request, or ``None``."""
        if params.get("client_id") != self.api_key:
            return "The client_id is not the id of any app."
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return "The redirect_uri is missing."
        allowed_prefix = (self.app_url or "").rstrip("/") + "/"
        if self.app_url and not redirect_uri.startswith(allowed_prefix):
            return "The redirect_uri is not whitelisted for this app."
        return None

    def authorize(self, shop_domain: str, params: Mapping[str, str]) -> dict[str, str]:
        """The merchant pressed Install: issue a code; returns the signed callback."""
        online = params.get("grant_options[]") == "per-user"
        now = self.current_time()
        with self._lock:
            shop = self._shop(shop_domain)
            shop.installed = True
            shop.scopes = params.get("scope") or shop.scopes
            code = self._tokens.issue_code(
                shop_domain, shop.scopes, online, int(params.get("user_id", 1)), now
            )

        callback = {
            "code": code,
            "host": admin_host(shop_domain),
            "shop": shop_domain,
            "timestamp": str(int(now.timestamp())),
        }
        if params.get("state") is not None:
            callback["state"] = params["state"]
        logger.info(
            "sandbox.shopify.app_authorized",
            extra={"shop_domain": shop_domain, "online": online},
        )
        return self.sign_query(callback)

    def grant_token(self, shop_domain: str, params: dict[str, str]) -> dict[str, Any]:
        """Answer a token request; raises ``TokenRequestError`` when refused."""
        grant_type = token_grant_type(params)
        now = self.current_time()
        try:
            with self._lock:
                record = self._grant(self._shop(shop_domain), grant_type, params, now)
                body = record.response(now)
        except TokenRequestError as refusal:
            logger.info(
                "sandbox.shopify.token_refused",
                extra={
                    "shop_domain": shop_domain,
                    "grant_type": grant_type,
                    "error": refusal.error,
                },
            )
            raise

        logger.info(
            "sandbox.shopify.token_issued",
            extra={
                "shop_domain": shop_domain,
                "grant_type": grant_type,
                "expiring": "refresh_token" in body,
            },
        )
        return body

    def token_scopes(
        self, shop_domain: str, access_token: str
    ) -> frozenset[str] | None:
        """The scopes of a live access token for the shop, or ``None``."""
        with self._lock:
            record = self._tokens.find(access_token, shop_domain, self.current_time())
        return frozenset(record.scope.split(",")) if record else None

    def run_graphql(
        self, shop_domain: str, scopes: frozenset[str], body: dict[str, Any]
    ) -> dict[str, Any]:
        """Execute an Admin GraphQL request body under the shop's cost throttle."""
        with self._lock:
            return execute_admin_query(
                self._shop(shop_domain),
                body,
                scopes,
                self.current_time(),
                self.max_query_cost,
            )

    def take_fault(self, path_kind: str) -> Fault | None:
        """The next injected fault for a kind of call, if any is queued."""
        with self._lock:
            queue = self._faults[path_kind]
            return queue.popleft() if queue else None

    def record_call(self, call: PlatformCall) -> None:
        """Append an answered request to ``calls``."""
        with self._lock:
            self.calls.append(call)

    # --- internals -------------------------------------------------------------

    def _grant(
        self,
        shop: ShopRecord,
        grant_type: str,
        params: dict[str, str],
        now: datetime,
    ) -> AccessToken:
        self._tokens.check_client(params)
        if not shop.installed:
            raise TokenRequestError(
                400,
                "invalid_request",
                f"The app is not installed on {shop.shop_domain}.",
            )

        if grant_type == GRANT_AUTHORIZATION_CODE:
            return self._tokens.redeem_code(params, shop.shop_domain, now)
        if grant_type == GRANT_TOKEN_EXCHANGE:
            return self._tokens.exchange_session_token(
                params, shop.shop_domain, shop.scopes, now
            )
        if grant_type == GRANT_REFRESH_TOKEN:
            return self._tokens.refresh(params, shop.shop_domain, now)
        raise TokenRequestError(
            400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}."
        )

    def _new_bucket(self) -> CostBucket:
        return CostBucket(
            maximum_available=self.maximum_available,
            restore_rate=self.restore_rate,
            currently_available=self.maximum_available,
            refreshed_at=self.current_time(),
        )

    def _shop(self, shop_domain: str) -> ShopRecord:
        shop = self._shops.get(shop_domain)
        if shop is None:
            raise KeyError(f"No shop {shop_domain!r}; call add_shop first.")
        return shop

    def _installed_shop(self, shop_domain: str) -> ShopRecord:
        shop = self._shop(shop_domain)
        if not shop.installed:
            raise ValueError(f"The app is not installed on {shop_domain!r}.")
        return shop

    def _fill_checkout_defaults(
        self, shop: ShopRecord, payload: dict, numeric_id: int
    ) -> None:
        now = self.current_time().isoformat(timespec="seconds")
        payload.setdefault("created_at", now)
        payload.setdefault("updated_at", payload["created_at"])

        token = payload["token"]
        key = hashlib.sha256(token.encode()).hexdigest()[:32]
        payload.setdefault(
            "abandoned_checkout_url",
            f"https://{shop.shop_domain}/{shop.shop_id}/checkouts/{token}"
            f"/recover?key={key}",
        )
        # Payloads lost the numeric id in 2026-04; only the Admin API still has
        # it, and REST checkouts were named after it ("#<id>").
        payload.setdefault("name", f"#{numeric_id}")


def _wall_clock() -> datetime:
    return datetime.now(UTC)
