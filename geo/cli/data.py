"""Data commands: ``community``, ``import``, ``export``, ``withdraw``, ``demo``, ``purge``,
``backup`` and ``restore``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from geo.cli.accounts import AS_HELP, PASSWORD_STDIN_HELP, acting_engine
from geo.cli.base import (
    _engine,
    _lang,
    _load_community,
    app,
    community_app,
    console,
    demo_app,
    err,
)
from geo.i18n import t
from geo.ingest.cli import register as register_import
from geo.settings import get_settings

# --- communities --------------------------------------------------------------------------


@community_app.command("add")
def community_add(
    name: str,
    boundary: Path = typer.Option(..., exists=True, dir_okay=False, help="Boundary polygon file."),
    osm: Path | None = typer.Option(None, exists=True, dir_okay=False, help="OSM XML extract."),
    stops: Path | None = typer.Option(None, exists=True, dir_okay=False, help="Stops GeoJSON."),
    slug: str | None = typer.Option(None),
    county: str | None = typer.Option(None),
    country: str = typer.Option("RO", help="ISO 3166-1 alpha-2 code."),
    timezone: str | None = typer.Option(None, help="e.g. Europe/Bucharest, Europe/Sofia."),
    metric_crs: str | None = typer.Option(
        None,
        "--metric-crs",
        help="The community's metric CRS for distances and areas, e.g. EPSG:3844 or 32634"
        " (default: the UTM zone of the boundary).",
    ),
    parent: str | None = typer.Option(None, help="Slug of the parent community."),
) -> None:
    """Add (or update) a partner community from its boundary and OSM extract.

    ``--metric-crs`` is the CRS the community is measured in; ``harta import --crs`` is
    something else: the CRS of a source file that does not say.
    """
    from geo.communities import add_community
    from geo.db.migrate import upgrade

    engine = _engine()
    upgrade(engine)
    try:
        community = add_community(
            engine,
            name,
            boundary,
            osm,
            stops,
            slug=slug,
            county=county,
            country=country,
            timezone=timezone,
            crs=metric_crs,
            parent=parent,
            role="admin",
        )
    except (ValueError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(
        t(
            "app.cli.community_added",
            _lang(),
            name=name,
            slug=community.slug,
            streets=community.streets,
            stops=community.stops,
            places=community.places,
        )
    )


@community_app.command("list")
def community_list() -> None:
    """List the communities in the database."""
    from geo.communities import list_communities

    frame = list_communities(_engine())
    columns = ["slug", "name", "kind", "parent_slug", "country", "timezone", "metric_crs"]
    console.print(frame[columns].to_string(index=False))


# --- import / export ----------------------------------------------------------------------


# The import command lives beside the importer (geo/ingest/cli.py: options, exit codes).
register_import(
    app,
    acting_engine=acting_engine,
    owner_engine=_engine,
    as_help=AS_HELP,
    password_stdin_help=PASSWORD_STDIN_HELP,
)


def _donut_option(value: str | None, lang: str) -> bool | tuple[float, float]:
    if value is None:
        return True
    try:
        low, high = (float(part) for part in value.split(":"))
    except ValueError:
        err.print(f"[red]{t('ingest.export.geomask_bounds', lang)}[/red]")
        raise typer.Exit(2) from None
    return (low, high)


@app.command("export")
def export_cmd(
    layer: str = typer.Argument(..., help="risk_zones, incidents, facilities or workshops"),
    file: Path = typer.Argument(..., dir_okay=False, help=".geojson, .gpkg, .kml or .csv"),
    community: str | None = typer.Option(None, help="Community slug (default: all)."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_STDIN_HELP),
    geomask: bool = typer.Option(
        False, "--geomask", help="Geomasked incidents for partners (the deployment's donut)."
    ),
    donut: str | None = typer.Option(
        None, help="MIN:MAX metres the masked export must use (refused if not the deployment's)."
    ),
) -> None:
    """Export a layer to GeoJSON, GeoPackage, KML or CSV (every export is recorded).

    Without --as the export acts as the public role (no incidents).  Incidents: --as a police
    or mediator account; row security and the account's communities decide the rows.
    """
    from geo.export import ExportFailed, ExportRefused, export_layer, geomask_report_path
    from geo.lifecycle import record_access

    lang = _lang()
    if as_user is None and layer == "incidents":
        err.print(f"[red]{t('export.cli.needs_account', lang)}[/red]")
        raise typer.Exit(2)
    mask = _donut_option(donut, lang) if geomask or donut is not None else False
    engine, user = acting_engine(as_user, password_stdin)
    role = user.role if user else "public"
    scope = list(user.communities) if user and layer == "incidents" else None
    loaded = _load_community(engine, community) if community else None
    try:
        written = export_layer(
            engine, layer, file, community=loaded, role=role, geomask=mask, scope=scope,
            lang=lang,
        )  # fmt: skip
    except (ExportFailed, ExportRefused) as exc:
        err.print(f"[red]{exc.message(lang)}[/red]")
        raise typer.Exit(2) from exc
    detail = {"layer": layer, "community": community, "rows": written, "file": str(file)}
    record_access(engine, "export", detail)  # the account and role come from the connection
    console.print(t("app.cli.exported", lang, count=written, file=str(file)))
    if mask is not False:
        report = json.loads(geomask_report_path(file).read_text(encoding="utf-8"))
        shift, risk = report["displacement"], report["k_anonymity"]
        console.print(
            t(
                "export.cli.geomasked",
                lang,
                low=f"{report['donut_m'][0]:g}",
                high=f"{report['donut_m'][1]:g}",
                median=f"{shift['observed_median_m'] or 0:.0f}",
                k=f"{risk.get('k_median', 0):g}",
                share=f"{100 * risk.get('share_k0', 0):.0f}",
                report=str(geomask_report_path(file)),
            )  # fmt: skip
        )


@app.command("withdraw")
def withdraw_cmd(
    layer: str = typer.Argument(..., help="incidents or risk_zones"),
    row_id: int = typer.Argument(..., help="Id of the row whose contributor withdrew consent."),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_STDIN_HELP),
) -> None:
    """Withdraw a contribution (consent withdrawn): the row goes, its history is redacted."""
    from geo.lifecycle import withdraw_contribution

    lang = _lang()
    engine, user = acting_engine(as_user, password_stdin)
    try:
        removed = withdraw_contribution(engine, layer, row_id)
    except PermissionError:
        err.print(f"[red]{t('export.cli.withdraw_refused', lang, role=user.role)}[/red]")
        raise typer.Exit(1) from None
    except ValueError as exc:
        err.print(f"[red]{t('export.cli.withdraw_bad_layer', lang, layer=layer)}[/red]")
        raise typer.Exit(2) from exc
    key = "export.cli.withdrawn" if removed else "export.cli.withdraw_missing"
    console.print(t(key, lang, layer=layer, id=row_id))


# --- demo ---------------------------------------------------------------------------------


@demo_app.command("seed")
def demo_seed(seed: int = typer.Option(20261123, help="Random seed.")) -> None:
    """Create the synthetic demo layers (idempotent)."""
    from geo.demo import seed_demo

    counts = seed_demo(_engine(), seed=seed)
    console.print(t("app.cli.demo_seeded", _lang(), counts=counts))


@demo_app.command("clear")
def demo_clear() -> None:
    """Delete every demo row (recorded in the audit trail)."""
    from geo.demo import clear_demo

    counts = clear_demo(_engine())
    console.print(t("app.cli.demo_cleared", _lang(), counts=counts))


# --- retention and backups -------------------------------------------------------------------


@app.command("purge")
def purge_cmd(
    older_than_days: int = typer.Option(
        None, "--older-than-days", help="Default: HARTA_RETENTION_DAYS (1825)."
    ),
) -> None:
    """Delete incidents older than the retention period (run it daily from cron).

    Operator command: needs the cluster owner's credentials.
    """
    from geo.lifecycle import purge_incidents

    days = older_than_days or get_settings().retention_days
    if days < 1:
        err.print(t("app.cli.purge_bad_days", _lang()))
        raise typer.Exit(2)
    result = purge_incidents(_engine(), days)
    console.print(t("security.purge.done", _lang(), rows=result.rows_deleted, days=days))


@app.command("backup")
def backup_cmd(file: Path) -> None:
    """Dump the whole database to FILE (mode 0600; it holds personal data: encrypt it).

    Operator command: needs the cluster owner's credentials.
    """
    from geo.db.engine import database_url
    from geo.lifecycle import LifecycleError, backup

    try:
        written = backup(database_url(), file)
    except LifecycleError as error:
        err.print(t(error.key, _lang(), **error.params))
        raise typer.Exit(1) from None
    console.print(t("security.backup.done", _lang(), file=str(written)))


@app.command("restore")
def restore_cmd(
    file: Path,
    clean: bool = typer.Option(False, help="Drop existing objects before restoring."),
) -> None:
    """Restore a backup made with 'harta backup' (all or nothing).

    Operator command: needs the cluster owner's credentials.
    """
    from geo.db.engine import database_url
    from geo.lifecycle import LifecycleError, restore

    try:
        restore(database_url(), file, clean=clean)
    except LifecycleError as error:
        err.print(t(error.key, _lang(), **error.params))
        raise typer.Exit(1) from None
    console.print(t("security.restore.done", _lang(), file=str(file)))
