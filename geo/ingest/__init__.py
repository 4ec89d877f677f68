"""Import risk zones, incidents and facilities from the files partners send.

The one entry point is :func:`import_file`::

    from geo.ingest import import_file, ImportRejected

    report = import_file(engine, "risk_zones", "atelier.kmz", community="pata-rat")
    print(report.render("ro"))

Steps: read (:mod:`geo.ingest.readers`), normalise columns and validate every row
(:mod:`geo.ingest.validate`), drop rows already imported, write everything in one transaction
(:mod:`geo.ingest.writer`).  An import is all or nothing: one bad row and
:class:`ImportRejected` is raised with the full report, unless ``skip_invalid`` is set.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pandas as pd
import shapely
from sqlalchemy import Engine, text

from geo import roles
from geo.db.models import ROLES, SOURCES
from geo.ingest.readers import read_file
from geo.ingest.report import ImportFailed, ImportRejected, ImportReport, Problem
from geo.ingest.validate import (
    CommunityArea,
    ValidRow,
    find_near_duplicates,
    normalise_columns,
    validate_rows,
)
from geo.ingest.writer import ImportTarget, ProgressCallback, write_import
from geo.layers import Layer, get_layer

__all__ = [
    "ImportFailed",
    "ImportRejected",
    "ImportReport",
    "Problem",
    "import_file",
    "load_community",
    "validate_file",
]

#: Roles that may import incidents (sensitive personal data).
INCIDENT_IMPORT_ROLES = roles.holders("incidents.import") | {roles.SYSTEM}


def import_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    community: str,
    crs: str | int | None = None,
    skip_invalid: bool = False,
    role: str = "admin",
    workshop_id: int | None = None,
    source: str = "import",
    progress: ProgressCallback | None = None,
    lang: str = "en",
    source_layer: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import one file into one layer of one community, all or nothing.

    Parameters
    ----------
    engine : Engine
        Database.
    layer : str
        ``"risk_zones"``, ``"incidents"`` or ``"facilities"``.
    path : str or Path
        GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ, GPX, CSV or KoBo/ODK CSV.
    community : str
        Slug of the target community; rows must lie inside its area.
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
        Language of exception messages (reports render in any language).
    source_layer : str, optional
        Layer of a GeoPackage, or Shapefile in a zip holding several.
    dry_run : bool
        Validate and report, write nothing.

    Returns
    -------
    ImportReport
        Counts and problems (warnings, duplicates, skipped rows).

    Raises
    ------
    ImportFailed
        The file cannot be read, or the layer, community, role or workshop is unknown.
    ImportRejected
        Some rows are invalid and ``skip_invalid`` is not set; nothing was written.
    """
    started = time.perf_counter()
    report, target_layer, community_area, rows = _prepare(
        engine,
        layer,
        Path(path),
        community=community,
        crs=crs,
        role=role,
        workshop_id=workshop_id,
        source=source,
        lang=lang,
        source_layer=source_layer,
    )
    report.dry_run = dry_run
    if report.file_errors or (report.errors and not skip_invalid):
        report.seconds = time.perf_counter() - started
        raise ImportRejected(report, lang)
    if not dry_run:
        target = ImportTarget(
            community_id=community_area.id,
            role=role,
            source=source,
            filename=Path(path).name,
            file_sha256=_sha256(Path(path)),
            file_format=report.file_format,
            workshop_id=workshop_id,
        )
        write_import(engine, target_layer, rows, target, report, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


def validate_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    community: str,
    crs: str | int | None = None,
    role: str = "admin",
    lang: str = "en",
    source_layer: str | None = None,
) -> ImportReport:
    """Validate a file against a layer and community without writing (a preview).

    Same checks and report as :func:`import_file`, never raises :class:`ImportRejected`.
    """
    report, *_ = _prepare(
        engine,
        layer,
        Path(path),
        community=community,
        crs=crs,
        role=role,
        workshop_id=None,
        source="import",
        lang=lang,
        source_layer=source_layer,
    )
    report.dry_run = True
    return report


def load_community(engine: Engine, slug: str, lang: str = "en") -> CommunityArea:
    """Fetch the community called ``slug`` (area, timezone, metric CRS).

    Raises
    ------
    ImportFailed
        If there is no such community.
    """
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT id, slug, timezone, metric_crs, ST_AsBinary(geom) AS wkb"
                " FROM communities WHERE slug = :slug"
            ),
            {"slug": slug},
        ).one_or_none()
    if found is None:
        raise ImportFailed("ingest.error.unknown_community", lang, community=slug)
    return CommunityArea(
        id=found.id,
        slug=found.slug,
        timezone=found.timezone,
        metric_crs=found.metric_crs,
        geom=shapely.from_wkb(bytes(found.wkb)),
    )


# --- steps ----------------------------------------------------------------------------------


