"""Export a layer to GeoJSON, GeoPackage, KML or CSV, for QGIS, Google Earth or a spreadsheet.

Only the columns of the export purpose (:attr:`geo.layers.Layer.exports`) leave the database:
an incident's ``narrative`` never does by default.  Exact incidents are exported only for the
police and mediator roles; everyone else gets a clear refusal (aggregated views come from the
privacy module).  Files are written to a temporary name beside the target and renamed, so a
reader never sees half a file.  CSV cells that a spreadsheet would run as a formula are
neutralised (:func:`neutralise_formulas`).

Geomasked exports of incidents (for partners, :func:`export_layer` with ``geomask``): every
incident is moved by a displacement fixed per incident (keyed in the database, migration
0006), ids are per-export row numbers, times are coarsened to the day (the ISO week for
sensitive types) and the residual risk is reported next to the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import unicodedata
import uuid
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from geo import crs as crs_
from geo.communities.model import Community
from geo.errors import HartaError
from geo.layers import Layer, get_layer
from geo.privacy import SENSITIVE_TYPES, donut_geomask, draw_fractions, masked_k_anonymity

#: File extension to export format.
EXPORT_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".csv": "csv",
}
_DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "kml": "KML"}
#: First characters that make a spreadsheet evaluate a cell (full-width forms are folded to
#: these by NFKC before the test).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: A separator a spreadsheet may split on, then (after spaces) a formula start.
_SPLIT_FORMULA = re.compile(r"([;,\t\r\n] *)([=+\-@])")
#: Columns of a geomasked incident export (no id, no import time, no police reference).
MASKED_COLUMNS = (
    "community",
    "source",
    "occurred_at",
    "type_code",
    "severity",
    "location_precision",
    "sensitivity",
    "reporting_role",
    "status",
)
_DATETIME_COLUMNS = ("occurred_at", "created_at")


class ExportFailed(HartaError, ValueError):
    """The export cannot be made (unknown layer, format or community)."""


class ExportRefused(HartaError, PermissionError):
    """The role may not export this layer (or purpose) exactly."""


def export_layer(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    community: Community | None = None,
    fmt: str | None = None,
    role: str = "admin",
    purpose: str = "default",
    csv_geometry: str = "auto",
    lang: str = "en",
    geomask: bool | tuple[float, float] = False,
    scope: Sequence[int] | None = None,
) -> int:
    """Write one layer to a file.

    Parameters
    ----------
    engine : Engine
        Database, acting as the role of the person exporting
        (:func:`geo.db.security.role_engine`): row-level security decides which rows exist.
    layer : str
        ``risk_zones``, ``incidents``, ``facilities`` or ``workshops``.
    path : str or Path
        Target file; replaced atomically if it exists.
    community : Community, optional
        Its member rows (the database's membership rule); all communities when omitted.
    fmt : str, optional
        ``geojson``, ``gpkg``, ``kml`` or ``csv``; taken from the extension when omitted.
    role : str
        Role of ``engine``; incidents need ``police`` or ``mediator``.
    purpose : str
        Column set (see ``Layer.exports``): ``default``, or ``case_file`` (incidents with
        narrative, police and mediators only).
    csv_geometry : {"auto", "latlon", "wkt"}
        CSV geometry columns: ``lat``/``lon`` for point layers and ``wkt`` otherwise (auto).
    lang : str
        Language of error messages.
    geomask : bool or (float, float)
        Geomasked export of incidents for partners.  True uses the deployment's donut
        (``harta_geomask_donut``); a ``(min, max)`` pair must equal it (another size would let
        a partner holding both exports intersect them).  Each incident moves by its own fixed
        displacement (keyed in the database), ids become per-export row numbers, times are
        coarsened (:data:`MASKED_PERIODS`) and ``<file>.geomask.json``
        (:func:`geomask_report_path`) reports the displacement and the residual risk.
    scope : sequence of int, optional
        Community ids of the account (a row of a settlement counts for its parent); only their
        rows are exported.  The database applies the same scope (``harta.user_id``).

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ExportFailed
        Unknown layer, format, purpose or community (a ``ValueError``).
    ExportRefused
        The role may not export this, or a geomask other than the deployment's (a
        ``PermissionError``).
    """
    path = Path(path)
    target = _layer(layer, lang)
    fmt = _format(path, fmt, lang)
    columns = _columns(target, purpose, role, lang)
    if fmt == "kml" and not target.has_geometry:
        raise ExportFailed("ingest.export.no_geometry", layer=target.name, format=fmt)
    if geomask is not False and geomask is not None:
        return _export_masked(engine, target, path, fmt, community, purpose, geomask, scope, lang)
    frame = read_layer(engine, target, columns, community=community, lang=lang, scope=scope)
    _write_atomically(frame, path, fmt, target, csv_geometry)
    return len(frame)


def geomask_report_path(path: str | Path) -> Path:
    """Where :func:`export_layer` reports the displacement of a geomasked export.

    Parameters
    ----------
    path : str or Path
        The exported file.

    Returns
    -------
    pathlib.Path
        ``path`` with ``.geomask.json`` appended to its name.
    """
    path = Path(path)
    return path.with_name(path.name + ".geomask.json")


# --- geomasked exports ----------------------------------------------------------------------


def _export_masked(
    engine: Engine,
    target: Layer,
    path: Path,
    fmt: str,
    community: Community | None,
    purpose: str,
    requested: bool | tuple[float, float],
    scope: Sequence[int] | None,
    lang: str,
) -> int:
    if target.name != "incidents":
        raise ExportFailed("export.geomask.incidents_only")
    if purpose != "default":
        raise ExportRefused("export.geomask.no_case_file")
    low, high = deployment_donut(engine, lang)
    if requested is not True and (float(requested[0]), float(requested[1])) != (low, high):
        raise ExportRefused("export.geomask.other_donut", low=f"{low:g}", high=f"{high:g}")
    frame = read_layer(
        engine, target, (*MASKED_COLUMNS, "id", "mask_nonce"), community=community,
        lang=lang, scope=scope,
    )  # fmt: skip
    crs = _metric_crs(engine, frame, community)
    draws = _keyed_draws(engine, frame, lang)
    masked = donut_geomask(frame, crs, low, high, draws=draws)
    summary = {
        "masked": True,
        "method": "donut, displacement fixed per incident by a key kept in the database",
        "donut_m": [low, high],
        "displacement": masked.summary,
        "k_anonymity": masked_k_anonymity(frame.geometry, masked.points.geometry, crs),
        "time_resolution": {"normal": "day", "sensitive": "ISO week"},
        "ids": "row numbers of this file only, in random order",
        "crs": str(crs),
    }
    table = _masked_table(masked.points)
    _write_atomically(table, path, fmt, target, "latlon")
    _write_private(geomask_report_path(path), json.dumps(summary, indent=1))
    return len(table)


def deployment_donut(engine: Engine, lang: str = "en") -> tuple[float, float]:
    """The one donut of this deployment, ``(min_m, max_m)`` (``harta_geomask_donut``).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Engine acting as the exporting role.
    lang : str
        Language of the refusal message.

    Returns
    -------
    tuple of float
        Smallest and largest displacement, in metres.

    Raises
    ------
    ExportRefused
        The role may not make masked exports (only roles that see exact points may).
    """
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT min_m, max_m FROM harta_geomask_donut()")).one()
    except ProgrammingError as exc:
        if _permission_denied(exc):
            raise ExportRefused("export.geomask.refused") from None
        raise
    return float(row.min_m), float(row.max_m)


def _keyed_draws(engine: Engine, frame: gpd.GeoDataFrame, lang: str) -> np.ndarray:
    """``(u_angle, u_radius)`` per row from the database's HMAC of the incident id."""
    ids = [int(v) for v in frame["id"]]
    nonces = [str(v) for v in frame["mask_nonce"]]
    with engine.connect() as conn:
        digests = dict(
            conn.execute(
                text(
                    "SELECT id, draw FROM harta_geomask_draws("
                    "CAST(:ids AS bigint[]), CAST(:nonces AS uuid[]))"
                ),
                {"ids": ids, "nonces": nonces},
            ).all()
        )
    if len(digests) != len(ids):
        # A row changed between the two reads: never ship an unmasked or re-drawn point.
        raise ExportFailed("export.geomask.changed")
    return np.array([draw_fractions(bytes(digests[i])) for i in ids]).reshape(-1, 2)


