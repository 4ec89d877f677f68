"""Import risk zones, incidents and facilities from the files partners send.

The one entry point is :func:`import_file`::

    from geo.ingest import import_file, ImportRejected

    community = Community.load(engine, "pata-rat")
    report = import_file(engine, "risk_zones", "atelier.kmz", community=community)
    print(report.render("ro"))

Steps: read (:mod:`geo.ingest.readers`, :mod:`geo.ingest.tables`), map columns and values
(:mod:`geo.ingest.mapping`: ``--field``/``--value``/``--set`` and saved profiles), normalise
columns and validate every row (:mod:`geo.ingest.validate`), drop rows already imported, write
everything in one transaction (:mod:`geo.ingest.writer`).  An import is all or nothing: one bad
row and :class:`ImportRejected` is raised with the full report, unless ``skip_invalid`` is set.
Every attempt that reached the community is recorded in ``imports``, refused ones included
(``report->>'outcome'`` is ``written``, ``rejected`` or ``unreadable``).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from sqlalchemy import Engine, text

from geo import roles
from geo.communities.model import Community, UnknownCommunity
from geo.db.models import ROLES, SOURCES
from geo.ingest import known
from geo.ingest import mapping as mapping_
from geo.ingest.mapping import Mapping, load_profile, parse_options, save_profile
from geo.ingest.readers import read_file
from geo.ingest.report import ImportFailed, ImportRejected, ImportReport, Problem
from geo.ingest.validate import (
    CommunityArea,
    ValidRows,
    normalise_columns,
    validate_rows,
)
from geo.ingest.writer import ImportTarget, ProgressCallback, record_attempt, write_import
from geo.layers import Layer, get_layer

__all__ = [
    "ImportFailed",
    "ImportRejected",
    "ImportReport",
    "Mapping",
    "Problem",
    "import_file",
    "load_community",
    "load_profile",
    "parse_options",
    "save_profile",
    "validate_file",
]

#: Roles that may import incidents (sensitive personal data).
INCIDENT_IMPORT_ROLES = roles.holders("incidents.import") | {roles.SYSTEM}


def import_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    community: Community | str,
    crs: str | int | None = None,
    skip_invalid: bool = False,
    role: str = "admin",
    workshop_id: int | None = None,
    source: str = "import",
    progress: ProgressCallback | None = None,
    lang: str = "en",
    source_layer: str | None = None,
    dry_run: bool = False,
    mapping: Mapping | None = None,
) -> ImportReport:
    """Import one file into one layer of one community, all or nothing.

    Parameters
    ----------
    engine : Engine
        Database (the role-acting engine of the person importing).
    layer : str
        ``"risk_zones"``, ``"incidents"`` or ``"facilities"``.
    path : str or Path
        GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ, GPX, CSV, KoBo/ODK CSV, ``.xlsx``
        or ``.ods``.
    community : Community
        The target community; rows must lie inside its area.  A slug is still accepted
        (loaded once through :meth:`Community.load`) for callers not yet passing the object.
    crs : str or int, optional
        CRS of coordinates the file does not declare, e.g. ``"EPSG:3844"`` (Stereo70).
    skip_invalid : bool
        Write the valid rows and report the others, instead of refusing the file.  Errors
        about the whole file (a personal-name column, ambiguous columns) still refuse it.
    role : str
        Role recorded in ``created_by_role`` and the audit trail.
    workshop_id : int, optional
        Workshop the risk zones were marked in (must belong to ``community``).
    source : str
        Provenance (``import``, ``workshop``, ``paper``, ``form``, ``demo`` …).
    progress : callable, optional
        ``progress(done, total)`` while writing.
    lang : str
        Unused (kept for callers): errors render in any language with ``.message(lang)``.
    source_layer : str, optional
        Layer of a GeoPackage, Shapefile in a zip holding several, or sheet of a workbook.
    dry_run : bool
        Validate and report, write nothing.
    mapping : Mapping, optional
        Columns → fields, values → codes, values for every row (:mod:`geo.ingest.mapping`).

    Returns
    -------
    ImportReport
        Counts and problems (warnings, duplicates, skipped rows).

    Raises
    ------
    ImportFailed
        The file cannot be read, or the layer, community, role or workshop is unknown.
    ImportRejected
        Some rows are invalid and ``skip_invalid`` is not set; nothing was written but the
        attempt is recorded in ``imports``.
    """
    del lang  # messages are rendered by the caller, in its reader's language
    started = time.perf_counter()
    path = Path(path)
    community = _community(engine, community)
    try:
        report, target_layer, community_area, rows = _prepare(
            engine,
            layer,
            path,
            community=community,
            crs=crs,
            role=role,
            workshop_id=workshop_id,
            source=source,
            source_layer=source_layer,
            mapping=mapping,
        )
    except ImportFailed as failed:
        if not dry_run:
            _record_unreadable(engine, layer, path, community, role, source, failed)
        raise
    report.dry_run = dry_run
    target = ImportTarget(
        community_id=community_area.id,
        role=role,
        source=source,
        filename=path.name,
        file_sha256=_sha256(path),
        file_format=report.file_format,
        workshop_id=workshop_id,
    )
    if report.file_errors or (report.errors and not skip_invalid):
        report.seconds = time.perf_counter() - started
        report.outcome = "rejected"
        if not dry_run:
            record_attempt(engine, target_layer, target, report)
        raise ImportRejected(report)
    if not dry_run:
        report.outcome = "written"
        write_import(engine, target_layer, rows, target, report, progress=progress)
    else:
        report.outcome = "dry_run"
    report.seconds = time.perf_counter() - started
    return report


def validate_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    community: Community | str,
    crs: str | int | None = None,
    role: str = "admin",
    lang: str = "en",
    source_layer: str | None = None,
    mapping: Mapping | None = None,
) -> ImportReport:
    """Validate a file against a layer and community without writing (a preview, a dry run).

    Same checks and report as :func:`import_file`; never raises :class:`ImportRejected` and
    records nothing.

    Parameters
    ----------
    engine : Engine
    layer : str
    path : str or Path
    community : Community
    crs : str or int, optional
    role : str
    lang : str
        Unused (kept for callers).
    source_layer : str, optional
    mapping : Mapping, optional

    Returns
    -------
    ImportReport
    """
    del lang
    report, *_ = _prepare(
        engine,
        layer,
        Path(path),
        community=_community(engine, community),
        crs=crs,
        role=role,
        workshop_id=None,
        source="import",
        source_layer=source_layer,
        mapping=mapping,
    )
    report.dry_run = True
    report.outcome = "dry_run"
    return report


def load_community(engine: Engine, slug: str, lang: str = "en") -> CommunityArea:
    """The area of the community called ``slug`` as validation needs it.

    Parameters
    ----------
    engine : Engine
    slug : str
    lang : str
        Unused (kept for callers).

    Returns
    -------
    CommunityArea

    Raises
    ------
    ImportFailed
        If there is no such community.
    """
    return CommunityArea.of(_community(engine, slug))


#: Refusals of the command itself (nothing was attempted on a file): not recorded.
_USAGE_ERRORS = frozenset(
    {
        "ingest.error.unknown_layer",
        "ingest.error.unknown_role",
        "ingest.error.unknown_source",
        "ingest.error.role_not_allowed",
        "ingest.error.unknown_workshop",
        "ingest.error.workshop_only_zones",
    }
)


def _record_unreadable(
    engine: Engine,
    layer_name: str,
    path: Path,
    community: Community,
    role: str,
    source: str,
    failed: ImportFailed,
) -> None:
    """Record an attempt whose file could not be read (``outcome`` = ``unreadable``): the
    reason key and parameters, never the file's content."""
    if failed.key in _USAGE_ERRORS:
        return
    layer = get_layer(layer_name, importable=True)
    report = ImportReport(layer=layer.name, file=path.name, community=community.slug)
    report.add(Problem(report.file, None, None, failed.key, dict(failed.params)))
    report.outcome = "unreadable"
    target = ImportTarget(
        community_id=community.id,
        role=role,
        source=source,
        filename=path.name,
        file_sha256=_sha256(path) if path.is_file() else "0" * 64,
        file_format="",
    )
    record_attempt(engine, layer, target, report)


