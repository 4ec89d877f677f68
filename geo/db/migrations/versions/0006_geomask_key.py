"""per-incident geomask key held in the database (issue 8; owner: helper cli-export)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:00:00

A geomasked export moves every incident by a displacement that is *fixed per incident*: an
HMAC-SHA256 of the incident id under a deployment key.  Averaging many exports of the same
incident therefore gives back the same masked point, never the original.

* ``geomask_key`` (one row): the key, stored as the two HMAC pads (``key XOR ipad`` and
  ``key XOR opad``, so PostgreSQL's built-in ``sha256`` computes the HMAC without pgcrypto),
  and the deployment's one donut (``min_m``, ``max_m``).  No application role has any privilege
  on it; only the owner (and superusers, and backups) can read it.  The key is drawn from
  :mod:`secrets` here and never written to a file.
* ``incidents.mask_nonce``: a random uuid per incident, readable exactly by those who may read
  the incident's row (row-level security decides).  :func:`harta_geomask_draws` answers only
  for an (id, nonce) pair that matches, so the function cannot be used as an oracle for rows
  the caller may not read (knowing a sensitive incident's id, or guessing its coordinates, is
  not enough).
* ``harta_geomask_draws(ids, nonces)``: SECURITY DEFINER (``search_path = public, pg_temp``),
  executable by ``harta_police`` and ``harta_mediator`` only, returns the HMAC of each matching
  id.  ``harta_geomask_donut()`` returns the deployment's donut.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: The deployment's donut until an operator changes it (before the first masked export).
DEFAULT_MIN_M = 50.0
DEFAULT_MAX_M = 250.0
_BLOCK = 64  # SHA-256 block size, bytes

SCHEMA = """
CREATE TABLE geomask_key (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64),
    min_m double precision NOT NULL,
    max_m double precision NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (0 <= min_m AND min_m < max_m)
);
REVOKE ALL ON geomask_key FROM PUBLIC;

ALTER TABLE incidents ADD COLUMN mask_nonce uuid NOT NULL DEFAULT gen_random_uuid();

CREATE FUNCTION harta_geomask_draws(p_ids bigint[], p_nonces uuid[])
RETURNS TABLE (id bigint, draw bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id,
           sha256(k.outer_pad || sha256(k.inner_pad
                  || convert_to('harta-geomask-v1:' || i.id::text, 'UTF8')))
      FROM unnest(p_ids, p_nonces) AS q(id, nonce)
      JOIN incidents AS i ON i.id = q.id AND i.mask_nonce = q.nonce
     CROSS JOIN geomask_key AS k
$$;

CREATE FUNCTION harta_geomask_donut()
RETURNS TABLE (min_m double precision, max_m double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT min_m, max_m FROM geomask_key
$$;

REVOKE ALL ON FUNCTION harta_geomask_draws(bigint[], uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION harta_geomask_donut() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION harta_geomask_draws(bigint[], uuid[]) TO harta_police, harta_mediator;
GRANT EXECUTE ON FUNCTION harta_geomask_donut() TO harta_police, harta_mediator;
"""


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The HMAC-SHA256 inner and outer pads of ``key`` (RFC 2104), 64 bytes each.

    Parameters
    ----------
    key : bytes
        At most 64 bytes.

    Returns
    -------
    (bytes, bytes)
        ``key XOR 0x36…`` and ``key XOR 0x5c…``, the key zero-padded to the block size.
    """
    if len(key) > _BLOCK:
        raise ValueError("key longer than the SHA-256 block")
    padded = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def upgrade() -> None:
    op.execute(SCHEMA)
    inner, outer = hmac_pads(secrets.token_bytes(32))
    op.get_bind().execute(
        sa.text(
            "INSERT INTO geomask_key (inner_pad, outer_pad, min_m, max_m) VALUES (:i, :o, :lo, :hi)"
        ),
        {"i": inner, "o": outer, "lo": DEFAULT_MIN_M, "hi": DEFAULT_MAX_M},
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS harta_geomask_donut()")
    op.execute("DROP FUNCTION IF EXISTS harta_geomask_draws(bigint[], uuid[])")
    op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS mask_nonce")
    op.execute("DROP TABLE IF EXISTS geomask_key")
