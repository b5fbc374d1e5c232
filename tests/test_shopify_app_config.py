"""Static checks on the Shopify app configuration and the theme app extension.

`shopify app deploy` is the first place a mistake in these files would otherwise
show up, and by then it is a broken app version. These tests catch the rules we
can check offline (CONTRACTS A2/A3).
"""

import gzip
import json
import re
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_TOML = REPO_ROOT / "shopify.app.toml"
EXTENSION_DIR = REPO_ROOT / "extensions" / "revisit-widget"
EMBED_BLOCK = EXTENSION_DIR / "blocks" / "revisit-embed.liquid"
LOADER = EXTENSION_DIR / "assets" / "revisit-loader.js"
LOCALES = EXTENSION_DIR / "locales"

WEBHOOK_PATH = "/webhooks/shopify"
COMPLIANCE_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}
EVENT_TOPICS = {
    "app/uninstalled",
    "carts/create",
    "carts/update",
    "checkouts/create",
    "checkouts/update",
    "orders/cancelled",
    "orders/create",
    "orders/paid",
}
EXPECTED_SCOPES = {
    "read_customers",
    "read_orders",
    "read_products",
    "read_store_credit_accounts",
    "write_app_proxy",
    "write_discounts",
    "write_store_credit_account_transactions",
}
# Theme-check's AssetSizeAppBlockJavaScript limit, measured compressed.
LOADER_GZIP_LIMIT_BYTES = 10_000
# The theme editor truncates longer block names; theme-check ValidSchemaName.
SCHEMA_NAME_LIMIT = 25

_SCHEMA_TAG = re.compile(
    r"{%-?\s*schema\s*-?%}(?P<body>.*?){%-?\s*endschema\s*-?%}", re.DOTALL
)
_RESERVED_SUBPATHS = {"admin", "services", "password", "login"}
_SUBPATH_CHARS = re.compile(r"[A-Za-z0-9_-]{1,30}")


