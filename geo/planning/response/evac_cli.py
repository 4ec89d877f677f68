"""``harta evacuate``: evacuation routes from the command line.

``harta evacuate --community SLUG --scenario landfill_fire_smoke [--mode walk]``
``[--assembly FILE] [--out FILE.gpkg]``
    Routes from every settlement and high-risk zone to the nearest safe assembly point, with the
    scenario's streets closed; prints one line per place (or, plainly, that no route exists) and
    copies the run's GeoPackage to ``--out``.  The run is stored (``response_evacuation``).

Runs as the operator (the CLI's own connection).  Offline.  ``harta plan`` prints the safety
plan: it lives in :mod:`geo.reports.safety_plan_cli` (planning may not import reports).  The
lead registers :func:`evacuate_command` on the main app (or mounts :data:`evac_app`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geo.errors import HartaError
from geo.i18n import number, t
from geo.settings import get_settings

evac_app = typer.Typer(help="Evacuation routes (offline).", no_args_is_help=True)
console = Console(width=160)
err = Console(stderr=True)


@evac_app.callback()
def _group() -> None:
    """Keep the command's name on the command line (a one-command Typer app would drop it)."""


def _community(slug: str):  # noqa: ANN202
    from geo.communities.model import Community, UnknownCommunity
    from geo.db.engine import get_engine

    try:
        return get_engine(), Community.load(get_engine(), slug)
    except UnknownCommunity:
        err.print(t("app.cli.unknown_community", get_settings().language, slug=slug))
        raise typer.Exit(1) from None


@evac_app.command("evacuate")
def evacuate_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    scenario: str = typer.Option(..., "--scenario", help="Hazard code, e.g. landfill_fire_smoke."),
    mode: str = typer.Option(None, "--mode", help="walk or drive (default: the scenario's)."),
    assembly: Path = typer.Option(
        None, "--assembly", exists=True, dir_okay=False, help="Assembly points file."
    ),
    out: Path = typer.Option(None, "--out", dir_okay=False, help="GeoPackage to write."),
) -> None:
    """Evacuation routes of one scenario; one line per place."""
    from geo.planning.response import evacuation as evac

    lang = get_settings().language
    engine, place = _community(community)
    try:
        run = evac.run_evacuation(engine, place, scenario, mode=mode, assembly_file=assembly)
    except HartaError as error:
        err.print(error.message(lang))
        raise typer.Exit(1) from None
    result = run.result
    if result.too_few:
        err.print(result.message(lang))
        raise typer.Exit(1)
    table = Table(title=t("response.evac.cli.title", lang, run=run.id))
    for key in ("place", "assembly", "time", "streets"):
        table.add_column(t(f"response.plan.col.{key}", lang))
    for row in result.routes.itertuples():
        if row.reachable:
            minutes = t("response.plan.minutes", lang, minutes=number(row.seconds / 60, lang, 1))
            name = evac.assembly_name(result.assembly, row.assembly_id, lang)
            table.add_row(evac.place_name(row, lang), name, minutes, row.streets)
        else:
            table.add_row(evac.place_name(row, lang), "", "", evac.no_route_text(row, lang))
    console.print(table)
    if out is not None:
        from geo import runs

        stored = runs.get_run(engine, run.id)
        shutil.copyfile(stored.outputs["gpkg"], out)
        console.print(t("response.evac.cli.written", lang, path=out, run=run.id))
