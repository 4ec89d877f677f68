"""``harta db``, ``bootstrap`` and ``serve``: the database and the app (operator commands)."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import typer

from geo.cli.base import (
    _engine,
    _lang,
    app,
    console,
    db_app,
)
from geo.i18n import t
from geo.settings import PROJECT_ROOT, STYLES_DIR, get_settings

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
    from geo.planning.response.bundled import load_responders

    engine = _engine()
    upgrade(engine)
    bootstrap(engine)
    if demo:
        from geo.demo import seed_demo

        seed_demo(engine)
    # The real responders (OSM hospitals and clinics) of every bundled community, and with the
    # demo the invented ones; idempotent.
    load_responders(engine, demo=demo)


@app.command("bootstrap")
def bootstrap_cmd(demo: bool = typer.Option(True, help="Also seed the demo layers.")) -> None:
    """Migrate the database and load the bundled Pata Rât data (idempotent).

    Operator command: needs the cluster owner's credentials.
    """
    prepare_database(demo=demo)
    console.print(t("app.cli.bootstrapped", _lang()))


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