def _prepare(
    engine: Engine,
    layer_name: str,
    path: Path,
    *,
    community: str,
    crs,
    role: str,
    workshop_id: int | None,
    source: str,
    lang: str,
    source_layer: str | None,
) -> tuple[ImportReport, Layer, CommunityArea, list[ValidRow]]:
    """Read, validate and deduplicate; return the rows to write."""
    layer = _check_arguments(layer_name, role, source, lang)
    community_area = load_community(engine, community, lang)
    if workshop_id is not None:
        _check_workshop(engine, layer, workshop_id, community_area, lang)
    try:
        frame = read_file(path, crs=crs, source_layer=source_layer)
    except ImportFailed as exc:  # re-raise in the caller's language
        raise ImportFailed(exc.key, lang, **exc.params) from exc
    report = ImportReport(
        layer=layer.name,
        file=path.name,
        file_format=frame.attrs.get("format", ""),
        community=community_area.slug,
        rows_read=len(frame),
    )
    if frame.empty:
        report.add(Problem(report.file, None, None, "ingest.problem.no_rows"))
        return report, layer, community_area, []
    normalised = normalise_columns(frame, layer, report)
    rows = validate_rows(normalised, layer, community_area, report, role=role)
    rows = _drop_duplicates(engine, layer, community_area, rows, report)
    if layer.name == "incidents":
        _flag_near_duplicates(engine, community_area, rows, report)
    return report, layer, community_area, rows


def _check_arguments(layer_name: str, role: str, source: str, lang: str) -> Layer:
    try:
        layer = get_layer(layer_name, importable=True)
    except KeyError:
        raise ImportFailed("ingest.error.unknown_layer", lang, layer=layer_name) from None
    if role not in ROLES:
        raise ImportFailed("ingest.error.unknown_role", lang, role=role)
    if source not in SOURCES:
        raise ImportFailed("ingest.error.unknown_source", lang, source=source)
    if layer.name == "incidents" and role not in INCIDENT_IMPORT_ROLES:
        raise ImportFailed("ingest.error.role_not_allowed", lang, role=role, layer=layer.name)
    return layer


def _check_workshop(
    engine: Engine, layer: Layer, workshop_id: int, community: CommunityArea, lang: str
) -> None:
    if layer.name != "risk_zones":
        raise ImportFailed("ingest.error.workshop_only_zones", lang, layer=layer.name)
    with engine.connect() as conn:
        owner = conn.execute(
            text("SELECT community_id FROM workshops WHERE id = :id"), {"id": workshop_id}
        ).scalar_one_or_none()
    if owner != community.id:
        raise ImportFailed(
            "ingest.error.unknown_workshop", lang, workshop=workshop_id, community=community.slug
        )


def _drop_duplicates(
    engine: Engine,
    layer: Layer,
    community: CommunityArea,
    rows: list[ValidRow],
    report: ImportReport,
) -> list[ValidRow]:
    """Remove rows repeated in the file or already stored; report each as a note."""
    stored = _stored_hashes(engine, layer, community.id, [r.row_hash for r in rows])
    first_row_of: dict[str, int] = {}
    fresh: list[ValidRow] = []
    for row in rows:
        if row.row_hash in stored:
            report.add(
                Problem(report.file, row.row, None, "ingest.problem.duplicate_stored", level="info")
            )
        elif row.row_hash in first_row_of:
            report.add(
                Problem(
                    report.file,
                    row.row,
                    None,
                    "ingest.problem.duplicate_in_file",
                    {"other": first_row_of[row.row_hash]},
                    level="info",
                )
            )
        else:
            first_row_of[row.row_hash] = row.row
            fresh.append(row)
    report.rows_skipped_duplicate = len(rows) - len(fresh)
    return fresh


def _stored_hashes(engine: Engine, layer: Layer, community_id: int, hashes: list[str]) -> set:
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(hashes), 20000):
            found.update(
                conn.execute(
                    text(
                        f"SELECT row_hash FROM {layer.table}"
                        " WHERE community_id = :c AND row_hash = ANY(:hashes)"
                    ),
                    {"c": community_id, "hashes": hashes[start : start + 20000]},
                ).scalars()
            )
    return found


def _flag_near_duplicates(
    engine: Engine, community: CommunityArea, rows: list[ValidRow], report: ImportReport
) -> None:
    """Warn about incidents of the same type within 25 m and 30 minutes of another."""
    if not rows:
        return
    times = [r.values["occurred_at"] for r in rows]
    with engine.connect() as conn:
        existing = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT id, type_code, occurred_at, ST_X(geom) AS lon, ST_Y(geom) AS lat"
                    " FROM incidents WHERE community_id = :c"
                    " AND occurred_at BETWEEN :start AND :end"
                ),
                {
                    "c": community.id,
                    "start": min(times) - pd.Timedelta(minutes=30),
                    "end": max(times) + pd.Timedelta(minutes=30),
                },
            ).all(),
            columns=["id", "type_code", "occurred_at", "lon", "lat"],
        )
    for pair in find_near_duplicates(rows, existing, community):
        if "other_row" in pair:
            key, other = "ingest.problem.near_duplicate_row", pair["other_row"]
        else:
            key, other = "ingest.problem.near_duplicate_stored", pair["other_id"]
        report.add(
            Problem(
                report.file,
                pair["row"],
                None,
                key,
                {"other": other, "metres": pair["metres"], "minutes": pair["minutes"]},
                level="warning",
            )
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
