"""Zip archives from outside (zipped Shapefile, KMZ), unpacked without trusting them.

A zip bomb is a small archive that unpacks to gigabytes (issue 8: 5.2 MB became 960 MiB on
disk before the old code refused it).  :func:`safe_extract` refuses from the archive's
directory alone, before writing anything, and then does not trust the directory either while
copying: every member is cut off at its declared size and at what is left of the byte budget.
A refusal leaves nothing behind.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from geo.ingest.report import ImportFailed

#: Safety limits for zip archives (zipped Shapefile, KMZ).
MAX_ZIP_MEMBERS = 2000
#: Largest total a zip may unpack to.  Community layers are a few MB; 256 MB is generous and
#: still far from filling a laptop's disk (issue 8: a 5.2 MB zip used to unpack to 960 MiB).
MAX_UNZIPPED_BYTES = 256 * 1024**2
#: A member (or the whole archive) expanding more than this many times is treated as a zip
#: bomb.  Shapefiles and KML compress 3-20 times, but a .dbf of blank-padded text fields can
#: reach 100+, so the bar is high; the byte cap above is what bounds the disk.
MAX_COMPRESSION_RATIO = 200
#: Members (and archives) declaring less than this are not held to the ratio: they cannot
#: harm, and small repetitive files compress extremely well.
RATIO_EXEMPT_BYTES = 1024**2


def safe_extract(
    archive: Path,
    destination: Path,
    *,
    max_members: int = MAX_ZIP_MEMBERS,
    max_bytes: int = MAX_UNZIPPED_BYTES,
    max_ratio: float = MAX_COMPRESSION_RATIO,
) -> list[Path]:
    """Extract a zip archive, refusing anything that could escape or exhaust ``destination``.

    Checked before a single byte is written (from the archive's directory): more than
    ``max_members`` entries; unsafe names (absolute, ``..``, drive letters, backslashes,
    symbolic links); a declared uncompressed total above ``max_bytes`` or above the free disk
    space; a member, or the whole archive, expanding more than ``max_ratio`` times (above
    :data:`RATIO_EXEMPT_BYTES`); compressed
    sizes that add up to more than the archive itself.  The headers are not trusted while
    extracting either: each member is copied in chunks and cut off at its declared size and at
    what is left of ``max_bytes``, so a forged small header cannot write more.  On any refusal
    every file and folder this call made is removed again.

    Parameters
    ----------
    archive : Path
        The zip file.
    destination : Path
        Folder to extract into (created if missing).
    max_members, max_bytes, max_ratio
        Limits; defaults :data:`MAX_ZIP_MEMBERS`, :data:`MAX_UNZIPPED_BYTES`,
        :data:`MAX_COMPRESSION_RATIO`.

    Returns
    -------
    list of Path
        Extracted regular files.

    Raises
    ------
    ImportFailed
        ``ingest.error.bad_zip``, ``zip_too_many``, ``zip_too_large``, ``zip_bomb``,
        ``zip_forged``, ``zip_no_space`` or ``zip_unsafe_path``, naming the file.
    """
    archive = Path(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed("ingest.error.bad_zip", file=archive.name, reason=str(exc)) from exc
    with zf:
        infos = zf.infolist()
        members = _check_zip_directory(archive, infos, max_members, max_bytes, max_ratio)
        _check_free_space(archive, destination, sum(i.file_size for i in infos))
        made: list[Path] = []
        try:
            return _extract_members(zf, archive, members, destination, max_bytes, made)
        except BaseException:
            _remove_made(made)
            raise


def _mb(size: int) -> int:
    return -(-size // 1024**2)  # rounded up: "0 MB" would read as nothing


def _check_zip_directory(
    archive: Path,
    infos: list[zipfile.ZipInfo],
    max_members: int,
    max_bytes: int,
    max_ratio: float,
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Refuse a dangerous archive from its directory alone; return the files to extract."""
    name = archive.name
    if len(infos) > max_members:
        raise ImportFailed("ingest.error.zip_too_many", file=name, count=len(infos))
    members = []
    for info in infos:
        relative = _safe_member_path(info, archive)
        if relative is not None:
            members.append((info, relative))
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise ImportFailed(
            "ingest.error.zip_too_large",
            file=name,
            size_mb=_mb(declared),
            limit_mb=max_bytes // 1024**2,
        )
    archive_size = max(archive.stat().st_size, 1)
    if sum(info.compress_size for info in infos) > archive_size:
        raise ImportFailed("ingest.error.zip_forged", file=name, member="*")
    for info, _ in members:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_EXEMPT_BYTES and ratio > max_ratio:
            raise ImportFailed(
                "ingest.error.zip_bomb",
                file=name,
                member=info.filename,
                ratio=int(ratio),
                limit=int(max_ratio),
            )
    if declared > RATIO_EXEMPT_BYTES and declared / archive_size > max_ratio:
        raise ImportFailed(
            "ingest.error.zip_bomb",
            file=name,
            member="*",
            ratio=int(declared / archive_size),
            limit=int(max_ratio),
        )
    return members


def _check_free_space(archive: Path, destination: Path, declared: int) -> None:
    existing = next(p for p in [Path(destination), *Path(destination).parents] if p.exists())
    if declared > shutil.disk_usage(existing).free:
        raise ImportFailed("ingest.error.zip_no_space", file=archive.name, size_mb=_mb(declared))


def _extract_members(
    zf: zipfile.ZipFile,
    archive: Path,
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]],
    destination: Path,
    max_bytes: int,
    made: list[Path],
) -> list[Path]:
    """Copy each member, cut off at its declared size and the byte budget; ``made`` collects
    every file and folder created, for clean-up."""
    _make_dirs(Path(destination), made)
    root = Path(destination).resolve()
    extracted: list[Path] = []
    budget = max_bytes
    for info, relative in members:
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise ImportFailed(
                "ingest.error.zip_unsafe_path", file=archive.name, member=info.filename
            )
        _make_dirs(target.parent, made)
        made.append(target)
        budget -= _copy_member(zf, info, archive, target, min(info.file_size, budget))
        extracted.append(target)
    return extracted


def _copy_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path, target: Path, allowed: int
) -> int:
    """Write member ``info`` to ``target``, never more than ``allowed`` bytes; return the count."""
    written = 0
    try:
        with zf.open(info) as source, target.open("xb") as sink:
            while chunk := source.read(min(1 << 20, allowed - written + 1)):
                if written + len(chunk) > allowed:
                    # More bytes than the header declared (or than the budget left): a lie.
                    raise ImportFailed(
                        "ingest.error.zip_forged", file=archive.name, member=info.filename
                    )
                sink.write(chunk)
                written += len(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        # A stream that ends early or fails its CRC (e.g. a forged size): unusable.
        raise ImportFailed("ingest.error.bad_zip", file=archive.name, reason=_reason(exc)) from exc
    return written


def _make_dirs(folder: Path, made: list[Path]) -> None:
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _remove_made(made: list[Path]) -> None:
    """Delete what a refused extraction created, newest first (files, then their folders)."""
    for path in reversed(made):
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _safe_member_path(info: zipfile.ZipInfo, archive: Path) -> PurePosixPath | None:
    name = info.filename
    unix_mode = info.external_attr >> 16
    if stat.S_ISLNK(unix_mode):
        raise ImportFailed("ingest.error.zip_unsafe_path", file=archive.name, member=name)
    if info.is_dir():
        return None
    member = PurePosixPath(name)
    if (
        "\\" in name
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name)
        or ".." in member.parts
        or "\x00" in name
    ):
        raise ImportFailed("ingest.error.zip_unsafe_path", file=archive.name, member=name)
    return member
