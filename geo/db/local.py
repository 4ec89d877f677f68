"""The embedded PostGIS cluster that Harta manages under its data folder.

PostgreSQL refuses to run as root, so when Harta runs as root the cluster's files belong to the
``postgres`` system user and every server command runs through ``runuser -u postgres``.
The server listens on localhost (``HARTA_PG_PORT``) and on a unix socket in the cluster folder.

Nobody is trusted: the cluster superuser ``harta`` has a generated password (``secrets``) kept in
``<cluster>/superuser.password``, mode 0600, owned by the account that runs Harta; every line of
``pg_hba.conf`` asks for it (``scram-sha-256``), on the socket and on 127.0.0.1/::1 alike.  The
cluster folder and the socket folder are 0700 (owned by the server's account), the socket 0700.
A cluster created by an older Harta with ``--auth=trust`` is upgraded the next time it starts:
the password is set in single-user mode (no network, so no window in which trust still holds),
then ``pg_hba.conf`` is rewritten; no data is touched.  A server that is already running is
adopted as it is and upgraded at its next start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from geo.files import private_data_dir, write_private_text
from geo.settings import Settings, get_settings

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
DATABASE_NAME = "harta"
SUPERUSER = "harta"
#: Name of the superuser's password file inside the cluster folder.
PASSWORD_FILE = "superuser.password"
#: The whole of pg_hba.conf: no trust, no peer; the password over every transport.
HBA_CONF = """\
# Written by Harta (geo/db/local.py).  No trust: every connection proves the password of its
# role with scram-sha-256, over the unix socket and over localhost alike.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""
#: Settings appended to postgresql.auto.conf of every cluster (later lines win).
_SECURITY_CONF_MARK = "# harta: security settings"
SCRAM_ITERATIONS = 4096

log = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """The embedded cluster could not be created or started."""


def pg_bin_dir() -> Path:
    """Folder holding ``initdb`` and ``pg_ctl``.

    Returns
    -------
    Path

    Raises
    ------
    ClusterError
        When no PostgreSQL server binaries are installed.
    """
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


def _server_ids() -> tuple[int, int]:
    """(uid, gid) of the account the server runs as: ``postgres`` as root, else ourselves."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        return entry.pw_uid, entry.pw_gid
    return os.geteuid(), os.getegid()


def _server_groups(uid: int, gid: int) -> set[int]:
    name = pwd.getpwuid(uid).pw_name
    return {gid, *os.getgrouplist(name, gid)}


def _may_traverse(info: os.stat_result, uid: int, groups: set[int]) -> bool:
    # POSIX checks the owner bits for the owner, else the group bits for members, else other.
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _server_user_can_reach(folder: Path) -> bool:
    """True when the server's account may pass through every existing ancestor of ``folder``."""
    uid, gid = _server_ids()
    groups = _server_groups(uid, gid)
    for part in [folder.resolve(), *folder.resolve().parents]:
        if part.exists() and not _may_traverse(part.stat(), uid, groups):
            return False
    return True


