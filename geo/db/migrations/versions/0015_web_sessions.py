"""web sessions: a reload keeps the sign-in (issue 11)

A signed-in tab lived only in Streamlit's memory: a reload opened a new session, signed out.
Now a sign-in also creates a row of ``web_sessions`` and the browser keeps a random token in an
``HttpOnly; SameSite=Strict`` cookie (``geo.websessions``; the cookie is set by the app server,
never by a page, and the token never goes into an address).

* **Only hashes are stored.**  The primary key is ``sha256(token)``; the token itself is never
  written.  The one-time hand-off from the page to the cookie (``/harta-session/set?n=NONCE``)
  is keyed by ``sha256(nonce)``; what it hands over is the token sealed with a pad derived from
  the nonce (``sealed_token``), cleared the moment the nonce is redeemed, so the table alone
  never yields a token.
* **Nobody reads the table.**  No grant to any Harta role (row security on, no policy): only the
  owner and the ``SECURITY DEFINER`` functions below touch it, and only ``harta_auth`` (the
  narrow sign-in role the app's owner engine switches to) may call them.
* **An account change ends its sessions.**  A trigger on ``users`` revokes every web session of
  an account that is deactivated or reactivated, given another role, locked, or given a new
  password, whatever path made the change (app, command line, plain SQL).  A deleted account
  takes its sessions with it (``ON DELETE CASCADE``).  The role a session was opened with is
  kept, and ``geo.websessions.resume`` refuses it under any other role.

Timeouts (idle, absolute) are decided in Python by ``geo.signin.session_expired`` on the
timestamps these functions return, so there is one definition of them.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

DEFINER_PATH = "public, pg_temp"
CALLER = "harta_auth"

TABLE = """
CREATE TABLE web_sessions (
    token_sha256 bytea PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role varchar(16) NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    revoked_at timestamptz,
    nonce_sha256 bytea,
    nonce_expires_at timestamptz,
    sealed_token bytea,
    CONSTRAINT web_sessions_token_hash CHECK (octet_length(token_sha256) = 32),
    CONSTRAINT web_sessions_nonce_hash CHECK (nonce_sha256 IS NULL OR octet_length(nonce_sha256) = 32),
    CONSTRAINT web_sessions_handoff_whole CHECK ((nonce_sha256 IS NULL) = (nonce_expires_at IS NULL)
        AND (nonce_sha256 IS NULL) = (sealed_token IS NULL)),
    CONSTRAINT web_sessions_nonce_once UNIQUE (nonce_sha256)
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);
REVOKE ALL ON web_sessions FROM PUBLIC;
-- No policy: a role that was ever granted the table by mistake would still see no row.
ALTER TABLE web_sessions ENABLE ROW LEVEL SECURITY;
"""

FUNCTIONS = f"""
-- A new session of an active account, with its one-time hand-off; old rows are swept.
CREATE FUNCTION harta_websession_issue(p_token_sha256 bytea, p_user_id integer,
    p_nonce_sha256 bytea, p_sealed bytea, p_now timestamptz, p_handoff interval,
    p_keep interval) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
BEGIN
    IF p_handoff IS NULL OR p_handoff <= interval '0' OR p_handoff > interval '60 seconds' THEN
        RAISE EXCEPTION 'a hand-off lasts at most 60 seconds' USING ERRCODE = '22023';
    END IF;
    DELETE FROM web_sessions WHERE created_at < p_now - p_keep;
    INSERT INTO web_sessions (token_sha256, user_id, role, created_at, last_seen_at,
                              nonce_sha256, nonce_expires_at, sealed_token)
    SELECT p_token_sha256, u.id, u.role, p_now, p_now, p_nonce_sha256, p_now + p_handoff,
           p_sealed
      FROM users AS u
     WHERE u.id = p_user_id AND u.active
       AND (u.locked_until IS NULL OR u.locked_until <= p_now);
    RETURN FOUND;
END
$$;

