"""Schema migrations (Alembic), callable from code and from ``harta db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at Harta's migrations and ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database (password included; never logged).

    Returns
    -------
    alembic.config.Config
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` up to ``revision``.

    Parameters
    ----------
    engine : Engine
        The owner's engine (migrations create roles, tables and functions).
    revision : str
        Alembic revision; default the newest.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at.

    Parameters
    ----------
    engine : Engine

    Returns
    -------
    str or None
        None when the database was never migrated.
    """
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
