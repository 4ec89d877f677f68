"""Export a layer to GeoJSON, GeoPackage, KML or CSV, for QGIS, Google Earth or a spreadsheet.

Only the columns of the export purpose (:attr:`geo.layers.Layer.exports`) leave the database:
an incident's ``narrative`` never does by default.  Exact incidents are exported only for the
police and mediator roles; everyone else gets a clear refusal (aggregated views come from the
privacy module).  Files are written to a temporary name beside the target and renamed, so a
reader never sees half a file.  CSV cells that a spreadsheet would run as a formula
(``= + - @``, tab, carriage return at the start) are prefixed with ``'``.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Engine, text

from geo.i18n import t
from geo.layers import Layer, get_layer

#: File extension to export format.
EXPORT_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".csv": "csv",
}
_DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "kml": "KML"}
#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_DATETIME_COLUMNS = ("occurred_at", "created_at")


class ExportFailed(ValueError):
    """The export cannot be made (unknown layer, format or community)."""

    def __init__(self, key: str, lang: str = "en", /, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(t(key, lang, **params))

    def render(self, lang: str = "en") -> str:
        """The reason in ``lang``."""
        return t(self.key, lang, **self.params)


class ExportRefused(PermissionError):
    """The role may not export this layer (or purpose) exactly."""

    def __init__(self, key: str, lang: str = "en", /, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(t(key, lang, **params))

    def render(self, lang: str = "en") -> str:
        """The reason in ``lang``."""
        return t(self.key, lang, **self.params)


def export_layer(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    community: str | None = None,
    fmt: str | None = None,
    role: str = "admin",
    purpose: str = "default",
    csv_geometry: str = "auto",
    lang: str = "en",
    geomask: tuple[float, float] | None = None,
    geomask_seed: int | None = None,
) -> int:
    """Write one layer to a file.

    Parameters
    ----------
    engine : Engine
        Database.
    layer : str
        ``risk_zones``, ``incidents``, ``facilities`` or ``workshops``.
    path : str or Path
        Target file; replaced atomically if it exists.
    community : str, optional
        Community slug; all communities when omitted.
    fmt : str, optional
        ``geojson``, ``gpkg``, ``kml`` or ``csv``; taken from the extension when omitted.
    role : str
        Role the export is made for; incidents need ``police`` or ``mediator``.
    purpose : str
        Column set (see ``Layer.exports``): ``default``, or ``case_file`` (incidents with
        narrative, police and mediators only).
    csv_geometry : {"auto", "latlon", "wkt"}
        CSV geometry columns: ``lat``/``lon`` for point layers and ``wkt`` otherwise (auto).
    lang : str
        Language of error messages.
    geomask : (float, float), optional
        Donut geomasking for exports to partners: every point is moved in a random direction by
        ``min`` to ``max`` metres (:func:`geo.privacy.donut_geomask`, measured in the
        community's metric CRS).  The displacement applied is reported in a JSON file next to
        the export, ``<file>.geomask.json`` (:func:`geomask_report_path`).
    geomask_seed : int, optional
        Seed of the mask, for a reproducible export.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ExportFailed
        Unknown layer, format, purpose or community (a ``ValueError``).
    ExportRefused
        The role may not export this (a ``PermissionError``).
    """
    path = Path(path)
    target = _layer(layer, lang)
    fmt = _format(path, fmt, lang)
    columns = _columns(target, purpose, role, lang)
    if fmt == "kml" and not target.has_geometry:
        raise ExportFailed("ingest.export.no_geometry", lang, layer=target.name, format=fmt)
    frame = read_layer(engine, target, columns, community=community, lang=lang)
    summary = None
    if geomask is not None:
        frame, summary = _apply_geomask(engine, frame, community, geomask, geomask_seed, lang)
    _write_atomically(frame, path, fmt, target, csv_geometry)
    if summary is not None:
        geomask_report_path(path).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return len(frame)


def geomask_report_path(path: str | Path) -> Path:
    """Where :func:`export_layer` reports the displacement of a geomasked export."""
    path = Path(path)
    return path.with_name(path.name + ".geomask.json")


def _apply_geomask(
    engine: Engine,
    frame: gpd.GeoDataFrame,
    community: str | None,
    bounds: tuple[float, float],
    seed: int | None,
    lang: str,
) -> tuple[gpd.GeoDataFrame, dict]:
    from geo.privacy import donut_geomask

    if not isinstance(frame, gpd.GeoDataFrame) or not frame.geom_type.isin(["Point"]).all():
        raise ExportFailed("ingest.export.geomask_points_only", lang)
    if community is not None:
        with engine.connect() as conn:
            epsg = conn.execute(
                text("SELECT metric_crs FROM communities WHERE slug = :s"), {"s": community}
            ).scalar_one()
        crs = f"EPSG:{epsg}"
    else:
        crs = frame.estimate_utm_crs() if len(frame) else "EPSG:3857"
    try:
        masked = donut_geomask(frame, crs, float(bounds[0]), float(bounds[1]), seed=seed)
    except ValueError:
        raise ExportFailed("ingest.export.geomask_bounds", lang) from None
    summary = {**masked.summary, "crs": str(crs)}
    return masked.points, summary


def read_layer(
    engine: Engine,
    layer: Layer,
    columns: tuple[str, ...],
    *,
    community: str | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """Rows of ``layer`` with ``columns`` (and geometry), datetimes as local ISO 8601 text.

    Times are written in the community's own timezone with their offset, so a spreadsheet
    shows the hour people remember and a re-import reads back the same instant.
    """
    selected = ["c.slug AS community" if name == "community" else f"t.{name}" for name in columns]
    selected.append("c.timezone AS _timezone")
    if layer.has_geometry:
        selected.append("t.geom")
    where, params = "", {}
    if community is not None:
        _check_community(engine, community, lang)
        where, params = " WHERE c.slug = :slug", {"slug": community}
    sql = (
        f"SELECT {', '.join(selected)} FROM {layer.table} t"
        f" LEFT JOIN communities c ON c.id = t.community_id{where} ORDER BY t.id"
    )
    with engine.connect() as conn:
        if layer.has_geometry:
            frame = gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)
            frame = frame.rename_geometry("geometry")
        else:
            frame = pd.read_sql(text(sql), conn, params=params)
    for name in frame.columns:
        if name in _DATETIME_COLUMNS:
            frame[name] = [
                _local_iso(value, zone)
                for value, zone in zip(frame[name], frame["_timezone"], strict=True)
            ]
        elif name == "held_on":
            frame[name] = frame[name].map(lambda v: v.isoformat() if pd.notna(v) else None)
    return frame.drop(columns="_timezone")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@`` …) with ``'``.

    Only text columns are touched: numbers such as a negative longitude stay numbers.
    """
    safe = frame.copy()
    for name in safe.columns:
        if pd.api.types.is_numeric_dtype(safe[name]) or pd.api.types.is_bool_dtype(safe[name]):
            continue
        safe[name] = safe[name].map(
            lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
        )
    return safe


# --- helpers --------------------------------------------------------------------------------


def _layer(name: str, lang: str) -> Layer:
    try:
        return get_layer(name)
    except KeyError:
        raise ExportFailed("ingest.export.unknown_layer", lang, layer=name) from None


def _format(path: Path, fmt: str | None, lang: str) -> str:
    fmt = (fmt or EXPORT_FORMATS.get(path.suffix.lower(), "")).lower()
    if fmt not in set(EXPORT_FORMATS.values()):
        raise ExportFailed(
            "ingest.export.unknown_format",
            lang,
            file=path.name,
            formats=", ".join(sorted(EXPORT_FORMATS)),
        )
    return fmt


def _columns(layer: Layer, purpose: str, role: str, lang: str) -> tuple[str, ...]:
    if purpose not in layer.exports:
        raise ExportFailed(
            "ingest.export.unknown_purpose",
            lang,
            purpose=purpose,
            layer=layer.name,
            purposes=", ".join(layer.exports),
        )
    if layer.exact_export_roles is not None and role not in layer.exact_export_roles:
        raise ExportRefused(
            "ingest.export.refused_role",
            lang,
            layer=layer.name,
            role=role,
            roles=", ".join(layer.exact_export_roles),
        )
    allowed = layer.restricted_purposes.get(purpose)
    if allowed is not None and role not in allowed:
        raise ExportRefused(
            "ingest.export.refused_purpose",
            lang,
            purpose=purpose,
            role=role,
            roles=", ".join(allowed),
        )
    return layer.exports[purpose]


def _check_community(engine: Engine, slug: str, lang: str) -> None:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM communities WHERE slug = :slug"), {"slug": slug}
        ).scalar_one_or_none()
    if found is None:
        raise ExportFailed("ingest.error.unknown_community", lang, community=slug)


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
