"""The ``harta`` command: every non-interactive job.

One language per run: ``harta --lang hu ...`` or ``HARTA_LANGUAGE``.  Messages go through
:mod:`geo.i18n`, and so do the descriptions ``--help`` shows (:class:`LocalisedGroup`).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import typer
from rich.console import Console
from typer import rich_utils
from typer.core import TyperGroup

from geo.i18n import LANGUAGES, language_of_run, localise_commands, t
from geo.ingest.cli import register as register_import
from geo.network.cli import network_app
from geo.settings import PROJECT_ROOT, STYLES_DIR, get_settings

#: Appended to the help of commands that run as the database owner.
OPERATOR = (
    " Operator command: needs the cluster owner's credentials (DATABASE_URL, or the embedded"
    " cluster's password file)."
)
#: typer's own words in ``--help`` (panel titles), per run.
_RICH_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "app.cli.panel.arguments",
    "OPTIONS_PANEL_TITLE": "app.cli.panel.options",
    "COMMANDS_PANEL_TITLE": "app.cli.panel.commands",
}


def _localise_help_options(command, text: str) -> None:  # noqa: ANN001
    """Give ``--help`` of ``command`` and every sub-command the help ``text`` (typer's click
    creates that option on demand, with English words)."""
    original = command.get_help_option

    def help_option(ctx):  # noqa: ANN001, ANN202
        option = original(ctx)
        if option is not None:
            option.help = text
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _localise_help_options(sub, text)


class LocalisedGroup(TyperGroup):
    """The ``harta`` group: one language per run, ``--help`` included.

    Before click parses anything, the run's language is read from ``--lang`` or
    ``HARTA_LANGUAGE`` (:func:`geo.i18n.language_of_run`); it is put in ``HARTA_LANGUAGE`` for
    the run (every command, here or in a sub-package's ``cli.py``, reads
    ``get_settings().language``) and the help texts of the whole command tree are replaced by
    the catalogue's (:func:`geo.i18n.localise_commands`).  Both are undone when the run ends.
    """

    def main(self, args=None, *rest, **extra):  # noqa: ANN001, ANN002, ANN003, ANN201
        """Run the command line in its one language (see the class)."""
        argv = list(sys.argv[1:] if args is None else args)
        previous = os.environ.get("HARTA_LANGUAGE")
        lang = language_of_run(argv, previous)
        words = {name: getattr(rich_utils, name) for name in _RICH_WORDS}
        os.environ["HARTA_LANGUAGE"] = lang
        for name, key in _RICH_WORDS.items():
            setattr(rich_utils, name, t(key, lang))
        localise_commands(self, lang)
        _localise_help_options(self, t("app.cli.word.help", lang))
        try:
            return super().main(argv, *rest, **extra)
        finally:
            for name, word in words.items():
                setattr(rich_utils, name, word)
            if previous is None:
                os.environ.pop("HARTA_LANGUAGE", None)
            else:
                os.environ["HARTA_LANGUAGE"] = previous


app = typer.Typer(
    cls=LocalisedGroup, help="Harta: risk mapping and safety planning.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The database: embedded cluster or DATABASE_URL." + OPERATOR, no_args_is_help=True
)
community_app = typer.Typer(help="Communities: Pata Rât, settlements, partners." + OPERATOR)
demo_app = typer.Typer(help="Synthetic demo layers, clearly labelled as demo." + OPERATOR)
user_app = typer.Typer(
    help="Accounts: add, list, change password, deactivate." + OPERATOR, no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(community_app, name="community")
app.add_typer(demo_app, name="demo")
app.add_typer(network_app, name="network")

console = Console()
err = Console(stderr=True)


@app.callback()
def _private_files(
    lang: str | None = typer.Option(
        None, "--lang", help="Language of this run: ro, hu or en (default: HARTA_LANGUAGE)."
    ),
) -> None:
    # LocalisedGroup.main already applied --lang; here it is only checked.
    if lang is not None and lang not in LANGUAGES:
        raise typer.BadParameter(", ".join(LANGUAGES), param_hint="--lang")
    from geo.files import make_private

    make_private()  # every file any command writes is 0600, the data folder 0700 (geo/files.py)


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
    """Say where the database is, whether it runs, and how to open it with psql."""
    from sqlalchemy.engine import make_url

    from geo.db.local import DATABASE_NAME, SUPERUSER, LocalCluster

    settings, lang = get_settings(), _lang()
    if settings.database_url:
        url = make_url(settings.database_url)
        safe = url.render_as_string(hide_password=True)
        console.print(t("app.cli.db_external_at", lang, url=safe), markup=False)
        console.print(t("app.cli.db_names", lang, database=url.database, user=url.username))
        command = psql_command(url.host, url.port, url.database, url.username)
        console.print(command, markup=False, soft_wrap=True)  # one line, ready to paste
        console.print(t("app.cli.db_psql_password", lang))
        return
    cluster = LocalCluster.from_settings(settings)
    key = "app.cli.db_running" if cluster.is_running() else "app.cli.db_not_running"
    console.print(t(key, lang, where=str(cluster.directory), port=cluster.port))
    console.print(t("app.cli.db_names", lang, database=DATABASE_NAME, user=SUPERUSER))
    if cluster.password_file.exists():
        passfile = write_pgpass(cluster)
        command = psql_command("127.0.0.1", cluster.port, DATABASE_NAME, SUPERUSER, passfile)
        console.print(command, markup=False, soft_wrap=True)
        console.print(t("app.cli.db_psql_passfile", lang, file=str(passfile)), markup=False)


def psql_command(
    host: str | None, port: int | None, database: str | None, user: str | None,
    passfile: Path | None = None,
) -> str:  # fmt: skip
    """A ready ``psql`` command line for a database, without its password.

    Parameters
    ----------
    host, port, database, user
        Where to connect (None: psql's default).
    passfile : Path, optional
        A ``.pgpass`` file psql reads the password from (``PGPASSFILE``); without it psql
        reads ``~/.pgpass`` or asks.

    Returns
    -------
    str
    """
    parts = {"host": host, "port": port, "dbname": database, "user": user}
    conninfo = " ".join(f"{k}={v}" for k, v in parts.items() if v not in (None, ""))
    prefix = f"PGPASSFILE={shlex.quote(str(passfile))} " if passfile else ""
    return f"{prefix}psql {shlex.quote(conninfo)}"


def write_pgpass(cluster) -> Path:  # noqa: ANN001
    """Write the embedded cluster's password, in psql's ``.pgpass`` format, to a 0600 file
    beside the password file it comes from (``<cluster>/psql.pgpass``).

    Parameters
    ----------
    cluster : geo.db.local.LocalCluster

    Returns
    -------
    Path
        The file, for ``PGPASSFILE``.
    """
    from geo.db.local import SUPERUSER
    from geo.files import write_private_text

    secret = cluster.password_file.read_text().strip()
    escaped = secret.replace("\\", "\\\\").replace(":", "\\:")
    lines = [
        f"{host}:{cluster.port}:*:{SUPERUSER}:{escaped}" for host in ("127.0.0.1", "localhost")
    ]
    return write_private_text(cluster.directory / "psql.pgpass", "\n".join(lines) + "\n")


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
    """Migrate the database and load the bundled Pata Rât data (idempotent).

    Operator command: needs the cluster owner's credentials.
    """
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


# --- acting as an account -------------------------------------------------------------------
# Commands that read or write incident rows act as a named account under row-level security,
# never as the database owner: ``--as USER`` signs in (lockout applies) and the command runs on
# ``role_engine(url, user.role, user_id=user.id)``.  The password comes from a hidden prompt,
# ``--password-stdin`` or HARTA_PASSWORD (for scripts), never from the command line.

AS_HELP = "Act as this Harta account (its role and communities); asks for its password."
PASSWORD_STDIN_HELP = "Read the account's password from stdin (else HARTA_PASSWORD, else a prompt)."


def _account_password(username: str, password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    from_env = os.environ.get("HARTA_PASSWORD")
    if from_env:
        return from_env
    return typer.prompt(t("export.cli.password_for", _lang(), user=username), hide_input=True)


def acting_engine(as_user: str | None, password_stdin: bool = False):  # noqa: ANN201
    """The engine a command acts on, and the account (None when nobody signed in).

    Parameters
    ----------
    as_user : str or None
        Username from ``--as``; without it the command acts as the ``public`` role.
    password_stdin : bool
        Read the password from standard input.

    Returns
    -------
    (Engine, geo.accounts.User or None)

    Raises
    ------
    typer.Exit
        Code 1 when the password is wrong, the account unknown, inactive or locked (one
        message for all, as on the sign-in page).
    """
    from geo.db.engine import database_url
    from geo.db.security import role_engine

    url = database_url()
    if as_user is None:
        return role_engine(url, "public"), None
    from geo.accounts import authenticate

    password = _account_password(as_user, password_stdin)
    result = authenticate(_engine(), as_user, password)
    if not result.ok or result.user is None:
        err.print(f"[red]{t(result.message_key, _lang())}[/red]")
        raise typer.Exit(1)
    user = result.user
    return role_engine(url, user.role, user_id=user.id), user


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


# --- accounts -----------------------------------------------------------------------------
# Run as the schema owner (the CLI is trusted, like migrations); passwords are read from a
# hidden prompt with confirmation or from standard input, never from the command line (where
# they would land in the shell history and the process list).


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt(
        t("app.cli.password_prompt", _lang()),
        hide_input=True,
        confirmation_prompt=t("app.cli.password_repeat", _lang()),
    )


def _account_error(error) -> None:  # noqa: ANN001
    err.print(error.message(_lang()))
    raise typer.Exit(1)


def _load_community(engine, slug: str):  # noqa: ANN001, ANN202
    """The community with ``slug``, loaded once for the command; exits 1 when there is none."""
    from geo.communities import Community, UnknownCommunity

    try:
        return Community.load(engine, slug)
    except UnknownCommunity:
        err.print(t("app.cli.unknown_community", _lang(), slug=slug))
        raise typer.Exit(1) from None


def _community_ids(engine, slugs: list[str]) -> list[int]:  # noqa: ANN001
    return [_load_community(engine, slug).id for slug in slugs]


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(
        ..., "--role", help="public, community, mediator, police, planner, admin"
    ),
    community: list[str] = typer.Option([], "--community", help="Community slug (repeatable)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Create an account."""
    from geo.accounts import AccountError, create_user

    engine = _engine()
    ids = _community_ids(engine, community)
    password = _read_password(password_stdin)
    try:
        user = create_user(engine, username, password, role, ids)
    except AccountError as error:
        _account_error(error)
    console.print(t("app.cli.user_added", _lang(), user=user.username, role=user.role))


@user_app.command("list")
def user_list() -> None:
    """List accounts (never passwords)."""
    from geo.accounts import list_users

    engine = _engine()
    from sqlalchemy import text

    with engine.connect() as conn:
        slugs = dict(conn.execute(text("SELECT id, slug FROM communities")).all())
    for user in list_users(engine):
        state = t("app.cli.user_active" if user.active else "app.cli.user_inactive", _lang())
        locked = " 🔒" if user.locked_until is not None else ""
        scope = ",".join(slugs.get(c, str(c)) for c in user.communities) or "-"
        console.print(f"{user.username}\t{user.role}\t{scope}\t{state}{locked}", markup=False)


@user_app.command("passwd")
def user_passwd(
    username: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Set a new password (also unlocks the account)."""
    from geo.accounts import AccountError, set_password

    password = _read_password(password_stdin)
    try:
        set_password(_engine(), username, password)
    except AccountError as error:
        _account_error(error)
    console.print(t("app.cli.password_set", _lang(), user=username.strip().lower()))


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """Disable an account (kept for the record)."""
    from geo.accounts import AccountError, deactivate

    try:
        deactivate(_engine(), username)
    except AccountError as error:
        _account_error(error)
    console.print(t("app.cli.user_deactivated", _lang(), user=username.strip().lower()))


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


# --- the app ------------------------------------------------------------------------------


def streamlit_theme_flags() -> list[str]:
    """``--theme.*`` flags from ``styles/theme.toml`` (the one place the theme is defined)."""
    path = STYLES_DIR / "theme.toml"
    if not path.exists():
        return []
    theme = tomllib.loads(path.read_text(encoding="utf-8")).get("theme", {})
    # Lists (chart colour ramps) go to Streamlit as JSON, booleans in lower case.
    return [
        f"--theme.{key}={json.dumps(value) if isinstance(value, list | bool) else value}"
        for key, value in theme.items()
    ]


def streamlit_security_flags() -> list[str]:
    """Flags every served Harta runs with: upload limit (``HARTA_MAX_UPLOAD_MB``), XSRF
    protection, no file watching."""
    return [
        "--server.maxUploadSize",
        str(get_settings().max_upload_mb),
        "--server.enableXsrfProtection",
        "true",
        "--server.fileWatcherType",
        "none",
    ]


def streamlit_command(port: int, address: str) -> list[str]:
    """The one command line that serves the app (used by ``harta serve`` and the browser tests).

    ``browser.serverAddress`` is set so that Streamlit prints that URL instead of looking up the
    machine's external address on the internet; the toolbar shows no "Deploy" button.  It runs
    through ``app/serve.py``, which adds the Content-Security-Policy and the other security
    headers to every response (Streamlit has no setting for them).
    """
    return [
        sys.executable, str(PROJECT_ROOT / "app" / "serve.py"),
        "run", str(PROJECT_ROOT / "app" / "Home.py"),
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--server.enableStaticServing", "true",
        "--browser.gatherUsageStats", "false", "--browser.serverAddress", "localhost",
        "--client.toolbarMode", "minimal",
        *streamlit_security_flags(),
        *streamlit_theme_flags(),
    ]  # fmt: skip


@app.command("serve")
def serve(
    port: int = typer.Option(8501),
    demo: bool = typer.Option(True, help="Seed the demo layers the first time."),
    stop_db_on_exit: bool = typer.Option(
        False, "--stop-db-on-exit", help="Stop the embedded PostgreSQL when the app stops."
    ),
) -> None:
    """Prepare the database and serve the app (http://localhost:PORT); Ctrl-C stops it."""
    prepare_database(demo=demo)
    args = streamlit_command(port, get_settings().address)
    console.print(t("app.cli.serving", _lang(), url=f"http://localhost:{port}"))
    code = run_app(args)
    after_serve(stop_db_on_exit)
    raise typer.Exit(code)


def run_app(args: list[str]) -> int:
    """Run the app's server until it ends; Ctrl-C and SIGTERM stop it cleanly.

    Parameters
    ----------
    args : list of str
        :func:`streamlit_command`.

    Returns
    -------
    int
        The server's exit code.
    """
    proc = subprocess.Popen(args)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                # A terminal's Ctrl-C reached the server too; a lone SIGINT to us is passed on.
                proc.send_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)


def after_serve(stop_db: bool) -> None:
    """Say what became of the database when the app stopped, and stop it if asked.

    Parameters
    ----------
    stop_db : bool
        ``--stop-db-on-exit``: stop the embedded cluster.  A server named by ``DATABASE_URL``
        is never stopped (Harta did not start it).

    Returns
    -------
    None
    """
    from geo.db.local import LocalCluster

    settings, lang = get_settings(), _lang()
    if settings.database_url:
        console.print(t("app.cli.serve_external", lang))
        return
    cluster = LocalCluster.from_settings(settings)
    if not cluster.is_running():
        return
    if stop_db:
        cluster.stop()
        console.print(t("app.cli.db_stopped", lang))
        return
    where, port = str(cluster.directory), cluster.port
    console.print(t("app.cli.serve_db_running", lang, where=where, port=port), markup=False)


if __name__ == "__main__":  # pragma: no cover
    app()
