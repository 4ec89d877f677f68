"""``harta coverage`` and ``harta locate``: the response network from the command line.

``harta coverage --community SLUG --minutes 8 [--kind ambulance] [--at "Sat 22:00"]``
``[--mode drive] --out FILE.gpkg``
    Coverage and backup coverage of every demand place; prints the per-settlement table
    (translated) and writes every layer to the GeoPackage.  The run is stored
    (``response_coverage``).
``harta locate --community SLUG [--candidates FILE] --add 2 --minutes 8``
``--model mclp|pmedian --out FILE``
    Proposes new community focal points; prints what each gains, in order, and writes them.
    The run is stored (``response_locate``).

Both run as the operator (the CLI's own connection): a focal point's exact home is used and the
run is stored with scope ``exact`` (mediators and police of the community may see it).
Offline: local files and the database only.  The lead registers :data:`coverage_command` and
:data:`locate_command` on the main app (or mounts :data:`response_app`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geo.errors import HartaError
from geo.i18n import number, t
from geo.settings import get_settings

response_app = typer.Typer(
    help="Response network: coverage and new posts (offline).", no_args_is_help=True
)
console = Console(width=140)
err = Console(stderr=True)


def _community(slug: str):  # noqa: ANN202
    from geo.communities.model import Community, UnknownCommunity
    from geo.db.engine import get_engine

    try:
        return get_engine(), Community.load(get_engine(), slug)
    except UnknownCommunity:
        err.print(t("app.cli.unknown_community", get_settings().language, slug=slug))
        raise typer.Exit(1) from None


def _fail(error: HartaError) -> None:
    err.print(error.message(get_settings().language))
    raise typer.Exit(1)


def _print(frame, title: str) -> None:  # noqa: ANN001
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    console.print(table)


@response_app.command("coverage")
def coverage_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    minutes: float = typer.Option(8.0, "--minutes", help="Limit T, minutes."),
    kind: list[str] = typer.Option(None, "--kind", help="Responder kind (repeatable)."),
    at: str = typer.Option(None, "--at", help='Weekday and time, e.g. "Sat 22:00".'),
    mode: str = typer.Option("drive", "--mode", help="Travel mode: drive or walk."),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="GeoPackage to write."),
) -> None:
    """Coverage and backup coverage of every demand place; the per-settlement table."""
    from geo.planning.response.coverage import run_coverage

    lang = get_settings().language
    engine, place = _community(community)
    try:
        run_id, result = run_coverage(
            engine, place, minutes=minutes, kinds=kind or None, when=at, mode=mode
        )
    except HartaError as error:
        _fail(error)
    if result.too_few:
        err.print(result.message(lang))
        raise typer.Exit(1)
    result.to_gpkg(out)
    when = result.params.get("when") or t("response.coverage.any_time", lang)
    _print(
        result.settlement_table(lang),
        t("response.coverage.title", lang, minutes=f"{minutes:g}", when=when, mode=mode),
    )
    console.print(t("response.coverage.written", lang, path=out, run=run_id))


@response_app.command("locate")
def locate_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    candidates: Path = typer.Option(
        None,
        "--candidates",
        exists=True,
        dir_okay=False,
        help="Candidate places (default: street nodes).",
    ),
    add: int = typer.Option(2, "--add", min=1, help="How many new posts."),
    minutes: float = typer.Option(8.0, "--minutes", help="Limit T, minutes."),
    model: str = typer.Option("mclp", "--model", help="mclp or pmedian."),
    mode: str = typer.Option("drive", "--mode", help="Travel mode: drive or walk."),
    out: Path = typer.Option(
        ..., "--out", dir_okay=False, help="File to write (.gpkg or .geojson)."
    ),
) -> None:
    """Propose new community focal points; print what each gains, in order."""
    import pandas as pd

    from geo.planning.response.locate import run_locate

    lang = get_settings().language
    engine, place = _community(community)
    try:
        run_id, result = run_locate(
            engine, place, add=add, minutes=minutes, model=model, candidates=candidates, mode=mode
        )
    except HartaError as error:
        _fail(error)
    if result.too_few:
        err.print(result.message(lang))
        raise typer.Exit(1)
    result.to_file(out)
    table = pd.DataFrame(
        {
            t("response.locate.col.order", lang): result.proposals["order"],
            t("response.locate.col.candidate", lang): result.proposals["candidate_id"],
            t("response.locate.col.gain", lang): result.proposals["covered_gain"].round(2),
            t("response.locate.col.covered", lang): (100 * result.proposals["covered_after"]).round(
                1
            ),
            t("response.locate.col.mean_time", lang): (
                result.proposals["mean_time_after_s"] / 60
            ).round(1),
        }
    )
    _print(table, t("response.locate.title", lang, add=add, model=model, minutes=f"{minutes:g}"))
    console.print(
        t(
            "response.locate.summary",
            lang,
            before=number(100 * result.covered_before, lang, 1),
            after=number(100 * result.covered_after, lang, 1),
            status=result.status,
        )
    )
    console.print(t("response.locate.written", lang, path=out, run=run_id))
