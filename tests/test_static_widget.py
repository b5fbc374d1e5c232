"""The built widget's files: immutable when hashed, loadable cross-origin."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from plugin import static_widget


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "messages-AB12CD34.js").write_text("export function mount(){}")
    (tmp_path / "manifest.json").write_text(
        '{"entries": {"messages": "messages-AB12CD34"}}'
    )
    monkeypatch.setattr(static_widget, "WIDGET_DIR", tmp_path)
    monkeypatch.setattr(static_widget, "_entries", {})
    return tmp_path


def test_hashed_chunk_is_cached_for_good_and_open_to_every_origin(
    client: FlaskClient, built: Path
) -> None:
    # when a storefront imports a chunk
    response = client.get(
        "/static/widget/messages-AB12CD34.js",
        headers={"Origin": "https://pets.myshopify.com"},
    )

    # then it is JavaScript, cacheable for a year, readable from any origin
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_data(as_text=True) == "export function mount(){}"


def test_unhashed_file_is_revalidated(client: FlaskClient, built: Path) -> None:
    # when the manifest is fetched
    response = client.get("/static/widget/manifest.json")

    # then it may be cached only if checked again
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


def test_missing_file_answers_404_naming_it(client: FlaskClient, built: Path) -> None:
    # when a chunk that is not in the build is asked for
    response = client.get(
        "/static/widget/chat-ZZZZZZZZ.js", headers={"Accept": "application/json"}
    )

    # then the answer is a 404 in the one error shape, saying how to build
    assert response.status_code == 404
    assert response.get_json() == {
        "code": "widget_file_not_found",
        "detail": "There is no widget file 'chat-ZZZZZZZZ.js'; build the widget"
        " with `node widget/build.mjs`.",
    }


def test_file_outside_the_build_is_not_served(client: FlaskClient, built: Path) -> None:
    # given a file beside the build directory
    (built.parent / "secret.txt").write_text("not for storefronts")

    # when a path climbs out of the build
    response = client.get("/static/widget/..%2Fsecret.txt")

    # then nothing is served
    assert response.status_code == 404
    assert b"not for storefronts" not in response.get_data()


def test_name_too_long_for_the_file_system_is_404(
    client: FlaskClient, built: Path
) -> None:
    # when a name longer than any file system takes is asked for
    response = client.get("/static/widget/" + "y" * 5000 + ".js")

    # then it is simply not a file of the build
    assert response.status_code == 404


def test_entry_chunks_name_the_built_files_the_loader_imports(built: Path) -> None:
    # when / then
    assert static_widget.entry_chunks() == {"messages": "messages-AB12CD34"}


def test_entry_chunks_are_empty_until_the_widget_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a folder with no build in it
    monkeypatch.setattr(static_widget, "WIDGET_DIR", tmp_path)
    monkeypatch.setattr(static_widget, "_entries", {})

    # when / then
    assert static_widget.entry_chunks() == {}
