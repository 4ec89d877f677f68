"""Sessions in and out of files: zones drawn elsewhere imported into a session, and a
session's marks exported to GeoJSON, GeoPackage or KML."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
from sqlalchemy import Engine

from geo import taxonomy
from geo.workshops.read import session_marks
from geo.workshops.sessions import acting_role, get_session, writable_session


def import_into_session(engine: Engine, workshop_id: int, path: str | Path, **options: Any) -> Any:
    """Bring zones drawn elsewhere (QGIS GeoPackage, KoBo/ODK geoshape, CoMapeo GeoJSON) into a
    session through the foundation importer (:func:`geo.ingest.import_file`).

    Parameters
    ----------
    engine : Engine
        Acting as a facilitator's role.
    workshop_id : int
        The open session the zones belong to.
    path : str or Path
        The file.
    **options
        Passed to :func:`geo.ingest.import_file` (``lang``, ``crs``, ``skip_invalid`` …).

    Returns
    -------
    geo.ingest.ImportReport
        The importer's report.

    Raises
    ------
    SessionError
        For a closed, DEMO or unknown session, or a role that may not facilitate.
    """
    with engine.connect() as conn:
        role = acting_role(conn)
        session = writable_session(conn, workshop_id)
    # Imported lazily: the importer sits beside workshops in the layers, and only this entry
    # point needs it.
    from geo.ingest import import_file

    return import_file(
        engine,
        layer="risk_zones",
        path=path,
        community=session.community,
        workshop_id=workshop_id,
        source="import",
        role=role,
        **options,
    )


#: Export formats: file suffix and OGR driver.
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "geojson": (".geojson", "GeoJSON"),
    "gpkg": (".gpkg", "GPKG"),
    "kml": (".kml", "KML"),
}


def export_frame(engine: Engine, workshop_id: int) -> gpd.GeoDataFrame:
    """The session's marks as written to files: codes, labels in the session language, no
    audit-only columns.

    Parameters
    ----------
    engine : Engine
    workshop_id : int

    Returns
    -------
    GeoDataFrame
        In EPSG:4326, geometry column ``geometry``.
    """
    session = get_session(engine, workshop_id)
    marks = session_marks(engine, workshop_id)
    frame = marks[
        ["id", "workshop_id", "hazard_code", "severity", "time_of_day", "season", "note"]
        + ["grid_ref", "source", "created_at", "geom"]
    ].copy()
    frame["hazard"] = [
        taxonomy.label("hazard", code, session.language) for code in frame["hazard_code"]
    ]
    frame["community"] = session.community
    frame["held_on"] = session.held_on.isoformat()
    frame["created_at"] = frame["created_at"].astype(str)
    frame["id"] = frame["id"].astype("int64")
    return frame.set_geometry("geom").rename_geometry("geometry")


def export_session(engine: Engine, workshop_id: int, fmt: str, path: str | Path) -> Path:
    """Write a session's marks to GeoJSON, GeoPackage or KML.

    Parameters
    ----------
    engine : Engine
    workshop_id : int
    fmt : {"geojson", "gpkg", "kml"}
        File format.
    path : path
        Output file; the format's suffix is added when missing.

    Returns
    -------
    Path
        The file written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(EXPORT_FORMATS)}")
    suffix, driver = EXPORT_FORMATS[fmt]
    path = Path(path)
    if path.suffix.lower() != suffix:
        path = path.with_suffix(suffix)
    frame = export_frame(engine, workshop_id)
    if path.exists():
        path.unlink()
    options: dict[str, Any] = {}
    if fmt == "kml":
        frame = frame.rename(columns={"hazard": "Name", "note": "Description"})
    if fmt == "gpkg":
        options["layer"] = f"workshop_{workshop_id}"
    frame.to_file(path, driver=driver, engine="pyogrio", **options)
    return path


def export_bytes(engine: Engine, workshop_id: int, fmt: str) -> bytes:
    """:func:`export_session` into memory (for download buttons).

    Parameters
    ----------
    engine : Engine
    workshop_id : int
    fmt : {"geojson", "gpkg", "kml"}

    Returns
    -------
    bytes
    """
    with tempfile.TemporaryDirectory() as tmp:
        written = export_session(engine, workshop_id, fmt, Path(tmp) / f"workshop_{workshop_id}")
        return written.read_bytes()
