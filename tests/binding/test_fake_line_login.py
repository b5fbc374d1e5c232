"""The fake LINE Login keeps LINE's contract: codes, secrets, ID tokens, nonces."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from plugin.sandbox.line_platform import FakeLinePlatform
from tests.binding.conftest import consent_through_line

LOGIN = "2000000099"
SECRET = "login-channel-secret-0123456789abcdef012"
REDIRECT = "https://app.example/callback"
USER = "U" + "c" * 32


@pytest.fixture
def login(line_fake: FakeLinePlatform) -> Iterator[FakeLinePlatform]:
    line_fake.reset()
    line_fake.add_channel("2000000001", "token-0123456789", "secret-0123456789")
    line_fake.add_login_channel(LOGIN, SECRET, "2000000001")
    yield line_fake
    line_fake.reset()


def _code(fake: FakeLinePlatform, nonce: str = "nonce-1") -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": LOGIN,
            "redirect_uri": REDIRECT,
            "state": "state-1",
            "scope": "profile openid",
            "nonce": nonce,
        }
    )
    url = consent_through_line(f"{fake.base_url}/oauth2/v2.1/authorize?{query}", USER)
    return parse_qs(urlsplit(url).query)["code"][0]


def _token(fake: FakeLinePlatform, code: str, secret: str = SECRET) -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/oauth2/v2.1/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": LOGIN,
            "client_secret": secret,
        },
    )


def test_fake_login_code_works_once(login: FakeLinePlatform) -> None:
    # given a code from the consent screen
    code = _code(login)

    # when it is exchanged twice
    first, second = _token(login, code), _token(login, code)

    # then only the first gets tokens
    assert first.status_code == 200
    assert set(first.json()) >= {"access_token", "id_token", "expires_in"}
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")


def test_fake_login_refuses_a_wrong_client_secret(login: FakeLinePlatform) -> None:
    # given a code, when it is exchanged with another secret
    answer = _token(login, _code(login), secret="wrong")

    # then LINE's invalid_client answer comes back
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_fake_verify_checks_the_nonce_and_the_audience(login: FakeLinePlatform) -> None:
    # given an ID token issued for nonce-1
    id_token = _token(login, _code(login)).json()["id_token"]

    def verify(**form: str) -> httpx.Response:
        return httpx.post(f"{login.base_url}/oauth2/v2.1/verify", data=form)

    # when it is verified with the right nonce, another nonce, another client
    good = verify(id_token=id_token, client_id=LOGIN, nonce="nonce-1")
    other_nonce = verify(id_token=id_token, client_id=LOGIN, nonce="nonce-2")
    login.add_login_channel("2000000100", SECRET, "2000000001")
    other_client = verify(id_token=id_token, client_id="2000000100")

    # then only the first verifies, and names the user
    assert (good.status_code, good.json()["sub"]) == (200, USER)
    assert other_nonce.json()["error_description"] == "Invalid IdToken Nonce."
    assert other_client.json()["error_description"] == "Invalid IdToken Audience."


def test_fake_authorize_refuses_a_request_without_openid(
    login: FakeLinePlatform,
) -> None:
    # given an authorize request asking only for the profile
    query = urlencode(
        {
            "response_type": "code",
            "client_id": LOGIN,
            "redirect_uri": REDIRECT,
            "state": "s",
            "scope": "profile",
        }
    )

    # when it is opened
    page = httpx.get(f"{login.base_url}/oauth2/v2.1/authorize?{query}")

    # then LINE refuses it plainly
    assert page.status_code == 400
    assert "scope must include openid" in page.text
