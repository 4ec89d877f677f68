"""Check every row of a file against a layer before anything is written.

Columns are first renamed through the layer's aliases (:func:`normalise_columns`), then every
row is checked, a column at a time (:func:`validate_rows`): geometry present, valid, of an
allowed type and inside the community's area (:mod:`geo.ingest.geometry`); required fields,
known codes, severity 1–5, dates and text lengths (:mod:`geo.ingest.fields`).

Personal data
    Incident files must not carry names.  A column whose header means a person (``name``,
    ``nume``, ``név``, ``victim``, ``suspect``, ``CNP`` …, see
    :data:`geo.layers.PERSONAL_HEADER_WORDS`) and holds any value refuses the whole file, even
    with ``skip_invalid``; an empty one (KML and GPX always have a ``name``) is dropped.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import geopandas as gpd

from geo.ingest.fields import has_values as _has_values
from geo.ingest.fields import parse_datetime, parse_field
from geo.ingest.geometry import CommunityArea, check_geometries
from geo.ingest.report import ImportReport, Problem
from geo.ingest.rows import ValidRow, ValidRows
from geo.layers import (
    EXPORT_ONLY_COLUMNS,
    Layer,
    alias_map,
    normalise_header,
    personal_header,
)


def normalise_columns(
    frame: gpd.GeoDataFrame, layer: Layer, report: ImportReport
) -> gpd.GeoDataFrame:
    """Rename source columns to the layer's field names; report what cannot be used.

    A header equal to a field name wins over aliases of that field.  Columns that name a person
    in a layer that forbids them are a file error if they hold any value.  Other unknown
    columns with values are reported as ignored (a warning).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The frame as read, with a ``_row`` column.
    layer : Layer
        The target layer.
    report : ImportReport
        Receives the problems and warnings.

    Returns
    -------
    GeoDataFrame
        ``_row``, ``geometry`` and one column per field found.
    """
    aliases = alias_map(layer)
    chosen: dict[str, str] = {}
    ignored: list[str] = []
    for column in frame.columns:
        if column in ("_row", frame.geometry.name) or column.startswith("_"):
            continue
        has_values = _has_values(frame[column])
        if personal_header(column, layer):
            if has_values:
                report.add(
                    Problem(
                        report.file,
                        None,
                        column,
                        "ingest.problem.personal_column",
                        {"column": column},
                    )
                )
            continue
        target = aliases.get(normalise_header(column))
        if target is None:
            if has_values and normalise_header(column) not in EXPORT_ONLY_COLUMNS:
                ignored.append(column)
            continue
        previous = chosen.get(target)
        if previous is None:
            chosen[target] = column
        elif normalise_header(column) == target and normalise_header(previous) != target:
            ignored.append(previous)
            chosen[target] = column
        elif normalise_header(previous) == target:
            ignored.append(column)
        elif has_values and _has_values(frame[previous]):
            report.add(
                Problem(
                    report.file,
                    None,
                    target,
                    "ingest.problem.ambiguous_columns",
                    {"field": target, "first": previous, "second": column},
                )
            )
        elif has_values:
            chosen[target] = column
    for column in ignored:
        report.add(
            Problem(
                report.file,
                None,
                column,
                "ingest.problem.ignored_column",
                {"column": column},
                level="warning",
            )
        )
    renamed = frame[["_row", frame.geometry.name, *chosen.values()]].rename(
        columns={source: target for target, source in chosen.items()}
    )
    return renamed.rename_geometry("geometry") if renamed.geometry.name != "geometry" else renamed


def validate_rows(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    community: CommunityArea,
    report: ImportReport,
    *,
    role: str,
    now: dt.datetime | None = None,
    missing: set[str] | frozenset[str] = frozenset(),
) -> ValidRows:
    """Validate every row of a normalised frame, a column at a time.

    Parameters
    ----------
    frame : GeoDataFrame
        Output of :func:`normalise_columns`.
    layer : Layer
        Target layer.
    community : CommunityArea
        Target community (area, timezone).
    report : ImportReport
        Receives one :class:`Problem` per issue, in row order (the geometry's first).
    role : str
        Importing role, the default ``reporting_role`` of incidents.
    now : datetime, optional
        "Now" for the future-date check (tests).
    missing : set of str
        Required fields no column provides, already reported once for the file: their rows
        are not reported one by one.

    Returns
    -------
    ValidRows
        Rows without errors, as columns, with their hash, in file order.
    """
    now = now or dt.datetime.now(dt.UTC)
    rows = frame["_row"].to_numpy()
    geometries, refused = check_geometries(
        frame.geometry.to_numpy(), layer, community, rows, report
    )
    tz = ZoneInfo(community.timezone)
    columns = []
    pending: list[tuple[int, int, str, tuple[str, dict]]] = []
    for order, fld in enumerate(layer.fields):
        cells = frame[fld.name].to_numpy(dtype=object) if fld.name in frame else None
        values, bad, problems = parse_field(fld, cells, len(rows), tz=tz, now=now, role=role)
        refused |= bad
        columns.append(values)
        if fld.name not in missing:
            pending.extend((index, order, fld.name, problem) for index, problem in problems.items())
    # Reported row by row, fields in the layer's order, as a person reads the file.
    for index, _, name, (key, params) in sorted(pending, key=lambda p: (p[0], p[1])):
        report.add(Problem(report.file, int(rows[index]), name, key, params))
    keep = ~refused
    valid = ValidRows(
        row=rows[keep],
        values={fld.name: column[keep] for fld, column in zip(layer.fields, columns, strict=True)},
        geom=geometries[keep],
    )
    del columns, geometries
    report.rows_valid = len(valid)
    hash_rows(valid, layer)
    return valid


# Hashing and near duplicates live in geo/ingest/dedupe.py, the geometry checks in
# geo/ingest/geometry.py, the cell parsers in geo/ingest/fields.py; re-exported for callers.
from geo.ingest.dedupe import (  # noqa: E402
    HASH_GRID_DEG,
    find_near_duplicates,
    hash_rows,
    row_hash_of,
)

__all__ = [
    "HASH_GRID_DEG",
    "CommunityArea",
    "ValidRow",
    "ValidRows",
    "check_geometries",
    "find_near_duplicates",
    "hash_rows",
    "normalise_columns",
    "parse_datetime",
    "row_hash_of",
    "validate_rows",
]
