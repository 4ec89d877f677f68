"""Private files: everything Harta writes is readable by the account that runs Harta only.

Incident exports, analysis outputs, backups and graph caches can locate victims of violence, so
no other local user may read them.  Three layers:

* :func:`make_private` -- called once at each entry point (the ``harta`` command, the Streamlit
  app): a process-wide umask of ``0o077``, so every file the process (and its children, and the
  libraries it calls: GDAL, pyogrio, pandas, osmnx) creates is ``0600`` and every folder
  ``0700``; and the data folder itself is created or tightened.
* :func:`private_dir` / :func:`private_file` -- explicit modes, for files that keep their
  permissions from elsewhere (``shutil.copy`` copies the source's mode) or folders that existed
  before.
* :func:`private_data_dir` -- ``HARTA_DATA_DIR``: ``0700``; as root ``0710`` with the group of
  the ``postgres`` system account, which runs the embedded cluster inside it and must pass
  through (it owns the database files anyway), while listing, reading and writing stay root's.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

#: Process-wide umask: files 0600, folders 0700.
PRIVATE_UMASK = 0o077
#: System account that runs the embedded PostgreSQL server when Harta runs as root.
SERVER_ACCOUNT = "postgres"


class FilesError(RuntimeError):
    """A folder cannot be made private (it belongs to someone else or is shared)."""


def make_private(data_dir: Path | None = None) -> None:
    """Make every file this process writes private and tighten the data folder.

    Parameters
    ----------
    data_dir : Path, optional
        Harta's data folder; default ``HARTA_DATA_DIR`` from :func:`geo.settings.get_settings`.
    """
    os.umask(PRIVATE_UMASK)
    if data_dir is None:
        from geo.settings import get_settings

        data_dir = get_settings().data_dir
    private_data_dir(data_dir)


def server_group_gid() -> int | None:
    """Group id of the ``postgres`` account when we are root and it exists, else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_ACCOUNT).pw_gid
    except KeyError:
        return None


def private_data_dir(path: Path) -> Path:
    """Create or tighten Harta's data folder (see the module notes for the modes).

    Parameters
    ----------
    path : Path
        The data folder.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FilesError
        When the folder belongs to another account or is a shared (sticky) folder like ``/tmp``.
    """
    gid = server_group_gid()
    if gid is None:
        return private_dir(path)
    return private_dir(path, mode=0o710, group=gid)


def private_dir(path: Path, mode: int = 0o700, group: int | None = None) -> Path:
    """Create ``path`` (and missing parents, themselves ``0700``) with ``mode``; fix it if looser.

    Parameters
    ----------
    path : Path
        Folder.
    mode : int
        Permission bits wanted (``0o700``, or ``0o710`` with ``group``).
    group : int, optional
        Group id to give the folder (root only).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FilesError
        When the folder belongs to another account or is a shared (sticky) folder.
    """
    path = Path(path)
    old = os.umask(PRIVATE_UMASK)
    try:
        path.mkdir(parents=True, exist_ok=True)
    finally:
        os.umask(old)
    info = path.stat()
    if info.st_uid != os.geteuid():
        raise FilesError(f"{path} belongs to another account; Harta needs a folder of its own")
    if info.st_mode & stat.S_ISVTX:
        raise FilesError(f"{path} is a shared folder (like /tmp); give Harta a folder of its own")
    if group is not None and info.st_gid != group:
        os.chown(path, -1, group)
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file ``0600`` (for files whose mode came from elsewhere).

    Parameters
    ----------
    path : Path
        File written by Harta.

    Returns
    -------
    Path
        ``path``.
    """
    os.chmod(path, 0o600)
    return Path(path)


def write_private_text(path: Path, text: str) -> Path:
    """Write ``text`` to a new or existing file that is ``0600`` from its first byte.

    Parameters
    ----------
    path : Path
        Target file.
    text : str
        Content (UTF-8).

    Returns
    -------
    Path
        ``path``.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = text.encode()
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
    return Path(path)