def _community(engine: Engine, community: Community | str) -> Community:
    if isinstance(community, Community):
        return community
    try:
        return Community.load(engine, community)
    except UnknownCommunity:
        raise ImportFailed("ingest.error.unknown_community", community=community) from None


# --- steps ----------------------------------------------------------------------------------


def _prepare(
    engine: Engine,
    layer_name: str,
    path: Path,
    *,
    community: Community,
    crs,
    role: str,
    workshop_id: int | None,
    source: str,
    source_layer: str | None,
    mapping: Mapping | None,
) -> tuple[ImportReport, Layer, CommunityArea, ValidRows]:
    """Read, map, validate and deduplicate; return the rows to write."""
    layer = _check_arguments(layer_name, role, source)
    community_area = CommunityArea.of(community)
    if workshop_id is not None:
        _check_workshop(engine, layer, workshop_id, community_area)
    frame = read_file(path, crs=crs, source_layer=source_layer)
    report = ImportReport(
        layer=layer.name,
        file=path.name,
        file_format=frame.attrs.get("format", ""),
        community=community_area.slug,
        rows_read=len(frame),
    )
    _report_transformation(frame, report)
    if frame.empty:
        report.add(Problem(report.file, None, None, "ingest.problem.no_rows"))
        return report, layer, community_area, ValidRows.empty(layer.field_names)
    mapping = mapping or Mapping()
    mapped = mapping_.before_columns(frame, layer, mapping, report)
    normalised = normalise_columns(mapped, mapping_.mapped_layer(layer), report)
    normalised = mapping_.after_columns(
        normalised, layer, mapping, report, mapping_.time_column(frame, layer, mapping)
    )
    missing = mapping_.missing_required(mapped, normalised, layer, report)
    # Only the columns the later steps read are kept: the file's cells go as soon as the rows
    # hold their values (peak memory per row, issue 10).
    frame = frame[[c for c in ("_row", "id", "source", "is_demo") if c in frame.columns]]
    del mapped
    rows = validate_rows(normalised, layer, community_area, report, role=role, missing=missing)
    del normalised
    known.mark_demo(frame, rows)
    rows = known.drop_duplicates(engine, layer, community_area, rows, report)
    rows = known.drop_own_export(engine, layer, community, frame, rows, report)
    if layer.name == "incidents":
        known.flag_near_duplicates(engine, community_area, rows, report)
    return report, layer, community_area, rows


