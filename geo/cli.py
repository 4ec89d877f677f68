"""The ``harta`` command: every non-interactive job.

Messages a person reads go through :mod:`geo.i18n` (``--lang`` or ``HARTA_LANGUAGE``).
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import typer
from rich.console import Console

from geo.i18n import t
from geo.settings import PROJECT_ROOT, STYLES_DIR, get_settings

app = typer.Typer(help="Harta: risk mapping and safety planning.", no_args_is_help=True)
db_app = typer.Typer(help="The database: embedded cluster or DATABASE_URL.", no_args_is_help=True)
community_app = typer.Typer(help="Communities: Pata Rât, settlements, partners.")
demo_app = typer.Typer(help="Synthetic demo layers, clearly labelled as demo.")
app.add_typer(db_app, name="db")
app.add_typer(community_app, name="community")
app.add_typer(demo_app, name="demo")

console = Console()
err = Console(stderr=True)


def _lang() -> str:
    return get_settings().language


def _engine():
    from geo.db.engine import get_engine

    return get_engine()


# --- database -----------------------------------------------------------------------------


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostGIS cluster (no-op with DATABASE_URL)."""
    from geo.db.local import LocalCluster

    settings = get_settings()
    if settings.database_url:
        console.print(t("app.cli.db_external", _lang()))
        return
    cluster = LocalCluster.from_settings(settings)
    cluster.start()
    console.print(t("app.cli.db_running", _lang(), where=str(cluster.directory), port=cluster.port))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostGIS cluster."""
    from geo.db.local import LocalCluster

    LocalCluster.from_settings().stop()
    console.print(t("app.cli.db_stopped", _lang()))


@db_app.command("status")
def db_status() -> None:
    """Say where the database is and whether it runs."""
    from geo.db.local import LocalCluster

    settings = get_settings()
    if settings.database_url:
        from sqlalchemy.engine import make_url

        safe = make_url(settings.database_url).render_as_string(hide_password=True)
        console.print(t("app.cli.db_external_at", _lang(), url=safe))
        return
    cluster = LocalCluster.from_settings(settings)
    key = "app.cli.db_running" if cluster.is_running() else "app.cli.db_not_running"
    console.print(t(key, _lang(), where=str(cluster.directory), port=cluster.port))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations."""
    from geo.db.migrate import upgrade

    upgrade(_engine())
    console.print(t("app.cli.db_migrated", _lang()))


def prepare_database(demo: bool = True) -> None:
    """Start (if embedded), migrate and load the bundled communities and demo layers."""
    from geo.communities import bootstrap
    from geo.db.migrate import upgrade

    engine = _engine()
    upgrade(engine)
    bootstrap(engine)
    if demo:
        from geo.demo import seed_demo

        seed_demo(engine)


@app.command("bootstrap")
def bootstrap_cmd(demo: bool = typer.Option(True, help="Also seed the demo layers.")) -> None:
    """Migrate the database and load the bundled Pata Rât data (idempotent)."""
    prepare_database(demo=demo)
    console.print(t("app.cli.bootstrapped", _lang()))


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
    crs: int | None = typer.Option(None, help="Metric CRS EPSG code (default: UTM zone)."),
    parent: str | None = typer.Option(None, help="Slug of the parent community."),
) -> None:
    """Add (or update) a partner community from its boundary and OSM extract."""
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
            metric_crs=crs,
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


@app.command("import")
def import_cmd(
    layer: str = typer.Argument(..., help="risk_zones, incidents or facilities"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    community: str = typer.Option(None, help="Community slug (default HARTA_COMMUNITY)."),
    crs: str | None = typer.Option(
        None, help="CRS of the file when it does not say, e.g. EPSG:3844."
    ),
    skip_invalid: bool = typer.Option(False, help="Write the valid rows, report the rest."),
    role: str = typer.Option("admin", help="Role recorded in the provenance and audit trail."),
) -> None:
    """Import a layer from GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, GPX or CSV."""
    from rich.progress import Progress

    from geo.ingest import ImportFailed, ImportRejected, import_file

    lang = _lang()
    community = community or get_settings().community
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(t("app.cli.importing", lang, file=file.name), total=None)

        def report_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = import_file(
                _engine(),
                layer,
                file,
                community=community,
                crs=crs,
                skip_invalid=skip_invalid,
                role=role,
                progress=report_progress,
                lang=lang,
            )
        except ImportRejected as exc:
            err.print(exc.report.render(lang))
            err.print(f"[red]{t('app.cli.import_rejected', lang)}[/red]")
            raise typer.Exit(1) from exc
        except ImportFailed as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    console.print(report.render(lang))


@app.command("export")
def export_cmd(
    layer: str = typer.Argument(..., help="risk_zones, incidents, facilities or workshops"),
    file: Path = typer.Argument(..., dir_okay=False, help=".geojson, .gpkg, .kml or .csv"),
    community: str | None = typer.Option(None, help="Community slug (default: all)."),
    role: str = typer.Option("admin", help="Role the export is made for."),
) -> None:
    """Export a layer to GeoJSON, GeoPackage, KML or CSV."""
    from geo.export import export_layer

    try:
        written = export_layer(_engine(), layer, file, community=community, role=role)
    except (ValueError, PermissionError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(t("app.cli.exported", _lang(), count=written, file=str(file)))


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


# --- the app ------------------------------------------------------------------------------


def streamlit_theme_flags() -> list[str]:
    """``--theme.*`` flags from ``styles/theme.toml`` (the one place the theme is defined)."""
    path = STYLES_DIR / "theme.toml"
    if not path.exists():
        return []
    theme = tomllib.loads(path.read_text(encoding="utf-8")).get("theme", {})
    return [f"--theme.{key}={value}" for key, value in theme.items()]


@app.command("serve")
def serve(
    port: int = typer.Option(8501),
    demo: bool = typer.Option(True, help="Seed the demo layers the first time."),
) -> None:
    """Prepare the database and serve the app (http://localhost:PORT)."""
    prepare_database(demo=demo)
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "app" / "Home.py"),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.enableStaticServing",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *streamlit_theme_flags(),
    ]
    console.print(t("app.cli.serving", _lang(), url=f"http://localhost:{port}"))
    os.execv(sys.executable, args)


if __name__ == "__main__":  # pragma: no cover
    app()