def _load_toml(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _embed_schema() -> dict:
    match = _SCHEMA_TAG.search(EMBED_BLOCK.read_text(encoding="utf-8"))
    assert match is not None, "the embed block has no {% schema %} tag"
    return json.loads(match.group("body"))


def _subscribed_uris(app_config: dict) -> dict[str, set[str]]:
    """Map every webhook topic, ordinary or compliance, to the uris it goes to."""
    uris: dict[str, set[str]] = {}
    for subscription in app_config["webhooks"].get("subscriptions", []):
        topics = subscription.get("topics", []) + subscription.get(
            "compliance_topics", []
        )
        for topic in topics:
            uris.setdefault(topic, set()).add(subscription["uri"])
    return uris


def _translation_keys(value: object) -> set[str]:
    """Every "t:..." reference anywhere in a schema, without the prefix."""
    if isinstance(value, str):
        return {value.removeprefix("t:")} if value.startswith("t:") else set()
    if isinstance(value, dict):
        return set().union(*(_translation_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_translation_keys(item) for item in value))
    return set()


def _lookup(translations: dict, dotted_key: str) -> object:
    node: object = translations
    for part in dotted_key.split("."):
        assert isinstance(node, dict) and part in node, f"missing {dotted_key}"
        node = node[part]
    return node


def _leaf_paths(tree: dict, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            paths |= _leaf_paths(value, f"{path}.")
        else:
            paths.add(path)
    return paths


def is_valid_proxy_subpath(subpath: str) -> bool:
    """Shopify's app proxy subpath rule, CONTRACTS A3."""
    return (
        _SUBPATH_CHARS.fullmatch(subpath) is not None
        and subpath.lower() not in _RESERVED_SUBPATHS
    )


@pytest.fixture(scope="module")
def app_config() -> dict:
    return _load_toml(APP_TOML)


def test_app_config_is_embedded_revisit_app(app_config):
    assert app_config["name"] == "Revisit"
    assert app_config["embedded"] is True
    assert app_config["application_url"] == "https://revisit.example.com"


def test_app_config_application_url_has_no_trailing_slash(app_config):
    # given the CLI appends relative webhook uris to application_url verbatim
    # then a trailing slash here would register "//webhooks/shopify"
    assert not app_config["application_url"].endswith("/")


def test_access_scopes_are_exactly_the_product_needs(app_config):
    # when
    scopes = {s.strip() for s in app_config["access_scopes"]["scopes"].split(",")}

    # then
    assert scopes == EXPECTED_SCOPES
    assert {"read_orders", "read_customers", "write_discounts"} <= scopes


def test_access_scopes_use_shopify_managed_install(app_config):
    assert app_config["access_scopes"]["use_legacy_install_flow"] is False


def test_auth_redirect_urls_are_the_code_grant_callback(app_config):
    assert app_config["auth"]["redirect_urls"] == [
        "https://revisit.example.com/auth/callback"
    ]


def test_webhooks_use_api_version_2026_10(app_config):
    assert app_config["webhooks"]["api_version"] == "2026-10"


def test_webhooks_send_every_required_topic_to_the_shared_path(app_config):
    # when
    uris = _subscribed_uris(app_config)

    # then
    assert set(uris) == EVENT_TOPICS | COMPLIANCE_TOPICS
    assert len(uris) == 11
    for topic, topic_uris in uris.items():
        assert topic_uris == {WEBHOOK_PATH}, topic


def test_webhooks_list_privacy_topics_as_compliance_topics(app_config):
    # given Shopify accepts the privacy topics only under compliance_topics
    subscriptions = app_config["webhooks"]["subscriptions"]

    # when
    declared = [s.get("compliance_topics", []) for s in subscriptions]
    ordinary = [t for s in subscriptions for t in s.get("topics", [])]

    # then
    assert sorted(t for topics in declared for t in topics) == sorted(COMPLIANCE_TOPICS)
    assert COMPLIANCE_TOPICS.isdisjoint(ordinary)


def test_app_proxy_is_apps_revisit_to_proxy_route(app_config):
    assert app_config["app_proxy"] == {
        "url": "https://revisit.example.com/proxy",
        "subpath": "revisit",
        "prefix": "apps",
    }


def test_app_proxy_subpath_obeys_shopify_rule(app_config):
    assert is_valid_proxy_subpath(app_config["app_proxy"]["subpath"]) is True


@pytest.mark.parametrize(
    ("subpath", "expected"),
    [
        ("revisit", True),
        ("re_visit-2", True),
        ("a" * 30, True),
        ("a" * 31, False),
        ("", False),
        ("re/visit", False),
        ("re visit", False),
        ("admin", False),
        ("Login", False),
        ("services", False),
        ("password", False),
    ],
)
def test_proxy_subpath_rule_accepts_and_rejects(subpath, expected):
    assert is_valid_proxy_subpath(subpath) is expected


def test_pos_is_not_embedded(app_config):
    assert app_config["pos"] == {"embedded": False}


def test_extension_toml_declares_theme_extension():
    # when
    extension = _load_toml(EXTENSION_DIR / "shopify.extension.toml")

    # then
    assert extension["type"] == "theme"
    assert extension["handle"] == "revisit-widget"
    assert extension["name"] == "Revisit widget"


def test_embed_schema_targets_body_with_expected_settings():
    # when
    schema = _embed_schema()

    # then
    assert schema["target"] == "body"
    settings = {setting["id"]: setting for setting in schema["settings"]}
    assert list(settings) == ["app_url", "widget_key", "position"]
    assert settings["app_url"]["type"] == "text"
    assert settings["app_url"]["default"] == "https://revisit.example.com"
    assert settings["widget_key"]["type"] == "text"
    assert settings["position"]["type"] == "select"
    assert [o["value"] for o in settings["position"]["options"]] == [
        "bottom-right",
        "bottom-left",
    ]
    assert settings["position"]["default"] == "bottom-right"


def test_embed_block_loads_loader_deferred_after_config():
    # given
    liquid = EMBED_BLOCK.read_text(encoding="utf-8")
    loader_tag = "<script src=\"{{ 'revisit-loader.js' | asset_url }}\" defer></script>"
    config_tag = '<script type="application/json" id="revisit-config">'

    # then
    assert loader_tag in liquid
    assert config_tag in liquid
    assert liquid.index(config_tag) < liquid.index(loader_tag)


@pytest.mark.parametrize("locale", ["en.default.schema.json", "zh-TW.schema.json"])
def test_embed_schema_translation_keys_resolve(locale):
    # given
    translations = json.loads((LOCALES / locale).read_text(encoding="utf-8"))
    schema = _embed_schema()

    # when
    keys = _translation_keys(schema)

    # then
    assert "blocks.revisit_embed.name" in keys
    for key in keys:
        value = _lookup(translations, key)
        assert isinstance(value, str) and value.strip(), key
    name = _lookup(translations, "blocks.revisit_embed.name")
    assert len(name) <= SCHEMA_NAME_LIMIT


def test_embed_storefront_translation_keys_resolve():
    # given
    liquid = EMBED_BLOCK.read_text(encoding="utf-8")
    used = set(re.findall(r"'([a-z_.]+)'\s*\|\s*t\b", liquid))

    # when
    english = json.loads((LOCALES / "en.default.json").read_text(encoding="utf-8"))

    # then
    assert used == {"revisit.widget.open", "revisit.widget.close"}
    for key in used:
        assert isinstance(_lookup(english, key), str)


@pytest.mark.parametrize(
    ("default", "translated"),
    [
        ("en.default.schema.json", "zh-TW.schema.json"),
        ("en.default.json", "zh-TW.json"),
    ],
)
def test_locales_traditional_chinese_matches_english_keys(default, translated):
    english = json.loads((LOCALES / default).read_text(encoding="utf-8"))
    chinese = json.loads((LOCALES / translated).read_text(encoding="utf-8"))

    assert _leaf_paths(chinese) == _leaf_paths(english)


def test_loader_asset_is_under_theme_check_gzip_limit():
    # given
    assert LOADER.is_file()

    # when
    compressed = gzip.compress(LOADER.read_bytes())

    # then
    assert len(compressed) < LOADER_GZIP_LIMIT_BYTES
