"""``harta import``: the command line of the importer, registered by :mod:`geo.cli`.

Exit codes (documented in the command's help)::

    0  written (or, with --dry-run, the file would import)
    1  rows refused: nothing written, the report says which rows and why
    2  the file cannot be read, or the command is wrong (unknown layer, community, profile,
       option); also any unexpected failure, shown as one line, never as a traceback

The command is defined here, next to the importer, and :func:`register` adds it to the main
application; how the engine is obtained (an operator, or ``--as`` an account) stays in
:mod:`geo.cli`, which passes it in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from geo.i18n import t
from geo.settings import get_settings

EXIT_WRITTEN, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2

HELP = (
    "Import a layer from GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, GPX, CSV, .xlsx or"
    " .ods.\n\nIncidents only with --as (a police or mediator account).  Other layers without"
    " --as are an operator import: it needs the cluster owner's credentials and is recorded as"
    " admin.\n\nColumns and values: headers in Romanian, Hungarian and English are recognised;"
    " otherwise --field type_code='Tip eveniment' (and --field time=Ora for a separate time"
    " column), --value type_code:'Scandal'=conflict_dispute, --set hazard_code=flooding for"
    " rows without a value, or --profile NAME (data/import_profiles/NAME.json); --save-profile"
    " keeps the options given as a profile.\n\nExit codes: 0 written; 1 rows refused, nothing"
    " written; 2 file unreadable, wrong option, or unexpected failure."
)

err = Console(stderr=True)
out = Console()


def register(
    app: typer.Typer,
    *,
    acting_engine: Callable,
    owner_engine: Callable,
    as_help: str,
    password_stdin_help: str,
) -> None:
    """Add the ``import`` command to ``app``.

    Parameters
    ----------
    app : typer.Typer
        The main ``harta`` application.
    acting_engine : callable
        ``acting_engine(username, password_stdin) -> (engine, user)`` signs an account in.
    owner_engine : callable
        ``owner_engine() -> engine`` of the cluster owner (operator imports).
    as_help, password_stdin_help : str
        Help of the shared ``--as`` and ``--password-stdin`` options.
    """

    @app.command("import", help=HELP)
    def import_cmd(
        layer: str = typer.Argument(..., help="risk_zones, incidents or facilities"),
        file: Path = typer.Argument(..., exists=True, dir_okay=False),
        community: str = typer.Option(None, help="Community slug (default HARTA_COMMUNITY)."),
        crs: str | None = typer.Option(
            None,
            help="CRS of the source FILE when the file does not say, e.g. EPSG:3844 (not the"
            " community's metric CRS: that is 'community add --metric-crs').",
        ),
        field: list[str] = typer.Option([], "--field", help="FIELD=COLUMN (repeatable)."),
        value: list[str] = typer.Option([], "--value", help="FIELD:TEXT=CODE (repeatable)."),
        set_: list[str] = typer.Option([], "--set", help="FIELD=VALUE for rows without one."),
        profile: str | None = typer.Option(None, help="Saved mapping profile to start from."),
        save_profile: str | None = typer.Option(None, help="Save the mapping as this profile."),
        sheet: str | None = typer.Option(None, help="Sheet of a workbook, layer of a file."),
        dry_run: bool = typer.Option(False, help="Check and report; write nothing."),
        skip_invalid: bool = typer.Option(False, help="Write the valid rows, report the rest."),
        as_user: str | None = typer.Option(None, "--as", help=as_help),
        password_stdin: bool = typer.Option(False, "--password-stdin", help=password_stdin_help),
    ) -> None:
        lang = get_settings().language
        if as_user is None and layer == "incidents":
            err.print(f"[red]{t('export.cli.import_needs_account', lang)}[/red]")
            raise typer.Exit(EXIT_UNUSABLE)
        if as_user is None:
            engine, role = owner_engine(), "admin"
        else:
            engine, user = acting_engine(as_user, password_stdin)
            role = user.role
        code = run_import(
            engine,
            layer,
            file,
            community=community or get_settings().community,
            role=role,
            lang=lang,
            crs=crs,
            options=(field, value, set_),
            profile=profile,
            save_as=save_profile,
            sheet=sheet,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )
        raise typer.Exit(code)


def run_import(
    engine,  # noqa: ANN001
    layer: str,
    file: Path,
    *,
    community: str,
    role: str,
    lang: str,
    crs: str | None = None,
    options: tuple[list[str], list[str], list[str]] = ([], [], []),
    profile: str | None = None,
    save_as: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> int:
    """Run one import as the command does and return its exit code (messages printed).

    Parameters
    ----------
    engine : Engine
        The engine of the person importing.
    layer, file, community, role, lang, crs, sheet, dry_run, skip_invalid
        As the command's arguments.
    options : tuple of three lists
        ``--field``, ``--value`` and ``--set`` as given.
    profile, save_as : str, optional
        Profile to start from; name to save the resulting mapping under.

    Returns
    -------
    int
        :data:`EXIT_WRITTEN`, :data:`EXIT_REFUSED` or :data:`EXIT_UNUSABLE`.
    """
    from rich.progress import Progress

    from geo.communities.model import Community, UnknownCommunity
    from geo.ingest import (
        ImportFailed,
        ImportRejected,
        import_file,
        load_profile,
        parse_options,
        save_profile,
    )

    try:
        mapping = parse_options(*options)
        if profile:
            mapping = load_profile(profile).merged(mapping)
        if save_as:
            saved = save_profile(mapping, save_as)
            err.print(t("ingest.cli.profile_saved", lang, profile=saved.stem, path=saved))
        try:
            target = Community.load(engine, community)
        except UnknownCommunity:
            raise ImportFailed("ingest.error.unknown_community", community=community) from None
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task(t("app.cli.importing", lang, file=file.name), total=None)
            report = import_file(
                engine,
                layer,
                file,
                community=target,
                crs=crs,
                skip_invalid=skip_invalid,
                role=role,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                source_layer=sheet,
                dry_run=dry_run,
                mapping=mapping,
            )
    except ImportRejected as exc:
        err.print(escape(exc.report.render(lang)))
        err.print(f"[red]{escape(exc.message(lang))}[/red]")
        return EXIT_REFUSED
    except ImportFailed as exc:
        err.print(f"[red]{escape(exc.message(lang))}[/red]")
        return EXIT_UNUSABLE
    except Exception as exc:  # never a traceback: one line, and the exit code of "unusable"
        message = t("ingest.cli.unexpected", lang, file=file.name, kind=type(exc).__name__)
        err.print(f"[red]{escape(message)}[/red]")
        return EXIT_UNUSABLE
    out.print(escape(report.render(lang)))
    return EXIT_WRITTEN
