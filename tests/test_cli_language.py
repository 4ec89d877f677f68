"""The command line speaks one language per run (issue 11, item 10): ``--lang`` or
``HARTA_LANGUAGE`` for the results and for ``--help``; ``harta db status`` gives a ready
``psql`` command with no password in it; stopping ``harta serve`` says what became of
PostgreSQL and ``--stop-db-on-exit`` stops it."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from geo.cli import after_serve, app
from geo.db.local import SUPERUSER, LocalCluster
from geo.i18n import t
from tests.browser import free_port
from tests.conftest import ROOT, TEST_DATA_DIR

runner = CliRunner()
EXTERNAL = "postgresql+psycopg://harta_ops:s3cret-Pa55@db.example:5433/harta_prod"


def _help(args: list[str], env: dict[str, str]) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": "200", "TERMINAL_WIDTH": "200", **env})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("lang", ["ro", "hu", "en"])
def test_help_describes_the_commands_in_the_runs_language(lang):
    by_option = _help(["--lang", lang, "db", "--help"], {"HARTA_LANGUAGE": "ro"})
    by_env = _help(["db", "--help"], {"HARTA_LANGUAGE": lang})
    for shown in (by_option, by_env):
        for command in ("db.stop", "db.upgrade"):
            assert t(f"app.cli.help.{command}", lang) in shown
        assert t("app.cli.panel.commands", lang) in shown
        assert t("app.cli.word.help", lang) in shown
    top = _help(["--lang", lang, "--help"], {})
    assert t("app.cli.help.withdraw", lang) in top
    assert t("app.cli.help.user.list", lang) in _help(["--lang", lang, "user", "--help"], {})
    if lang != "en":  # nothing left in English
        assert t("app.cli.help.db.stop", "en") not in by_option + by_env


def test_the_run_leaves_the_language_setting_as_it_found_it(monkeypatch):
    monkeypatch.setenv("HARTA_LANGUAGE", "en")
    _help(["--lang", "hu", "db", "--help"], {})
    assert os.environ["HARTA_LANGUAGE"] == "en"
    # ...and the next run, in another language, shows no trace of the previous one.
    assert t("app.cli.help.db.stop", "en") in _help(["db", "--help"], {})


def test_an_unknown_language_is_refused():
    result = runner.invoke(app, ["--lang", "de", "db", "status"], env={"DATABASE_URL": EXTERNAL})
    assert result.exit_code == 2


@pytest.mark.parametrize("lang", ["ro", "hu", "en"])
def test_db_status_names_the_database_and_gives_psql_without_the_password(lang):
    env = {"DATABASE_URL": EXTERNAL, "HARTA_LANGUAGE": "en" if lang != "en" else "ro"}
    result = runner.invoke(app, ["--lang", lang, "db", "status"], env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert t("app.cli.db_names", lang, database="harta_prod", user="harta_ops") in out
    assert "psql 'host=db.example port=5433 dbname=harta_prod user=harta_ops'" in out
    assert "s3cret" not in out


@pytest.mark.db
def test_db_status_psql_command_of_the_embedded_cluster_signs_in_from_a_file(pg_server_url):
    """The printed command, run as printed, gets past the server's password check."""
    server = make_url(pg_server_url)
    folder = TEST_DATA_DIR / f"status-{free_port()}"
    (folder / "pg").mkdir(parents=True)
    try:
        # A data folder whose cluster password is the test server's (a copy, read only).
        password = server.password
        (folder / "pg" / "superuser.password").write_text(password + "\n")
        env = {"HARTA_DATA_DIR": str(folder), "HARTA_PG_PORT": str(server.port)}
        env = {**env, "DATABASE_URL": ""}
        result = runner.invoke(app, ["--lang", "en", "db", "status"], env=env)
        assert result.exit_code == 0, result.output
        assert password not in result.stdout
        command = next(line for line in result.stdout.splitlines() if "psql '" in line)
        passfile = folder / "pg" / "psql.pgpass"
        assert command.startswith(f"PGPASSFILE={passfile} psql ")
        assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        ran = subprocess.run(
            f"{command} -c 'SELECT current_user'", shell=True, env=clean,
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        # The password was accepted: the server only objects that the test server has no
        # database "harta" (it checks the password first), or it answers.
        assert "password authentication failed" not in ran.stderr
        assert ran.returncode == 0 or 'database "harta" does not exist' in ran.stderr, ran.stderr
        assert SUPERUSER in ran.stdout or ran.returncode != 0
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.db
def test_after_serve_says_postgres_keeps_running_or_stops_it(monkeypatch, capsys):
    folder = TEST_DATA_DIR / f"serve-{free_port()}"
    port = free_port()
    monkeypatch.setenv("HARTA_DATA_DIR", str(folder))
    monkeypatch.setenv("HARTA_PG_PORT", str(port))
    monkeypatch.setenv("HARTA_LANGUAGE", "hu")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cluster = LocalCluster.from_settings()
    try:
        cluster.start()
        after_serve(stop_db=False)
        said = capsys.readouterr().out
        where = str(cluster.directory)
        expected = t("app.cli.serve_db_running", "hu", where=where, port=port)
        assert expected in " ".join(said.split())
        assert cluster.is_running()
        after_serve(stop_db=True)
        assert t("app.cli.db_stopped", "hu") in capsys.readouterr().out
        assert not cluster.is_running()
    finally:
        cluster.destroy()


@pytest.mark.db
def test_ctrl_c_on_serve_stops_the_app_and_says_what_became_of_the_database(loaded_db_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": loaded_db_url, "HARTA_LANGUAGE": "en"}
    cmd = [sys.executable, "-m", "geo.cli", "--lang", "ro", "serve", "--port", str(port),
           "--no-demo", "--stop-db-on-exit"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the app did not start")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert t("app.cli.serve_external", "ro") in " ".join(out.split())
    # The database named by DATABASE_URL is not Harta's to stop, even with --stop-db-on-exit.
    from sqlalchemy import create_engine, text

    engine = create_engine(loaded_db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
