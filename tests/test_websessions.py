"""Attacks on the web sessions that keep a sign-in across a reload (migration 0015,
:mod:`geo.websessions`), at the database level.

Each test is written to fail on a naive implementation: a token kept in clear, a nonce that
works twice or late, a resume that trusts the cookie without re-reading the account, a table an
app role can read.  Expected answers are hand-computed from the limits (30 minutes idle, 8 hours
in all, 60 seconds for a hand-off), never taken from the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from geo import accounts, websessions
from geo.db.security import AUTH_ROLE, connect_as, role_engine
from geo.roles import ROLES

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-battery"


@pytest.fixture
def people(engine):
    """Two police accounts and an administrator, in an empty database."""
    return {
        name: accounts.create_user(engine, name, PASSWORD, role)
        for name, role in (("ana", "police"), ("bela", "police"), ("root", "admin"))
    }


def _signed_in(engine, user, at=T0):
    issued = websessions.issue(engine, user.id, at)
    assert issued is not None
    return issued


def _rows(engine):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM web_sessions"))]


# --- the happy path, as the reference for the attacks below ---------------------------------
def test_a_redeemed_nonce_hands_over_exactly_the_issued_token(engine, people):
    issued = _signed_in(engine, people["ana"])
    assert websessions.redeem_nonce(engine, issued.nonce, T0 + dt.timedelta(seconds=5)) == (
        issued.token
    )
    back = websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=10))
    assert back is not None and back.user_id == people["ana"].id
    assert back.user.role == "police" and back.signed_in_at == T0


# --- forged, revoked, expired cookies --------------------------------------------------------
@pytest.mark.parametrize(
    "cookie",
    ["", "x", "A" * 43, "A" * 44, "A" * 42 + "=", "../../etc/passwd", None, 12, "é" * 43],
)
def test_a_forged_or_malformed_cookie_resumes_nothing(engine, people, cookie):
    _signed_in(engine, people["ana"])
    assert websessions.resume(engine, cookie, T0) is None


def test_a_random_well_formed_token_resumes_nothing(engine, people):
    _signed_in(engine, people["ana"])
    forged = websessions._encode(bytes(32))
    assert websessions.resume(engine, forged, T0) is None


def test_a_token_revoked_at_sign_out_resumes_nothing(engine, people):
    issued = _signed_in(engine, people["ana"])
    assert websessions.revoke(engine, issued.token, T0 + dt.timedelta(minutes=1))
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=2)) is None
    assert not websessions.touch(engine, issued.token, T0 + dt.timedelta(minutes=2))


def test_idle_for_thirty_minutes_ends_the_session(engine, people):
    issued = _signed_in(engine, people["ana"])
    # 29:59 idle still resumes (and touches); 30:00 after that last activity does not.
    seen = T0 + dt.timedelta(minutes=29, seconds=59)
    assert websessions.resume(engine, issued.token, seen) is not None
    assert websessions.resume(engine, issued.token, seen + dt.timedelta(minutes=30)) is None
    # ... and it stays ended (revoked), even at a time that would have been within the limit.
    assert websessions.resume(engine, issued.token, seen + dt.timedelta(minutes=1)) is None


def test_eight_hours_after_sign_in_ends_the_session_however_active(engine, people):
    issued = _signed_in(engine, people["ana"])
    for step in range(1, 24):  # every 20 minutes up to 7:40 after sign-in
        at = T0 + step * dt.timedelta(minutes=20)
        assert websessions.resume(engine, issued.token, at) is not None, at
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(hours=8)) is None


def test_a_cookie_from_the_future_resumes_nothing(engine, people):
    issued = _signed_in(engine, people["ana"], T0 + dt.timedelta(hours=1))
    assert websessions.resume(engine, issued.token, T0) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda e: accounts.deactivate(e, "ana"),
        lambda e: accounts.set_role(e, "ana", "planner"),
        lambda e: accounts.set_password(e, "ana", "another-long-password"),
    ],
    ids=["deactivated", "role-changed", "password-reset"],
)
def test_an_account_change_made_by_an_admin_ends_its_sessions(engine, people, db_url, change):
    issued = _signed_in(engine, people["ana"])
    other = _signed_in(engine, people["bela"])
    admin = role_engine(db_url, "admin", people["root"].id)
    try:
        change(admin)  # the admin role itself has no right on web_sessions: the trigger acts
    finally:
        admin.dispose()
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=1)) is None
    assert websessions.resume(engine, other.token, T0 + dt.timedelta(minutes=1)) is not None
    # Reactivating or changing the role back does not bring the old session back.
    accounts.reactivate(engine, "ana")
    accounts.set_role(engine, "ana", "police")
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=2)) is None


def test_a_locked_account_resumes_nothing_and_stays_out_after_the_lock(engine, people):
    issued = _signed_in(engine, people["ana"])
    with engine.begin() as conn:  # an operator's plain SQL: the trigger acts all the same
        conn.execute(
            text("UPDATE users SET locked_until = now() + interval '1 hour' WHERE username='ana'")
        )
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=1)) is None
    accounts.unlock(engine, "ana")
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=2)) is None


def test_a_lock_the_trigger_did_not_see_is_still_refused(engine, people):
    """Locked with the trigger out of the way: resume re-reads the account every time."""
    issued = _signed_in(engine, people["ana"])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE users DISABLE TRIGGER users_end_web_sessions"))
        conn.execute(
            text("UPDATE users SET locked_until = :t WHERE username = 'ana'"),
            {"t": T0 + dt.timedelta(hours=1)},
        )
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=1)) is None


def test_a_session_is_bound_to_the_role_it_was_opened_with(engine, people):
    """A role change the trigger did not see (the row's role forged by the owner): refused."""
    issued = _signed_in(engine, people["ana"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE web_sessions SET role = 'admin'"))
    assert websessions.resume(engine, issued.token, T0 + dt.timedelta(minutes=1)) is None


def test_a_deleted_account_takes_its_sessions_with_it(engine, people):
    issued = _signed_in(engine, people["ana"])
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = 'ana'"))
    assert _rows(engine) == []
    assert websessions.resume(engine, issued.token, T0) is None


def test_an_inactive_account_gets_no_session(engine, people):
    accounts.deactivate(engine, "ana")
    assert websessions.issue(engine, people["ana"].id, T0) is None
    assert _rows(engine) == []


def test_revoke_all_ends_every_session_of_one_account_only(engine, people):
    a1, a2 = _signed_in(engine, people["ana"]), _signed_in(engine, people["ana"])
    b = _signed_in(engine, people["bela"])
    assert websessions.revoke_all(engine, people["ana"].id, T0) == 2
    at = T0 + dt.timedelta(minutes=1)
    assert websessions.resume(engine, a1.token, at) is None
    assert websessions.resume(engine, a2.token, at) is None
    assert websessions.resume(engine, b.token, at).user_id == people["bela"].id


# --- the one-time hand-off -------------------------------------------------------------------
def test_a_nonce_works_once(engine, people):
    issued = _signed_in(engine, people["ana"])
    assert websessions.redeem_nonce(engine, issued.nonce, T0) == issued.token
    assert websessions.redeem_nonce(engine, issued.nonce, T0) is None


@pytest.mark.parametrize("late", [60, 61, 3600])
def test_a_nonce_never_works_after_sixty_seconds_and_is_spent(engine, people, late):
    issued = _signed_in(engine, people["ana"])
    assert websessions.redeem_nonce(engine, issued.nonce, T0 + dt.timedelta(seconds=late)) is None
    # Spent by the late try: even a (forged) earlier clock gets nothing now.
    assert websessions.redeem_nonce(engine, issued.nonce, T0) is None


def test_a_nonce_just_in_time_works(engine, people):
    issued = _signed_in(engine, people["ana"])
    on_time = T0 + dt.timedelta(seconds=59)
    assert websessions.redeem_nonce(engine, issued.nonce, on_time) == issued.token


def test_a_nonce_never_yields_another_accounts_token(engine, people):
    mine = _signed_in(engine, people["ana"])
    theirs = _signed_in(engine, people["bela"])
    assert websessions.redeem_nonce(engine, mine.nonce, T0) == mine.token != theirs.token
    # A neighbour of a nonce (one character changed) opens nothing, and spends nothing.
    flipped = ("B" if theirs.nonce[0] != "B" else "C") + theirs.nonce[1:]
    assert websessions.redeem_nonce(engine, flipped, T0) is None
    assert websessions.redeem_nonce(engine, theirs.nonce, T0) == theirs.token


def test_a_nonce_of_a_signed_out_session_hands_over_nothing(engine, people):
    issued = _signed_in(engine, people["ana"])
    websessions.revoke(engine, issued.token, T0)
    assert websessions.redeem_nonce(engine, issued.nonce, T0) is None


def test_a_hand_off_longer_than_sixty_seconds_is_refused_by_the_database(engine, people):
    with connect_as(engine, AUTH_ROLE) as conn, pytest.raises(Exception, match="60 seconds"):
        conn.execute(
            text(
                "SELECT harta_websession_issue(:t, :u, :t, :t, now(), interval '1 day',"
                " interval '1 day')"
            ),
            {"t": bytes(32), "u": people["ana"].id},
        )


# --- nothing in clear ------------------------------------------------------------------------
def test_the_database_never_holds_the_token_or_the_nonce(engine, people):
    issued = _signed_in(engine, people["ana"])
    raw_token = websessions._decode(issued.token)

    def everything() -> bytes:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT row_to_json(w)::text FROM web_sessions w")).scalars()
            binary = conn.execute(
                text(
                    "SELECT token_sha256 || coalesce(nonce_sha256, '') ||"
                    " coalesce(sealed_token, '') FROM web_sessions"
                )
            ).scalars()
            return "".join(rows).encode() + b"".join(bytes(b) for b in binary)

    for stored in (everything(),):
        assert issued.token.encode() not in stored and issued.nonce.encode() not in stored
        assert raw_token not in stored
        assert hashlib.sha256(issued.token.encode()).digest() in stored  # only the hash
    websessions.redeem_nonce(engine, issued.nonce, T0)
    (row,) = _rows(engine)
    assert row["sealed_token"] is None and row["nonce_sha256"] is None
    assert issued.token.encode() not in everything() and raw_token not in everything()


# --- no app role reaches the table or the functions ------------------------------------------
FUNCTION_CALLS = {
    "lookup": "SELECT * FROM harta_websession_lookup(:h)",
    "redeem": "SELECT * FROM harta_websession_redeem(:h, now())",
    "touch": "SELECT harta_websession_touch(:h, now())",
    "revoke": "SELECT harta_websession_revoke(:h, now())",
    "revoke_all": "SELECT harta_websession_revoke_all(1, now())",
    "issue": "SELECT harta_websession_issue(:h, 1, :h, :h, now(), interval '1 minute',"
    " interval '1 day')",
}
TABLE_STATEMENTS = {
    "select": "SELECT count(*) FROM web_sessions",
    "insert": "INSERT INTO web_sessions (token_sha256, user_id, role, created_at, last_seen_at)"
    " VALUES (:h, 1, 'police', now(), now())",
    "update": "UPDATE web_sessions SET revoked_at = NULL",
    "delete": "DELETE FROM web_sessions",
}


def _refused(engine, role, user_id, sql) -> bool:
    try:
        with connect_as(engine, role, user_id) as conn:
            conn.execute(text(sql), {"h": bytes(32)})
    except ProgrammingError as error:
        return "permission denied" in str(error)
    return False


@pytest.mark.parametrize("role", ROLES)
def test_no_app_role_reads_writes_or_calls_into_web_sessions(engine, people, role):
    _signed_in(engine, people["ana"])
    user_id = people["root"].id if role == "admin" else None
    for name, sql in {**TABLE_STATEMENTS, **FUNCTION_CALLS}.items():
        assert _refused(engine, role, user_id, sql), (role, name)


def test_the_sign_in_role_calls_the_functions_but_never_reads_the_table(engine, people):
    _signed_in(engine, people["ana"])
    for name, sql in TABLE_STATEMENTS.items():
        assert _refused(engine, AUTH_ROLE, None, sql), name
    with connect_as(engine, AUTH_ROLE) as conn:
        assert conn.execute(text(FUNCTION_CALLS["lookup"]), {"h": bytes(32)}).all() == []


def test_only_the_sign_in_role_may_execute_the_functions(engine):
    names = [*(f"harta_{r}" for r in ROLES), "harta_ingest"]
    with engine.connect() as conn:
        functions = (
            conn.execute(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p"
                    " WHERE p.proname LIKE 'harta_websession%'"
                )
            )
            .scalars()
            .all()
        )
        assert len(functions) == 7
        for function in functions:
            for name in names:
                may = conn.execute(
                    text("SELECT has_function_privilege(:r, :f, 'EXECUTE')"),
                    {"r": name, "f": function},
                ).scalar_one()
                assert not may, (name, function)
            may_auth = conn.execute(
                text("SELECT has_function_privilege('harta_auth', :f, 'EXECUTE')"),
                {"f": function},
            ).scalar_one()
            assert may_auth == (function != "harta_websession_account_changed()"), function
