"""the Mobile Unit: stored plans with their stops and vehicles (issue 13)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 06:00:00

**Why a table of its own.**  Every Mobile Unit plan is a run of the run store
(``analysis_runs``, kind ``mobile_plan``, scope ``aggregated`` because it reads no incident), and
``analysis_runs`` shows aggregated runs to every role.  A plan's stops are children's and
accompanied people's **homes**, with the hours a van comes for them.  So the run row holds only
parameters and counts (no place, no stop id), and everything that locates a person --
the stops, the vehicles' depots and the plan itself -- lives in ``mobile_plans``, one row per run.

**Who sees what.**  ``mobile_plans`` starts closed: row security enabled and forced, and

* ``harta_planner`` and ``harta_mediator`` (the coordinator's roles) may SELECT and INSERT rows of
  the communities their account covers (``harta_in_scope``), nothing else;
* the owner (CLI, bootstrap) reads and writes everything;
* every other role -- public, community, police, admin -- has no grant at all: the database
  refuses the query outright, whatever its WHERE clause.

No audit trigger copies these rows into ``audit_log`` (its readers are not the plan's readers).
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: Roles that plan the Mobile Unit (frozen here: a migration never follows later code).
PLANNERS = "harta_planner, harta_mediator"
IN_SCOPE = "harta_in_scope(community_id)"

UPGRADE = f"""
CREATE TABLE mobile_plans (
    id serial PRIMARY KEY,
    run_id integer NOT NULL REFERENCES analysis_runs (id) ON DELETE CASCADE,
    community_id integer NOT NULL REFERENCES communities (id),
    plan_date date NOT NULL,
    stops jsonb NOT NULL,
    vehicles jsonb NOT NULL,
    plan jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mobile_plans_run_once UNIQUE (run_id),
    CONSTRAINT mobile_plans_stops_array CHECK (jsonb_typeof(stops) = 'array'),
    CONSTRAINT mobile_plans_vehicles_array CHECK (jsonb_typeof(vehicles) = 'array')
);
CREATE INDEX mobile_plans_community_idx ON mobile_plans (community_id, plan_date);

ALTER TABLE mobile_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE mobile_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY mobile_plans_owner ON mobile_plans TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY mobile_plans_read ON mobile_plans FOR SELECT TO {PLANNERS} USING ({IN_SCOPE});
CREATE POLICY mobile_plans_add ON mobile_plans FOR INSERT TO {PLANNERS} WITH CHECK ({IN_SCOPE});

REVOKE ALL ON mobile_plans FROM PUBLIC;
GRANT SELECT, INSERT ON mobile_plans TO {PLANNERS};
GRANT USAGE ON SEQUENCE mobile_plans_id_seq TO {PLANNERS};
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE mobile_plans")