-- Redeem a hand-off: once, in time, for a session still open.  The nonce is spent whatever
-- the outcome (an expired one cannot be retried).
CREATE FUNCTION harta_websession_redeem(p_nonce_sha256 bytea, p_now timestamptz)
RETURNS TABLE (token_sha256 bytea, sealed_token bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
DECLARE
    v_row web_sessions%ROWTYPE;
BEGIN
    SELECT * INTO v_row FROM web_sessions AS w WHERE w.nonce_sha256 = p_nonce_sha256
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE web_sessions AS w SET nonce_sha256 = NULL, nonce_expires_at = NULL,
           sealed_token = NULL
     WHERE w.token_sha256 = v_row.token_sha256;
    IF v_row.revoked_at IS NULL AND p_now < v_row.nonce_expires_at
       AND p_now >= v_row.created_at THEN
        token_sha256 := v_row.token_sha256;
        sealed_token := v_row.sealed_token;
        RETURN NEXT;
    END IF;
END
$$;

-- An open (not revoked) session: whose, with which role, since when, last seen when.
CREATE FUNCTION harta_websession_lookup(p_token_sha256 bytea)
RETURNS TABLE (user_id integer, role varchar, created_at timestamptz,
               last_seen_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    SELECT w.user_id, w.role, w.created_at, w.last_seen_at FROM web_sessions AS w
     WHERE w.token_sha256 = p_token_sha256 AND w.revoked_at IS NULL
$$;

CREATE FUNCTION harta_websession_touch(p_token_sha256 bytea, p_now timestamptz)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    WITH seen AS (
        UPDATE web_sessions AS w SET last_seen_at = greatest(w.last_seen_at, p_now)
         WHERE w.token_sha256 = p_token_sha256 AND w.revoked_at IS NULL
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM seen)
$$;

CREATE FUNCTION harta_websession_revoke(p_token_sha256 bytea, p_now timestamptz)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    WITH gone AS (
        UPDATE web_sessions AS w SET revoked_at = p_now, nonce_sha256 = NULL,
               nonce_expires_at = NULL, sealed_token = NULL
         WHERE w.token_sha256 = p_token_sha256 AND w.revoked_at IS NULL
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM gone)
$$;

CREATE FUNCTION harta_websession_revoke_all(p_user_id integer, p_now timestamptz)
RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
    WITH gone AS (
        UPDATE web_sessions AS w SET revoked_at = p_now, nonce_sha256 = NULL,
               nonce_expires_at = NULL, sealed_token = NULL
         WHERE w.user_id = p_user_id AND w.revoked_at IS NULL
        RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;

-- Whatever changed the account (app, command line, SQL), its open sessions end.
CREATE FUNCTION harta_websession_account_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_PATH} AS $$
BEGIN
    IF NEW.active IS DISTINCT FROM OLD.active OR NEW.role IS DISTINCT FROM OLD.role
       OR NEW.password_changed_at IS DISTINCT FROM OLD.password_changed_at
       OR (NEW.locked_until IS DISTINCT FROM OLD.locked_until
           AND NEW.locked_until IS NOT NULL AND NEW.locked_until > now()) THEN
        UPDATE web_sessions AS w SET revoked_at = now(), nonce_sha256 = NULL,
               nonce_expires_at = NULL, sealed_token = NULL
         WHERE w.user_id = NEW.id AND w.revoked_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_end_web_sessions AFTER UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION harta_websession_account_changed();
"""

SIGNATURES = (
    "harta_websession_issue(bytea, integer, bytea, bytea, timestamptz, interval, interval)",
    "harta_websession_redeem(bytea, timestamptz)",
    "harta_websession_lookup(bytea)",
    "harta_websession_touch(bytea, timestamptz)",
    "harta_websession_revoke(bytea, timestamptz)",
    "harta_websession_revoke_all(integer, timestamptz)",
)


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(FUNCTIONS)
    op.execute("REVOKE ALL ON FUNCTION harta_websession_account_changed() FROM PUBLIC")
    for signature in SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {CALLER}")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS users_end_web_sessions ON users")
    op.execute("DROP FUNCTION IF EXISTS harta_websession_account_changed()")
    for signature in SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("DROP TABLE IF EXISTS web_sessions")
