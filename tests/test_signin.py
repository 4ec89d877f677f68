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

from geo import escape
from geo.accounts import create_user, get_user
from geo.cli import app as cli
from geo.i18n import t
from tests.conftest import APP_DIR, PASSWORDS, signed_in_session, username_for
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
        t(
            "account.signed_in_as",
            "ro",
            user=escape.markdown("test-police"),
            role=t("app.roles.police", "ro"),
        )
        in page
    )
    # The password is nowhere: not in the page, not in the session.
    assert PASSWORDS["police"] not in page
    assert PASSWORDS["police"] not in repr(auth)
    assert "signin_password" not in at.session_state or not at.session_state["signin_password"]
    at.button(key="sign_out").click().run()
    assert "harta_auth" not in at.session_state
    assert t("account.sidebar.public", "ro") in _everything(at)


def _harta_ui():  # noqa: ANN202
    """The app's shared module, as the pages import it (for monkeypatching)."""
    import importlib
    import sys

    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    return importlib.import_module("harta_ui")


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _fresh_session(page: str, state: dict | None = None) -> AppTest:
    """Another browser session on the same server: the process-wide caches (the sign-in
    throttle among them) are kept, unlike :func:`_app`."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = "ro"
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"screens/{page}.py")
    at.run()
    return at


def test_refusals_read_the_same_for_unknown_wrong_and_many_attempts(app_env, users, monkeypatch):
    """Attack (enumeration): before, a real name answered "locked" after five wrong passwords
    and an unknown one never did.  Now every refusal shows one and the same message."""
    from geo.accounts import SignInThrottle

    harta_ui = _harta_ui()

    # Delays long enough that the test's own pace cannot outlast them.
    throttle = SignInThrottle(first=dt.timedelta(hours=1), cap=dt.timedelta(hours=1))
    monkeypatch.setattr(harta_ui, "sign_in_throttle", lambda: throttle)
    refused = t("account.sign_in_failed", "ro")
    at = _app("account")
    _sign_in(at, "nobody-here", "whatever-password")
    assert _errors(at) == [refused]
    for k in range(8):
        _sign_in(at, "test-mediator", f"not-the-password-{k}")
        assert _errors(at) == [refused]
        _sign_in(at, "nobody-here", f"not-the-password-{k}")
        assert _errors(at) == [refused]
    # Throttled now (same address): the right password is refused with the same words.
    _sign_in(at, "test-mediator", PASSWORDS["mediator"])
    assert _errors(at) == [refused]
    assert "harta_auth" not in at.session_state
    assert "not-the-password" not in _everything(at)


def test_an_outsiders_wrong_passwords_do_not_keep_the_real_user_out(app_env, users, monkeypatch):
    """Attack (denial): an outsider types wrong passwords for the police account from another
    address; the officer, from their own address, still signs in at once."""
    harta_ui = _harta_ui()
    # Two network addresses: AppTest has no client address, so each session names its own.
    monkeypatch.setattr(
        harta_ui, "sign_in_source", lambda: st.session_state.get("test_source", "local")
    )
    outsider = _app("account", {"test_source": "ip:203.0.113.9"})
    for k in range(12):
        _sign_in(outsider, "test-police", f"guess-{k}-guess")
    assert _errors(outsider) == [t("account.sign_in_failed", "ro")]
    officer = _fresh_session("account", {"test_source": "ip:198.51.100.4"})
    _sign_in(officer, "test-police", PASSWORDS["police"])
    assert officer.session_state["harta_auth"]["username"] == "test-police"
    engine = create_engine(app_env)
    assert get_user(engine, "test-police").locked_until is None
    engine.dispose()


def _police_map(app_env, users) -> tuple[AppTest, set]:  # noqa: ANN001
    at = _app("map", signed_in_session(users["police"]))
    coordinates = _incident_coordinates(app_env)
    payload = at.get("component_instance")[0].proto.json_args
    assert _leaks(payload, coordinates) > 100  # signed in as police: exact points drawn
    return at, coordinates


@pytest.mark.parametrize(
    ("change", "notice"),
    [
        ("UPDATE users SET active = false WHERE username = 'test-police'", "inactive"),
        ("UPDATE users SET role = 'community' WHERE username = 'test-police'", "role"),
        (
            "UPDATE users SET locked_until = now() + interval '1 hour'"
            " WHERE username = 'test-police'",
            "inactive",
        ),
    ],
)
def test_an_account_changed_in_the_database_loses_its_powers_on_the_next_run(
    app_env, users, change, notice
):
    """Attack (stale session): before, role and scope were copied into the session at sign-in
    and kept for up to 8 hours.  Now the next page run re-reads the account."""
    at, coordinates = _police_map(app_env, users)
    engine = create_engine(app_env)
    with engine.begin() as conn:
        conn.execute(text(change))
    engine.dispose()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "harta_auth" not in at.session_state
    assert t(f"account.revoked.{notice}", "ro") in [w.value for w in at.warning]
    payload = at.get("component_instance")[0].proto.json_args
    assert _leaks(payload, coordinates) == 0
    # The notice is said once; the session stays public.
    at.run()
    assert t(f"account.revoked.{notice}", "ro") not in [w.value for w in at.warning]
    assert "harta_auth" not in at.session_state


def test_a_scope_change_applies_at_once(app_env, users):
    engine = create_engine(app_env)
    with engine.connect() as conn:
        slug, cid = conn.execute(
            text(
                "SELECT slug, id FROM communities WHERE parent_id IS NOT NULL ORDER BY slug LIMIT 1"
            )
        ).one()
    at = _app("home", signed_in_session(users["police"]))
    assert len(at.selectbox(key="_harta_community_picker").options) > 1
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE user_communities SET community_id = :c WHERE user_id = ("
                "SELECT id FROM users WHERE username = 'test-police')"
            ),
            {"c": cid},
        )
    engine.dispose()
    at.run()
    assert not at.exception
    assert at.session_state["harta_auth"]["communities"] == (cid,)
    picker = at.selectbox(key="_harta_community_picker")
    assert len(picker.options) == 1 and picker.value == slug
    assert t("account.revoked.scope", "ro") in [w.value for w in at.warning]


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
    picker = at.selectbox(key="_harta_community_picker")
    assert list(picker.options) != [] and len(picker.options) == 1
    assert picker.value == slug
    # Scoped to Pata Rât: the community and its settlements.
    at = _app("home", signed_in_session(users["community"]))
    assert len(at.selectbox(key="_harta_community_picker").options) > 1


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
    assert [s.value for s in at.success] == [
        t("account.admin.created", "ro", user=escape.markdown("ana.mediator"))
    ]
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