def _metric_crs(engine: Engine, frame: gpd.GeoDataFrame, community: Community | None) -> pyproj.CRS:
    """The CRS the displacement is measured in: the community's; for rows of several
    communities, the UTM zone of their centre (geo.crs's one policy)."""
    if community is not None:
        return community.crs
    slugs = set(frame["community"].dropna())
    if len(slugs) == 1:
        return Community.load(engine, slugs.pop()).crs
    if not len(frame):
        return crs_.to_crs(3857)
    centre = frame.geometry.union_all().centroid
    return crs_.utm_crs(centre.x, centre.y)


def coarse_period(iso_time: str | None, sensitive: bool) -> str | None:
    """The day (``2025-03-14``), or for sensitive incidents the ISO week (``2025-W11``), of a
    local ISO 8601 time.

    Parameters
    ----------
    iso_time : str or None
        Local time with its offset, as :func:`read_layer` writes it.
    sensitive : bool
        Coarsen to the week.

    Returns
    -------
    str or None
    """
    if iso_time is None:
        return None
    day = dt.date.fromisoformat(str(iso_time)[:10])
    if not sensitive:
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _masked_table(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    sensitive = points["type_code"].isin(SENSITIVE_TYPES) | (points["sensitivity"] != "normal")
    out = points.drop(columns=["id", "mask_nonce", "occurred_at"])
    out.insert(
        0,
        "occurred_in",
        [coarse_period(v, s) for v, s in zip(points["occurred_at"], sensitive, strict=True)],
    )
    # Random order and per-file row numbers: the database's ids (and their order, which is the
    # order of recording) never leave.
    order = list(range(len(out)))
    random.SystemRandom().shuffle(order)
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "ref", range(1, len(out) + 1))
    return out


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)


