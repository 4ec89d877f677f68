"""``harta plan``: print and store a community's safety plan from the command line.

``harta plan --community SLUG [--lang ro|hu|en] [--coverage RUN] [--evacuation RUN ...]``
``[--out FILE.pdf]``
    Prints the community's next safety plan version from stored runs (default: the newest
    aggregated coverage run and the newest evacuation run of each scenario), stores it
    (``response_plan``) and copies the PDF (and the HTML beside it) to ``--out``.

Runs as the operator (the CLI's own connection); a plan still refuses a coverage run made from
focal points' houses (scope ``exact``, e.g. ``harta coverage``'s): see
:mod:`geo.planning.response.plan`.  Offline.  It sits in the reports layer because it prints
(planning may not import reports).  The lead registers :func:`plan_command` on the main app (or
mounts :data:`plan_app`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.console import Console

from geo.errors import HartaError
from geo.i18n import LANGUAGES, t
from geo.planning.response.evac_cli import _community
from geo.settings import get_settings

plan_app = typer.Typer(help="The safety plan (offline).", no_args_is_help=True)
console = Console(width=160)
err = Console(stderr=True)


@plan_app.callback()
def _group() -> None:
    """Keep the command's name on the command line (a one-command Typer app would drop it)."""


@plan_app.command("plan")
def plan_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    lang: str = typer.Option(None, "--lang", help="ro, hu or en (default HARTA_LANGUAGE)."),
    coverage: int = typer.Option(None, "--coverage", help="Coverage run id."),
    evacuation: list[int] = typer.Option(None, "--evacuation", help="Evacuation run id."),
    out: Path = typer.Option(None, "--out", dir_okay=False, help="PDF to write."),
) -> None:
    """Print and store the community's next safety plan version."""
    from geo.reports.safety_plan import publish_plan

    lang = lang or get_settings().language
    if lang not in LANGUAGES:
        err.print(t("response.plan.error.lang", "en", lang=lang))
        raise typer.Exit(2)
    engine, place = _community(community)
    chosen = {}
    if coverage is not None or evacuation:
        chosen = {"coverage_run_id": coverage, "evacuation_run_ids": list(evacuation or [])}
    try:
        published = publish_plan(engine, place, lang, **chosen)
    except HartaError as error:
        err.print(error.message(lang))
        raise typer.Exit(1) from None
    pdf, html = published.pdf, published.html
    if out is not None:
        shutil.copyfile(published.pdf, out)
        shutil.copyfile(published.html, out.with_suffix(".html"))
        pdf, html = out, out.with_suffix(".html")
    console.print(
        t(
            "response.plan.written",
            lang,
            version=published.version,
            lang=lang,
            pdf=pdf,
            html=html,
            run=published.run_id,
        )
    )