def _report_transformation(frame, report: ImportReport) -> None:  # noqa: ANN001
    """Say which transformation brought the coordinates to WGS 84, and if it is a guess."""
    note = frame.attrs.get("transformation")
    if not note:
        return
    if note.get("replaced"):
        report.add(
            Problem(
                report.file,
                None,
                "crs",
                "ingest.problem.crs_replaced",
                {"old": note["replaced"], "new": note["epsg"], "crs": note["crs"]},
                level="info",
            )
        )
    key, level = (
        ("ingest.problem.crs_ballpark", "warning")
        if note["ballpark"]
        else ("ingest.problem.crs_transformation", "info")
    )
    accuracy = note["accuracy_m"]
    report.add(
        Problem(
            report.file,
            None,
            "crs",
            key,
            {
                "crs": note["crs"],
                "description": note["description"],
                "accuracy": "?" if accuracy is None else f"{accuracy:g}",
                "error_m": note["error_m"],
            },
            level=level,
        )
    )


def _check_arguments(layer_name: str, role: str, source: str) -> Layer:
    try:
        layer = get_layer(layer_name, importable=True)
    except KeyError:
        raise ImportFailed("ingest.error.unknown_layer", layer=layer_name) from None
    if role not in ROLES:
        raise ImportFailed("ingest.error.unknown_role", role=role)
    if source not in SOURCES:
        raise ImportFailed("ingest.error.unknown_source", source=source)
    if layer.name == "incidents" and role not in INCIDENT_IMPORT_ROLES:
        raise ImportFailed("ingest.error.role_not_allowed", role=role, layer=layer.name)
    return layer


def _check_workshop(
    engine: Engine, layer: Layer, workshop_id: int, community: CommunityArea
) -> None:
    if layer.name != "risk_zones":
        raise ImportFailed("ingest.error.workshop_only_zones", layer=layer.name)
    with engine.connect() as conn:
        owner = conn.execute(
            text("SELECT community_id FROM workshops WHERE id = :id"), {"id": workshop_id}
        ).scalar_one_or_none()
    if owner != community.id:
        raise ImportFailed(
            "ingest.error.unknown_workshop", workshop=workshop_id, community=community.slug
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
