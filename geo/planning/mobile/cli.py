"""``harta routes plan``: a day's Mobile Unit plan from the command line (the lead registers
:data:`routes_app` in ``geo/cli.py``).

``harta routes plan --community SLUG --stops FILE --vehicles FILE --date YYYY-MM-DD
[--time-limit 5] --out plan.json``

Reads the stops and vehicles (CSV or GeoJSON; a file with errors is refused row by row and
nothing is stored), solves on the community's drive network, writes ``plan.json`` and stores the
plan in the run store (kind ``mobile_plan``) through the operator's connection.  Offline.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console

from geo.errors import HartaError
from geo.i18n import t
from geo.settings import get_settings

routes_app = typer.Typer(
    help="Mobile Unit routes: school runs, services, accompaniment (offline).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


@routes_app.callback()
def _routes() -> None:
    """Mobile Unit routes (keeps ``plan`` a sub-command even while it is the only one)."""


@routes_app.command("plan")
def plan_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    stops: Path = typer.Option(..., "--stops", exists=True, dir_okay=False, help="Stops file."),
    vehicles: Path = typer.Option(
        ..., "--vehicles", exists=True, dir_okay=False, help="Vehicles file."
    ),
    date: str = typer.Option(..., "--date", help="Day to plan, YYYY-MM-DD."),
    time_limit: float = typer.Option(5.0, "--time-limit", min=0.1, help="Search seconds."),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="plan.json to write."),
) -> None:
    """Plan one day's routes, write plan.json and store the plan."""
    from geo.communities.model import Community, UnknownCommunity
    from geo.db.engine import get_engine
    from geo.network.matrix import network_for
    from geo.planning.mobile.inputs import MobileInputError, read_stops, read_vehicles
    from geo.planning.mobile.plan import make_plan, plan_json
    from geo.planning.mobile.store import store_plan

    lang = get_settings().language
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise typer.BadParameter(date, param_hint="--date") from None
    engine = get_engine()
    try:
        place = Community.load(engine, community)
    except UnknownCommunity:
        err.print(t("app.cli.unknown_community", lang, slug=community))
        raise typer.Exit(1) from None
    try:
        stop_rows = read_stops(stops, community=place)
        vehicle_rows = read_vehicles(vehicles, community=place)
        plan, _ = make_plan(
            stop_rows, vehicle_rows, day, network_for(place, "drive"), place,
            time_limit_s=time_limit,
        )  # fmt: skip
    except MobileInputError as error:
        err.print(error.render(lang), markup=False)
        raise typer.Exit(1) from None
    except HartaError as error:
        err.print(error.message(lang), markup=False)
        raise typer.Exit(1) from None
    data = plan_json(plan, lang)
    run_id = store_plan(engine, place, plan, stop_rows, vehicle_rows, lang=lang)
    data["params"]["run_id"] = run_id
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    served = sum(1 for v in data["vehicles"] for s in v["stops"] if s["stop_id"] != "depot")
    console.print(
        t("mobile.cli.written", lang, path=out, served=served, dropped=len(data["dropped"]),
          run=run_id),
        markup=False,
    )  # fmt: skip
    for dropped in data["dropped"]:
        console.print(f"- {dropped['reason']}", markup=False)