def read_layer(
    engine: Engine,
    layer: Layer,
    columns: tuple[str, ...],
    *,
    community: Community | None = None,
    lang: str = "en",
    scope: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Rows of ``layer`` with ``columns`` (and geometry), datetimes as local ISO 8601 text.

    Times are written in the community's own timezone with their offset, so a spreadsheet
    shows the hour people remember and a re-import reads back the same instant.

    Parameters
    ----------
    engine : Engine
        Database, acting as the exporting role.
    layer : Layer
        What to read.
    columns : tuple of str
        Columns of ``layer.table`` (``community`` is the community's slug).
    community : Community, optional
        Only its member rows (``harta_member_rows``).
    lang : str
        Language of error messages.
    scope : sequence of int, optional
        Only rows of these communities or of their settlements.

    Returns
    -------
    DataFrame or GeoDataFrame
    """
    selected = ["c.slug AS community" if name == "community" else f"t.{name}" for name in columns]
    selected.append("c.timezone AS _timezone")
    if layer.has_geometry:
        selected.append("t.geom")
    conditions, params = [], {}
    if community is not None:
        # The database's one membership rule (migration 0007) decides which rows are the
        # community's, as on its pages and in its published counts.
        conditions.append(
            f"t.id IN (SELECT m.id FROM harta_member_rows(:c, '{layer.table}') AS m)"
            if layer.has_geometry
            else "c.id = :c"
        )
        params["c"] = community.id
    if scope is not None:
        conditions.append("(c.id = ANY(:scope) OR c.parent_id = ANY(:scope))")
        params["scope"] = [int(i) for i in scope]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = (
        f"SELECT {', '.join(selected)} FROM {layer.table} t"
        f" LEFT JOIN communities c ON c.id = t.community_id{where} ORDER BY t.id"
    )
    try:
        with engine.connect() as conn:
            if layer.has_geometry:
                frame = gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)
                frame = frame.rename_geometry("geometry")
            else:
                frame = pd.read_sql(text(sql), conn, params=params)
    except Exception as exc:
        if _permission_denied(exc):
            raise ExportRefused("export.refused_by_database", layer=layer.name) from None
        raise
    for name in frame.columns:
        if name in _DATETIME_COLUMNS:
            frame[name] = [
                _local_iso(value, zone)
                for value, zone in zip(frame[name], frame["_timezone"], strict=True)
            ]
        elif name == "held_on":
            frame[name] = frame[name].map(lambda v: v.isoformat() if pd.notna(v) else None)
    return frame.drop(columns="_timezone")


def formula_risk(value: str) -> str | None:
    """The inert form of a text cell a spreadsheet could run as a formula, or None if safe.

    The text is normalised (NFKC, so ``＝`` counts as ``=``) and stripped of format characters
    (Unicode category Cf: zero-width spaces, joiners, direction marks) before it is tested,
    as a spreadsheet may ignore them.  A cell is dangerous when it starts with a formula
    character (:data:`FORMULA_PREFIXES`, after leading spaces), or when a ``;``, ``,``, tab or
    line break is followed by one: a spreadsheet whose list separator is ``;`` (Romanian
    Excel) splits the line there and runs the rest as a formula cell.

    Parameters
    ----------
    value : str
        Cell text.

    Returns
    -------
    str or None
        None when safe; otherwise the normalised text with ``'`` put before every formula
        start (so each piece a spreadsheet may split off stays text).
    """
    normal = "".join(
        ch for ch in unicodedata.normalize("NFKC", value) if unicodedata.category(ch) != "Cf"
    )
    starts = normal.lstrip(" ").startswith(FORMULA_PREFIXES)
    if not starts and not _SPLIT_FORMULA.search(normal):
        return None
    inert = _SPLIT_FORMULA.sub(lambda m: m.group(1) + "'" + m.group(2), normal)
    return "'" + inert if starts else inert


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Make every text cell a spreadsheet would evaluate inert (:func:`formula_risk`).

    Only text columns are touched: numbers such as a negative longitude stay numbers.

    Parameters
    ----------
    frame : DataFrame
        Table about to be written as CSV.

    Returns
    -------
    DataFrame
        A copy with dangerous cells rewritten.
    """
    safe = frame.copy()
    for name in safe.columns:
        if pd.api.types.is_numeric_dtype(safe[name]) or pd.api.types.is_bool_dtype(safe[name]):
            continue
        safe[name] = safe[name].map(_inert)
    return safe


def _inert(value: object) -> object:
    if not isinstance(value, str):
        return value
    fixed = formula_risk(value)
    return value if fixed is None else fixed


# --- helpers --------------------------------------------------------------------------------


def _layer(name: str, lang: str) -> Layer:
    try:
        return get_layer(name)
    except KeyError:
        raise ExportFailed("ingest.export.unknown_layer", layer=name) from None


def _format(path: Path, fmt: str | None, lang: str) -> str:
    fmt = (fmt or EXPORT_FORMATS.get(path.suffix.lower(), "")).lower()
    if fmt not in set(EXPORT_FORMATS.values()):
        raise ExportFailed(
            "ingest.export.unknown_format",
            file=path.name,
            formats=", ".join(sorted(EXPORT_FORMATS)),
        )
    return fmt


def _columns(layer: Layer, purpose: str, role: str, lang: str) -> tuple[str, ...]:
    if purpose not in layer.exports:
        raise ExportFailed(
            "ingest.export.unknown_purpose",
            purpose=purpose,
            layer=layer.name,
            purposes=", ".join(layer.exports),
        )
    if layer.exact_export_roles is not None and role not in layer.exact_export_roles:
        raise ExportRefused(
            "ingest.export.refused_role",
            layer=layer.name,
            role=role,
            roles=", ".join(layer.exact_export_roles),
        )
    allowed = layer.restricted_purposes.get(purpose)
    if allowed is not None and role not in allowed:
        raise ExportRefused(
            "ingest.export.refused_purpose",
            purpose=purpose,
            role=role,
            roles=", ".join(allowed),
        )
    return layer.exports[purpose]


def _permission_denied(exc: BaseException | None) -> bool:
    """Whether the database refused the role (SQLSTATE 42501), however pandas wrapped it."""
    while exc is not None:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
            return True
        exc = exc.__cause__
    return False


def _local_iso(value: object, zone: str | None) -> str | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    if zone:
        stamp = stamp.tz_convert(ZoneInfo(zone))
    return stamp.isoformat()


def _write_atomically(
    frame: pd.DataFrame, path: Path, fmt: str, layer: Layer, csv_geometry: str
) -> None:
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        if fmt == "csv":
            _write_csv(frame, temporary, csv_geometry)
        else:
            _write_ogr(frame, temporary, fmt, layer)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_csv(frame: pd.DataFrame, path: Path, csv_geometry: str) -> None:
    table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if "geometry" in frame:
        geometry = frame.geometry.to_numpy()
        all_points = bool((shapely.get_type_id(geometry) == 0).all())
        if csv_geometry == "latlon" or (csv_geometry == "auto" and all_points):
            table["lat"] = shapely.get_y(geometry)
            table["lon"] = shapely.get_x(geometry)
        else:
            table["wkt"] = shapely.to_wkt(geometry, rounding_precision=-1)
    # utf-8-sig: Excel on Windows reads ă, ș, ő correctly only with the BOM.
    neutralise_formulas(table).to_csv(path, index=False, encoding="utf-8-sig")


def _write_ogr(frame: pd.DataFrame, path: Path, fmt: str, layer: Layer) -> None:
    options = {}
    if fmt == "kml":
        # KML readers keep "id" for the placemark id (and rename ours "id2").
        frame = frame.rename(columns={"id": "harta_id"})
        if "name" in frame.columns:
            options["NameField"] = "name"
    if isinstance(frame, gpd.GeoDataFrame):
        pyogrio.write_dataframe(
            frame,
            path,
            driver=_DRIVERS[fmt],
            layer=layer.name,
            dataset_options=options or None,
            promote_to_multi=False,
            geometry_type=_geometry_type(frame),
        )
    else:
        pyogrio.write_dataframe(frame, path, driver=_DRIVERS[fmt], layer=layer.name)


def _geometry_type(frame: gpd.GeoDataFrame) -> str:
    types = set(frame.geometry.geom_type.dropna())
    return types.pop() if len(types) == 1 else "Unknown"
