"""The app's side of web sessions (AppTest, the real pages and database): a sign-in opens one and
hands the browser only a nonce, a cookie resumes the account, a revocation elsewhere signs the
tab out, sign-out revokes."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from geo import websessions
from geo.i18n import t
from tests.conftest import PASSWORDS, username_for
from tests.test_signin import _app, _everything, _harta_ui, _sign_in

pytestmark = pytest.mark.db


def _open_sessions(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.username, w.role, w.revoked_at FROM web_sessions w"
                " JOIN users u ON u.id = w.user_id ORDER BY w.created_at"
            )
        ).all()
    engine.dispose()
    return rows


def _shown_html(at) -> str:  # noqa: ANN001
    return "\n".join(e.proto.body for e in at.get("html"))


def test_a_sign_in_opens_a_web_session_and_shows_only_its_nonce(app_env, users):
    at = _sign_in(_app("account"), username_for("police"), PASSWORDS["police"])
    auth = at.session_state["harta_auth"]
    assert [(r.username, r.role, r.revoked_at) for r in _open_sessions(app_env)] == [
        ("test-police", "police", None)
    ]
    shown = _shown_html(at)
    assert f'src="{websessions.SET_PATH}?n=' in shown
    assert auth["token"] not in shown and auth["token"] not in _everything(at)
    nonce = shown.split(f"{websessions.SET_PATH}?n=")[1][:43]
    engine = create_engine(app_env)
    assert websessions.redeem_nonce(engine, nonce) == auth["token"]
    engine.dispose()

    at.button(key="sign_out").click().run()
    assert "harta_auth" not in at.session_state
    assert [r.revoked_at is not None for r in _open_sessions(app_env)] == [True]
    assert f'src="{websessions.CLEAR_PATH}"' in _shown_html(at)


def test_a_session_revoked_elsewhere_signs_this_tab_out(app_env, users):
    """Signed out in another tab of the browser (or revoked by the database): this tab too."""
    at = _sign_in(_app("account"), username_for("police"), PASSWORDS["police"])
    engine = create_engine(app_env)
    websessions.revoke_all(engine, users["police"].id)
    engine.dispose()
    at.run()
    assert "harta_auth" not in at.session_state
    assert t("security.session.expired", "ro") in [w.value for w in at.warning]


def test_a_cookie_resumes_its_account_in_a_new_session(app_env, users, monkeypatch):
    engine = create_engine(app_env)
    issued = websessions.issue(engine, users["police"].id)
    engine.dispose()
    monkeypatch.setattr(_harta_ui(), "_browser_cookie", lambda: issued.token)
    at = _app("account")
    auth = at.session_state["harta_auth"]
    assert (auth["username"], auth["role"], auth["token"]) == (
        "test-police",
        "police",
        issued.token,
    )
    assert t("account.sign_out", "ro") in [b.label for b in at.button]
    # Signed out here: the same handshake cookie is never tried again in this session.
    at.button(key="sign_out").click().run()
    at.run()
    assert "harta_auth" not in at.session_state


@pytest.mark.parametrize("kind", ["forged", "revoked"])
def test_a_bad_cookie_leaves_the_page_public_and_clears_itself(app_env, users, monkeypatch, kind):
    engine = create_engine(app_env)
    issued = websessions.issue(engine, users["police"].id)
    token = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    if kind == "revoked":
        websessions.revoke(engine, issued.token)
        token = issued.token
    engine.dispose()
    monkeypatch.setattr(_harta_ui(), "_browser_cookie", lambda: token)
    at = _app("account")
    assert "harta_auth" not in at.session_state
    assert t("account.sidebar.public", "ro") in _everything(at)
    assert f'src="{websessions.CLEAR_PATH}"' in _shown_html(at)
