"""One schema: the models in :mod:`geo.db.models` describe exactly what the migrations build.

``alembic revision --autogenerate`` compares the models with a migrated database; if the two
disagree it proposes changes -- before this test, dropping ``users``, ``access_log`` and every other
table the models forgot.  Here a database migrated to head is compared with the models and must
produce no difference at all: tables, columns, types, nullability, indexes, unique constraints,
foreign keys and server defaults.  Functions, triggers, policies and grants are not compared by
autogenerate; the migrations stay their only home.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Column, Engine, Integer, MetaData, Table, text

from geo.db.models import Base

pytestmark = pytest.mark.db

#: Owned by PostGIS and its companion extensions, not by Harta's migrations.
FOREIGN_TABLES = frozenset({"spatial_ref_sys", "topology", "layer", "alembic_version"})
#: Schemas of the extensions (tiger geocoder, topology) that a server may have installed.
FOREIGN_SCHEMAS = frozenset({"tiger", "tiger_data", "topology"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Compare only Harta's own objects (as ``geo/db/migrations/env.py`` does)."""
    if type_ == "table" and (name in FOREIGN_TABLES or obj.schema in FOREIGN_SCHEMAS):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def schema_diff(engine: Engine, metadata: MetaData = Base.metadata) -> list:
    """What autogenerate would propose to make the database behind ``engine`` match ``metadata``.

    Parameters
    ----------
    engine : Engine
        A database migrated to head.
    metadata : MetaData
        The models; default :data:`geo.db.models.Base.metadata`.

    Returns
    -------
    list
        Alembic's diff tuples; empty when the models and the database agree.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": include_object,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return compare_metadata(context, metadata)


def test_autogenerate_on_a_migrated_database_proposes_nothing(engine) -> None:
    assert schema_diff(engine) == []


def test_the_comparison_sees_a_missing_table_and_a_missing_column(engine) -> None:
    """The check has teeth: a table the models forgot, and a column the database lacks, are both
    reported (the old models.py forgot users, user_communities, access_log and purge_log)."""
    forgetful = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name != "purge_log":
            table.to_metadata(forgetful)
    diffs = schema_diff(engine, forgetful)
    assert [(d[0], d[1].name) for d in diffs] == [("remove_table", "purge_log")]

    extra = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(extra)
    Table("access_log", extra, Column("invented", Integer), extend_existing=True)
    diffs = schema_diff(engine, extra)
    assert any(d[0] == "add_column" and d[3].name == "invented" for d in diffs)


def test_every_table_the_migrations_create_is_modelled(engine) -> None:
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> ALL(:foreign)"
                ),
                {"foreign": list(FOREIGN_TABLES)},
            ).scalars()
        )
    assert tables == set(Base.metadata.tables)
