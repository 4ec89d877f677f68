"""Attacks on the cookie route ``/harta-session/{set,clear}``
(:class:`geo.websessions.SessionRoute`), driven as the ASGI server drives it, against a real
database."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import create_engine

from geo import accounts, websessions

pytestmark = pytest.mark.db

SAME_ORIGIN = [(b"sec-fetch-site", b"same-origin")]


class _Inner:
    """The wrapped app: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"streamlit"})


def _get(route, path, query=b"", headers=(), scheme="http", method="GET"):  # noqa: ANN001
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": list(headers),
        "scheme": scheme,
    }
    sent: list[dict] = []

    async def receive():  # noqa: ANN202
        return {"type": "http.request", "body": b""}

    async def send(message):  # noqa: ANN001, ANN202
        sent.append(message)

    anyio.run(route, scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def ana(engine):
    return accounts.create_user(engine, "ana", "correct-horse-battery", "police")


@pytest.fixture
def route(engine):
    inner = _Inner()
    return websessions.SessionRoute(inner, engine=engine), inner


def _set(route, nonce, **kw):  # noqa: ANN001
    return _get(route, websessions.SET_PATH, f"n={nonce}".encode(), **kw)


def test_the_set_route_stores_the_token_in_a_strict_httponly_cookie(engine, ana, route):
    issued = websessions.issue(engine, ana.id)
    status, headers, body = _set(route[0], issued.nonce, headers=SAME_ORIGIN)
    assert status == 200 and body.startswith(b"GIF89a")
    cookie = headers["set-cookie"]
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == f"harta_session={issued.token}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"} <= set(parts)
    assert "Secure" not in parts  # plain http (localhost): a Secure cookie would never return
    assert headers["cache-control"] == "no-store"
    assert route[1].paths == []  # never reaches Streamlit


def test_over_https_the_cookie_is_secure(engine, ana, route):
    for scheme, extra in (("https", []), ("http", [(b"x-forwarded-proto", b"https")])):
        issued = websessions.issue(engine, ana.id)
        _, headers, _ = _set(route[0], issued.nonce, headers=SAME_ORIGIN + extra, scheme=scheme)
        assert "; Secure" in headers["set-cookie"]


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"sec-fetch-site", b"cross-site")],
        [(b"sec-fetch-site", b"same-site")],
        [(b"sec-fetch-site", b"none")],
    ],  # fmt: skip
    ids=["no-fetch-metadata", "cross-site", "same-site", "typed-in-address"],
)
def test_another_site_cannot_plant_a_session(engine, ana, route, headers):
    """Login CSRF: an attacker's own nonce, loaded from their page in a victim's browser."""
    issued = websessions.issue(engine, ana.id)
    status, answer, _ = _set(route[0], issued.nonce, headers=headers)
    assert status == 403 and "set-cookie" not in answer
    # Refused before the database: the nonce is not even spent.
    assert websessions.redeem_nonce(engine, issued.nonce) == issued.token


def test_a_replayed_or_unknown_nonce_sets_no_cookie(engine, ana, route):
    issued = websessions.issue(engine, ana.id)
    assert _set(route[0], issued.nonce, headers=SAME_ORIGIN)[0] == 200
    for nonce in (issued.nonce, "A" * 43, "", "x%00y"):
        status, headers, _ = _set(route[0], nonce, headers=SAME_ORIGIN)
        assert status == 404 and "set-cookie" not in headers, nonce


def test_only_get_is_answered(engine, ana, route):
    issued = websessions.issue(engine, ana.id)
    status, headers, _ = _set(route[0], issued.nonce, headers=SAME_ORIGIN, method="POST")
    assert status == 403 and "set-cookie" not in headers


def test_clear_expires_the_cookie_and_revokes_its_session(engine, ana, route):
    issued = websessions.issue(engine, ana.id)
    cookie = [(b"cookie", f"other=1; harta_session={issued.token}".encode())]
    status, headers, _ = _get(route[0], websessions.CLEAR_PATH, headers=SAME_ORIGIN + cookie)
    assert status == 200
    parts = [p.strip() for p in headers["set-cookie"].split(";")]
    assert parts[0] == "harta_session=" and "Max-Age=0" in parts and "HttpOnly" in parts
    assert websessions.resume(engine, issued.token) is None


def test_another_site_cannot_sign_a_visitor_out(engine, ana, route):
    issued = websessions.issue(engine, ana.id)
    cookie = [(b"cookie", f"harta_session={issued.token}".encode())]
    status, _, _ = _get(
        route[0], websessions.CLEAR_PATH, headers=[(b"sec-fetch-site", b"cross-site"), *cookie]
    )
    assert status == 403 and websessions.resume(engine, issued.token) is not None


def test_every_other_path_goes_to_streamlit(route):
    for path in ("/", "/harta-session", "/harta-session/set/", "/harta-sessionX/set", "/account"):
        status, _, body = _get(route[0], path, headers=SAME_ORIGIN)
        assert (status, body) == (200, b"streamlit")
    assert route[1].paths == [
        "/",
        "/harta-session",
        "/harta-session/set/",
        "/harta-sessionX/set",
        "/account",
    ]


def test_clear_forgets_the_cookie_even_with_the_database_away(engine, ana):
    issued = websessions.issue(engine, ana.id)
    gone = create_engine("postgresql+psycopg://nobody:x@127.0.0.1:9/none")
    route = websessions.SessionRoute(_Inner(), engine=gone)
    cookie = [(b"cookie", f"harta_session={issued.token}".encode())]
    status, headers, _ = _get(route, websessions.CLEAR_PATH, headers=SAME_ORIGIN + cookie)
    assert status == 200 and "Max-Age=0" in headers["set-cookie"]
    status, headers, _ = _set(route, issued.nonce, headers=SAME_ORIGIN)
    assert status == 404 and "set-cookie" not in headers
    gone.dispose()
