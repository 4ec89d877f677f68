"""The embedded PostGIS cluster that Harta manages under its data folder.

PostgreSQL refuses to run as root, so when Harta runs as root the cluster's files belong to the
``postgres`` system user and every server command runs through ``runuser -u postgres``.
The server listens on localhost (``HARTA_PG_PORT``) and on a unix socket in the cluster folder.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from geo.settings import Settings, get_settings

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
DATABASE_NAME = "harta"
SUPERUSER = "harta"


class ClusterError(RuntimeError):
    """The embedded cluster could not be created or started."""


def pg_bin_dir() -> Path:
    """Folder holding ``initdb`` and ``pg_ctl``."""
    for candidate in PG_BIN_CANDIDATES:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ClusterError(
        "PostgreSQL server binaries not found in "
        + ", ".join(PG_BIN_CANDIDATES)
        + ". Run ./scripts/run, which installs PostgreSQL 15 and PostGIS."
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


RELOCATED_ROOT = Path("/var/tmp/harta-clusters")


def _short_hash(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]


def _server_user_can_reach(folder: Path) -> bool:
    """True when every existing ancestor of ``folder`` lets other users through."""
    for part in [folder.resolve(), *folder.resolve().parents]:
        if part.exists():
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
    return True


def _chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class LocalCluster:
    """A PostgreSQL cluster in ``directory``, reachable on ``port`` and a unix socket.

    Parameters
    ----------
    directory : Path
        Cluster folder (``PGDATA`` is ``directory / "data"``).
    port : int
        TCP port on 127.0.0.1.
    """

    directory: Path
    port: int

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        if os.geteuid() == 0 and not _server_user_can_reach(self.directory.parent):
            # As root the server runs as ``postgres``, which cannot enter e.g. /root/...; keep
            # the cluster in a folder it can reach, named after the requested one.
            self.directory = RELOCATED_ROOT / _short_hash(self.directory)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LocalCluster:
        settings = settings or get_settings()
        return cls(settings.cluster_dir, settings.pg_port)

    @property
    def pgdata(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        socket_dir = self.directory / "run"
        # Unix socket paths are limited to about 107 bytes; deep checkouts get a short one.
        if len(str(socket_dir / f".s.PGSQL.{self.port}")) > 100:
            return Path("/tmp") / f"harta-{_short_hash(self.directory)}"
        return socket_dir

    @property
    def logfile(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str = DATABASE_NAME) -> str:
        """SQLAlchemy URL of ``database`` over TCP on localhost."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = _as_server_user([str(pg_bin_dir() / args[0]), *args[1:]])
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def init(self) -> None:
        """Create the cluster (trust auth on localhost and the socket only)."""
        for folder in (self.directory, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            _chown_for_server(folder)
        if self.is_initialised():
            return
        done = self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            check=False,
        )
        if done.returncode != 0:
            raise ClusterError(f"initdb failed: {done.stderr.strip()}")
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "timezone = 'UTC'\nfsync = on\n"
            )

    def running_port(self) -> int | None:
        """Port the running server listens on (from ``postmaster.pid``), or None."""
        pid_file = self.pgdata / "postmaster.pid"
        if not self.is_running() or not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def start(self, timeout_s: float = 30) -> None:
        """Initialise if needed, start if stopped, and create the Harta database.

        A server already running from this folder is adopted on whatever port it listens on.
        """
        self.init()
        running_on = self.running_port()
        if running_on is not None:
            self.port = running_on
        else:
            if self.logfile.exists():
                _chown_for_server(self.logfile)
            else:
                self.logfile.touch()
                _chown_for_server(self.logfile)
            done = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                str(int(timeout_s)),
                "-o",
                f"-p {self.port}",
                check=False,
            )
            if done.returncode != 0:
                tail = self.logfile.read_text(errors="replace")[-2000:]
                raise ClusterError(f"pg_ctl start failed: {done.stderr.strip()}\n{tail}")
        self._wait_ready(timeout_s)
        self.create_database(DATABASE_NAME)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False)
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError(f"PostgreSQL on port {self.port} did not become ready")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command as the cluster's superuser; return its output."""
        connection = ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database]
        done = self._run(
            "psql", *connection, "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql, check=False
        )
        if done.returncode != 0:
            raise ClusterError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> None:
        """Create database ``name`` with PostGIS if it does not exist yet."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')
        self.psql("CREATE EXTENSION IF NOT EXISTS postgis", database=name)

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")

    def destroy(self) -> None:
        """Stop the cluster and delete its files."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