def _server_owned_dir(path: Path) -> None:
    """Create ``path`` 0700 owned by the server's account; refuse one that someone else owns."""
    uid, gid = _server_ids()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise ClusterError(f"{path} is not a folder; remove it and start again")
    if info.st_uid not in (uid, os.geteuid()):
        # e.g. a socket folder in /tmp made in advance by another local user
        raise ClusterError(f"{path} belongs to another account; remove it and start again")
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677).

    Handing the server the verifier instead of the password keeps the password out of every
    statement, log and ``pg_stat_activity``.

    Parameters
    ----------
    password : str
        The password (ASCII; ours come from :func:`secrets.token_urlsafe`).
    salt : bytes, optional
        16 random bytes by default.

    Returns
    -------
    str
        ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``.
    """
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


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
        """The cluster of ``HARTA_DATA_DIR`` (created or tightened first, see geo.files).

        Parameters
        ----------
        settings : Settings, optional
            Default :func:`geo.settings.get_settings`.

        Returns
        -------
        LocalCluster
        """
        settings = settings or get_settings()
        private_data_dir(settings.data_dir)
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

    @property
    def password_file(self) -> Path:
        """File holding the superuser's password: 0600, owned by the account running Harta."""
        return self.directory / PASSWORD_FILE

    def password(self) -> str:
        """The superuser's password, generated (and stored 0600) the first time it is needed.

        Returns
        -------
        str
            Never print or log it.
        """
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            pass
        self._prepare_folders()
        secret = secrets.token_urlsafe(32)
        # Written whole under a private name, then linked into place: a concurrent reader never
        # sees an empty file, and of two concurrent writers the first link wins.
        partial = self.directory / f".{PASSWORD_FILE}.{secrets.token_hex(6)}"
        write_private_text(partial, secret + "\n")
        try:
            os.link(partial, self.password_file)
        except FileExistsError:  # another process got there first: use theirs
            return self.password_file.read_text().strip()
        finally:
            partial.unlink()
        return secret

    def url(self, database: str = DATABASE_NAME) -> str:
        """SQLAlchemy URL of ``database`` over TCP on localhost, with the superuser's password.

        Never print or log it; :meth:`safe_url` is the printable form.

        Parameters
        ----------
        database : str

        Returns
        -------
        str
        """
        return self._url(database).render_as_string(hide_password=False)

    def safe_url(self, database: str = DATABASE_NAME) -> str:
        """:meth:`url` with the password masked.

        Parameters
        ----------
        database : str

        Returns
        -------
        str
        """
        return self._url(database).render_as_string(hide_password=True)

    def _url(self, database: str) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=self.password(),
            host="127.0.0.1",
            port=self.port,
            database=database,
        )

    def _run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a server program (initdb, pg_ctl, postgres) as the server's account."""
        cmd = _as_server_user([str(pg_bin_dir() / args[0]), *args[1:]])
        return subprocess.run(cmd, capture_output=True, text=True, check=check, input=stdin)

    def _client(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a client program (psql, pg_isready) as ourselves, the password in its env."""
        env = {**os.environ, "PGPASSWORD": self.password(), "PGCONNECT_TIMEOUT": "10"}
        cmd = [str(pg_bin_dir() / args[0]), *args[1:]]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)

    def is_initialised(self) -> bool:
        """Whether ``initdb`` has run in :attr:`pgdata`.

        Returns
        -------
        bool
        """
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        """Whether a server is running from :attr:`pgdata` (``pg_ctl status``).

        Returns
        -------
        bool
        """
        if not self.is_initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def _prepare_folders(self) -> None:
        if os.geteuid() == 0 and self.directory.parent == RELOCATED_ROOT:
            _server_owned_dir(RELOCATED_ROOT)
        for folder in (self.directory, self.socket_dir):
            _server_owned_dir(folder)

    def init(self) -> None:
        """Create the cluster (scram-sha-256 everywhere) and make its folders private."""
        self._prepare_folders()
        if self.is_initialised():
            return
        pwfile = self.directory / ".initdb-password"
        write_private_text(pwfile, self.password() + "\n")
        uid, gid = _server_ids()
        os.chown(pwfile, uid, gid)  # initdb runs as the server's account and reads it
        try:
            done = self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ClusterError(f"initdb failed: {done.stderr.strip()}")
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "timezone = 'UTC'\nfsync = on\n"
            )
        self._write_security_conf()
        self._write_hba()

    # --- trust -> scram --------------------------------------------------------------------

    @property
    def _hba_file(self) -> Path:
        return self.pgdata / "pg_hba.conf"

    def needs_upgrade(self) -> bool:
        """Whether the cluster still needs Harta's authentication set-up.

        Returns
        -------
        bool
            True while pg_hba.conf is not Harta's (e.g. trust from an older Harta) or the
            password file is missing.
        """
        try:
            current = self._hba_file.read_text()
        except FileNotFoundError:
            return False
        return current != HBA_CONF or not self.password_file.exists()

    def _write_hba(self) -> None:
        partial = self.pgdata / "pg_hba.conf.harta"
        write_private_text(partial, HBA_CONF)
        uid, gid = _server_ids()
        os.chown(partial, uid, gid)
        os.replace(partial, self._hba_file)

    def _write_security_conf(self) -> None:
        conf = self.pgdata / "postgresql.auto.conf"
        if _SECURITY_CONF_MARK in conf.read_text():
            return
        with conf.open("a") as out:
            out.write(
                f"{_SECURITY_CONF_MARK}\n"
                "password_encryption = 'scram-sha-256'\n"
                "unix_socket_permissions = 0700\n"
            )

    def _upgrade(self) -> None:
        """Set the superuser's password in single-user mode, then rewrite pg_hba.conf.

        The server must be stopped.  Single-user mode opens no socket, so trust never meets a
        connection while the password is being set; the data files are untouched.
        """
        statement = f"ALTER ROLE {SUPERUSER} WITH PASSWORD '{scram_verifier(self.password())}';\n"
        done = self._run(
            "postgres", "--single", "-D", str(self.pgdata), "postgres", check=False, stdin=statement
        )
        if done.returncode != 0 or "ERROR" in done.stderr:
            raise ClusterError(f"setting the cluster password failed: {done.stderr.strip()}")
        self._write_security_conf()
        self._write_hba()
        log.info("embedded cluster %s now asks for a password (scram-sha-256)", self.directory)

    # --- running ---------------------------------------------------------------------------

    def running_port(self) -> int | None:
        """Port the running server listens on (from ``postmaster.pid``).

        Returns
        -------
        int or None
            None when no server runs from this folder.
        """
        pid_file = self.pgdata / "postmaster.pid"
        if not self.is_running() or not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def start(self, timeout_s: float = 30) -> None:
        """Initialise if needed, upgrade a trust cluster, start if stopped, create the database.

        A server already running from this folder is adopted on whatever port it listens on
        (and, if it still trusts, upgraded at its next start: restarting it here would cut off
        whoever else uses it).

        Parameters
        ----------
        timeout_s : float
            How long to wait for the server to accept connections.

        Raises
        ------
        ClusterError
            When the binaries are missing or the server does not come up.
        """
        self.init()
        running_on = self.running_port()
        if running_on is not None:
            self.port = running_on
            if self.needs_upgrade():
                log.warning(
                    "embedded cluster %s still runs without passwords; stop and start it "
                    "(harta db stop; harta db start) to require them",
                    self.directory,
                )
        else:
            if self.needs_upgrade():
                self._upgrade()
            self._start_server(timeout_s)
        self._wait_ready(timeout_s)
        self.create_database(DATABASE_NAME)

    def _start_server(self, timeout_s: float) -> None:
        if not self.logfile.exists():
            self.logfile.touch(mode=0o600)
        uid, gid = _server_ids()
        os.chown(self.logfile, uid, gid)
        os.chmod(self.logfile, 0o600)
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

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = self._client("pg_isready", "-h", "127.0.0.1", "-p", str(self.port))
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError(f"PostgreSQL on port {self.port} did not become ready")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command as the cluster's superuser.

        Parameters
        ----------
        sql : str
            One command (trusted text: never built from user input).
        database : str

        Returns
        -------
        str
            ``psql -tA`` output.

        Raises
        ------
        ClusterError
            When psql fails.
        """
        connection = ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database]
        done = self._client("psql", *connection, "-w", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql)
        if done.returncode != 0:
            raise ClusterError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> None:
        """Create database ``name`` with PostGIS if it does not exist yet.

        Parameters
        ----------
        name : str
            A fixed identifier (not user input).
        """
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
        if self.socket_dir.parent != self.directory:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
