"""Signing in, out and timing out in the app (AppTest, the real account page and database); the
admin page; the ``harta user`` / ``purge`` / ``backup`` commands."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import streamlit as st
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from geo.accounts import create_user, get_user
from geo.cli import app as cli
from geo.i18n import t
from tests.conftest import PASSWORDS, signed_in_session, username_for
from tests.test_app_pages import _incident_coordinates, _leaks

APP = "../app/Home.py"


def _app(page: str, state: dict | None = None) -> AppTest:
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = "ro"
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"screens/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_user").input(username)
    at.text_input(key="signin_password").input(password)
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _everything(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "text", "info", "warning", "success", "error", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.text_input]
    return "\n".join(parts)


def test_sign_in_as_police_then_sign_out(app_env, users):
    at = _app("account")
    assert "harta_auth" not in at.session_state
    assert t("account.sidebar.public", "ro") in _everything(at)
    _sign_in(at, username_for("police").upper(), PASSWORDS["police"])
    auth = at.session_state["harta_auth"]
    assert (auth["username"], auth["role"]) == ("test-police", "police")
    page = _everything(at)
    assert (
        t("account.signed_in_as", "ro", user="test-police", role=t("app.roles.police", "ro"))
        in page
    )
    # The password is nowhere: not in the page, not in the session.
    assert PASSWORDS["police"] not in page
    assert PASSWORDS["police"] not in repr(auth)
    assert "signin_password" not in at.session_state or not at.session_state["signin_password"]
    at.button(key="sign_out").click().run()
    assert "harta_auth" not in at.session_state
    assert t("account.sidebar.public", "ro") in _everything(at)


def test_wrong_password_then_lockout(app_env, users):
    at = _app("account")
    for _ in range(4):
        _sign_in(at, "test-mediator", "not-the-password")
        assert [e.value for e in at.error] == [t("security.login.failed", "ro")]
    _sign_in(at, "test-mediator", "not-the-password")
    assert [e.value for e in at.error] == [t("security.login.locked", "ro")]
    # Locked: even the right password is refused now, with the same message.
    _sign_in(at, "test-mediator", PASSWORDS["mediator"])
    assert [e.value for e in at.error] == [t("security.login.locked", "ro")]
    assert "harta_auth" not in at.session_state
    assert "not-the-password" not in _everything(at)
    # Unknown users get the same answer as wrong passwords.
    _sign_in(at, "nobody-here", "whatever-password")
    assert t("security.login.locked", "ro") not in [e.value for e in at.error]


@pytest.mark.parametrize(
    ("signed_in_ago", "idle_for"),
    [
        (dt.timedelta(hours=1), dt.timedelta(minutes=31)),
        (dt.timedelta(hours=8, minutes=1), dt.timedelta(minutes=1)),
    ],
)
def test_sessions_time_out_on_the_next_page_load(app_env, users, signed_in_ago, idle_for):
    state = signed_in_session(users["police"])
    now = dt.datetime.now(dt.UTC)
    state["harta_auth"]["signed_in_at"] = now - signed_in_ago
    state["harta_auth"]["last_seen_at"] = now - idle_for
    at = _app("map", state)
    assert "harta_auth" not in at.session_state
    assert t("security.session.expired", "ro") in [w.value for w in at.warning]
    # The map is drawn for the public: no incident point.
    payload = at.get("component_instance")[0].proto.json_args
    assert _leaks(payload, _incident_coordinates(app_env)) == 0


def test_an_active_session_stays_and_is_refreshed(app_env, users):
    state = signed_in_session(users["police"])
    state["harta_auth"]["signed_in_at"] -= dt.timedelta(hours=1)
    state["harta_auth"]["last_seen_at"] -= dt.timedelta(minutes=20)
    before = state["harta_auth"]["last_seen_at"]
    at = _app("account", state)
    assert at.session_state["harta_auth"]["last_seen_at"] > before


def test_community_scope_limits_the_picker(app_env, users):
    engine = create_engine(app_env)
    with engine.connect() as conn:
        slug, cid = conn.execute(
            text(
                "SELECT slug, id FROM communities WHERE parent_id IS NOT NULL ORDER BY slug LIMIT 1"
            )
        ).one()
    user = create_user(engine, "one-settlement", "settlement-pass-1", "community", [cid])
    engine.dispose()
    at = _app("home", signed_in_session(user))
    picker = at.selectbox(key="community")
    assert list(picker.options) != [] and len(picker.options) == 1
    assert picker.value == slug
    # Scoped to Pata Rât: the community and its settlements.
    at = _app("home", signed_in_session(users["community"]))
    assert len(at.selectbox(key="community").options) > 1


def test_admin_page_only_for_admin(app_env, users):
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in signed_in_session(users["police"]).items():
        at.session_state[key] = value
    at.run()
    with pytest.raises(Exception):  # noqa: B017 - not in the police menu at all
        at.switch_page("screens/admin.py")
        at.run()
        assert at.title[0].value != t("account.admin.title", "ro")


def test_admin_creates_changes_and_deactivates_accounts(app_env, users):
    at = _app("admin", signed_in_session(users["admin"]))
    assert at.title[0].value == t("account.admin.title", "ro")
    assert "test-police" in at.dataframe[0].value.to_csv()
    at.text_input(key="new_user").input("ana.mediator")
    at.selectbox(key="new_role").set_value("mediator")
    at.text_input(key="new_pw").input("a-long-password-1")
    at.text_input(key="new_pw2").input("a-long-password-1")
    at.button[0].click().run()  # the create form's submit button
    assert not at.exception
    assert [s.value for s in at.success] == [t("account.admin.created", "ro", user="ana.mediator")]
    engine = create_engine(app_env)
    assert get_user(engine, "ana.mediator").role == "mediator"

    at.selectbox(key="manage_user").set_value("ana.mediator").run()
    at.selectbox(key="role_ana.mediator").set_value("planner")
    at.button(key="save_ana.mediator").click().run()
    assert get_user(engine, "ana.mediator").role == "planner"
    at.button(key="off_ana.mediator").click().run()
    assert get_user(engine, "ana.mediator").active is False
    at.button(key="on_ana.mediator").click().run()
    assert get_user(engine, "ana.mediator").active is True
    at.text_input(key="reset_ana.mediator_pw").input("another-password-2")
    at.text_input(key="reset_ana.mediator_pw2").input("another-password-2")
    at.button(key="reset_ana.mediator").click().run()
    assert not at.exception
    from geo.accounts import authenticate

    assert authenticate(engine, "ana.mediator", "another-password-2").ok
    # An admin cannot demote or deactivate themself.
    at.selectbox(key="manage_user").set_value("test-admin").run()
    assert at.button(key="off_test-admin").disabled
    engine.dispose()


# --- the command line --------------------------------------------------------------------


def test_user_commands(app_env, monkeypatch):
    monkeypatch.setenv("HARTA_LANGUAGE", "en")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "user",
            "add",
            "Vasile",
            "--role",
            "police",
            "--community",
            "pata-rat",
            "--password-stdin",
        ],
        input="cli-password-123\n",
    )
    assert added.exit_code == 0, added.output
    assert "cli-password-123" not in added.output
    listed = runner.invoke(cli, ["user", "list"])
    assert re.search(r"vasile\s+police\s+pata-rat\s+active", listed.output)
    bad = runner.invoke(
        cli, ["user", "add", "x", "--role", "police", "--password-stdin"], input="short\n"
    )
    assert bad.exit_code == 1
    prompt = runner.invoke(
        cli, ["user", "passwd", "vasile"], input="new-password-456\nnew-password-456\n"
    )
    assert prompt.exit_code == 0, prompt.output
    assert "new-password-456" not in prompt.output
    from geo.accounts import authenticate

    engine = create_engine(app_env)
    assert authenticate(engine, "vasile", "new-password-456").ok
    assert runner.invoke(cli, ["user", "deactivate", "vasile"]).exit_code == 0
    assert not authenticate(engine, "vasile", "new-password-456").ok
    engine.dispose()


def test_purge_uses_the_retention_setting(app_env, monkeypatch):
    monkeypatch.setenv("HARTA_LANGUAGE", "en")
    monkeypatch.setenv("HARTA_RETENTION_DAYS", "365")
    engine = create_engine(app_env)
    with engine.connect() as conn:
        old = conn.execute(
            text("SELECT count(*) FROM incidents WHERE occurred_at < now() - interval '365 days'")
        ).scalar_one()
    result = CliRunner().invoke(cli, ["purge"])
    assert result.exit_code == 0, result.output
    assert t("security.purge.done", "en", rows=old, days=365) in result.output.replace("\n", " ")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT older_than_days, rows_deleted FROM purge_log")).one() == (
            365,
            old,
        )
    engine.dispose()


@pytest.mark.browser
def test_sign_in_and_admin_pages_in_the_browser(loaded_db_url, users):
    """The real sign-in form in Chromium, then the admin page; saves the screenshots."""
    from tests.browser import SCREENSHOTS, browser_page, running_app
    from tests.conftest import open_page, sign_in_browser

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base, browser_page() as page:
        page.goto(f"{base}/account")
        page.wait_for_selector("h1", timeout=90000)
        page.get_by_label(t("account.username", "ro"), exact=True).fill("test-admin")
        page.screenshot(path=str(SCREENSHOTS / "account_sign_in_ro.png"))
        sign_in_browser(page, base, "admin")
        body = page.inner_text("body")
        assert PASSWORDS["admin"] not in body and PASSWORDS["admin"] not in page.content()
        open_page(page, "admin")
        page.get_by_text(t("account.admin.create_title", "ro"), exact=True).first.wait_for()
        page.wait_for_timeout(2000)  # the accounts table draws on a canvas
        page.screenshot(path=str(SCREENSHOTS / "admin_accounts_ro.png"), full_page=True)
        assert not page.blocked_requests
