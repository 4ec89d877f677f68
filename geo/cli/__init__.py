"""The ``harta`` command: every non-interactive job.

One language per run: ``harta --lang hu ...`` or ``HARTA_LANGUAGE``.  Messages go through
:mod:`geo.i18n`, and so do the descriptions ``--help`` shows (:class:`geo.cli.base.LocalisedGroup`).

The group and its shared helpers are in :mod:`geo.cli.base`; the commands live in one module per
concern (``db``: the database and the app; ``accounts``: users and ``--as``; ``data``:
communities, imports, exports, retention); the planning capabilities keep their command lines
beside their code and are registered here.
"""

from __future__ import annotations

from geo.cli import accounts, data, db  # noqa: F401  (each registers its commands on ``app``)
from geo.cli.base import app
from geo.cli.db import after_serve, prepare_database, streamlit_command
from geo.planning.mobile.cli import routes_app
from geo.planning.response.cli import coverage_command, locate_command
from geo.planning.response.evac_cli import evacuate_command
from geo.planning.sites.cli import sites_app
from geo.reports.safety_plan_cli import plan_command

app.command("coverage")(coverage_command)
app.command("locate")(locate_command)
app.command("evacuate")(evacuate_command)
app.command("safety-plan")(plan_command)
app.add_typer(routes_app, name="routes")
app.add_typer(sites_app, name="sites")

__all__ = ["after_serve", "app", "prepare_database", "streamlit_command"]
