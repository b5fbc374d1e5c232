"""A production start without a required setting stops and names it; the demo
supplies its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from engine.settings import REQUIRED, MissingSettingError, Settings
from plugin import cli, create_app
from plugin.demo import _environment

# What a production process needs, spelled out here so that dropping a name
# from engine.settings.REQUIRED fails a test rather than passing silently.
PRODUCTION_SETTINGS = {
    "DATABASE_URL": "postgresql://revisit@db.example.com/revisit",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "SECRET_KEY": "production-secret-key-0123456789",
    "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "SHOPIFY_API_KEY": "production-client-id",
    "SHOPIFY_API_SECRET": "production-client-secret-0123456789",
    "APP_URL": "https://revisit.example.com",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process environment holding none of the required settings."""
    for name in PRODUCTION_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REVISIT_DEMO", raising=False)


def without(name: str, **changes: str) -> dict[str, str]:
    settings = {**PRODUCTION_SETTINGS, **changes}
    del settings[name]
    return settings


def test_required_settings_are_the_production_ones() -> None:
    assert set(REQUIRED) == set(PRODUCTION_SETTINGS)


def test_settings_from_env_reads_a_complete_production_environment() -> None:
    # when
    settings = Settings.from_env(PRODUCTION_SETTINGS)

    # then
    assert (
        settings.database_url == "postgresql+psycopg://revisit@db.example.com/revisit"
    )
    assert settings.secret_key == PRODUCTION_SETTINGS["SECRET_KEY"]
    assert settings.app_url == "https://revisit.example.com"
    assert settings.demo is False


@pytest.mark.parametrize("name", sorted(PRODUCTION_SETTINGS))
def test_settings_from_env_without_a_required_setting_names_it(name: str) -> None:
    # when
    with pytest.raises(MissingSettingError) as missing:
        Settings.from_env(without(name))

    # then
    assert missing.value.names == [name]
    assert f"Missing required setting(s): {name}." in str(missing.value)


@pytest.mark.parametrize("name", sorted(PRODUCTION_SETTINGS))
def test_settings_from_env_takes_an_empty_value_as_missing(name: str) -> None:
    with pytest.raises(MissingSettingError) as missing:
        Settings.from_env({**PRODUCTION_SETTINGS, name: ""})

    assert missing.value.names == [name]


def test_settings_from_env_with_nothing_set_names_every_required_setting() -> None:
    with pytest.raises(MissingSettingError) as missing:
        Settings.from_env({})

    assert missing.value.names == list(REQUIRED)
    for name in REQUIRED:
        assert name in str(missing.value)


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize("name", sorted(PRODUCTION_SETTINGS))
def test_create_app_without_a_required_setting_names_it(name: str) -> None:
    with pytest.raises(MissingSettingError) as missing:
        create_app(without(name))

    assert missing.value.names == [name]


@pytest.mark.usefixtures("environment")
def test_revisit_serve_without_a_secret_stops_with_its_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a production environment lacking SECRET_KEY; the command must
    # stop before it would replace this process with gunicorn
    for name, value in without("SECRET_KEY").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.logs, "configure", lambda level: None)
    monkeypatch.setattr(cli.os, "execvp", _never_exec)
    monkeypatch.setattr("sys.argv", ["revisit", "serve"])

    # when
    with pytest.raises(SystemExit) as stopped:
        cli.main()

    # then
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("revisit: Missing required setting(s): SECRET_KEY.")
    assert PRODUCTION_SETTINGS["SHOPIFY_API_SECRET"] not in error


@pytest.mark.usefixtures("environment")
def test_demo_supplies_every_required_setting(tmp_path: Path) -> None:
    # when the demo builds its environment on a machine with none set
    demo = _environment(
        tmp_path,
        "redis://127.0.0.1:6390/0",
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8000",
        "demo-api-secret",
    )
    settings = Settings.from_env(demo)

    # then it starts, as the demo, with a secret of its own kept for restarts
    assert settings.demo is True
    assert set(REQUIRED) <= set(demo)
    assert settings.database_url.startswith("sqlite:///")
    assert (tmp_path / "secret-key").read_text() == settings.secret_key
    again = _environment(tmp_path, "redis://x", "http://x", "http://x", "s")
    assert again["SECRET_KEY"] == demo["SECRET_KEY"]
    assert again["TOKEN_ENCRYPTION_KEY"] == demo["TOKEN_ENCRYPTION_KEY"]


@pytest.mark.usefixtures("environment")
def test_demo_secrets_are_made_per_machine_not_built_in(tmp_path: Path) -> None:
    # when two demo data directories are set up
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    first = _environment(first_dir, "redis://x", "http://x", "http://x", "s")
    second = _environment(second_dir, "redis://x", "http://x", "http://x", "s")

    # then each has its own secret key and token key
    assert first["SECRET_KEY"] != second["SECRET_KEY"]
    assert first["TOKEN_ENCRYPTION_KEY"] != second["TOKEN_ENCRYPTION_KEY"]


def _never_exec(*args: object) -> None:
    raise AssertionError("revisit serve started gunicorn without its settings")
