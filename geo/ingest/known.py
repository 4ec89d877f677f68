"""Rows already known: repeated in the file, already stored, Harta's own export coming back,
demo rows, and incidents that look like one another (reported, never dropped).

Each step takes the validated rows and returns those still to write, adding a note per row
left out to the report.  Every step of :func:`geo.ingest.import_file` after validation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from geo.communities.model import Community
from geo.ingest.dedupe import HASH_GRID_DEG, find_near_duplicates
from geo.ingest.geometry import CommunityArea
from geo.ingest.report import ImportReport, Problem
from geo.ingest.rows import ValidRows, python_value
from geo.layers import Layer


def mark_demo(frame, rows: ValidRows) -> None:  # noqa: ANN001
    """Rows Harta exported as demo data (``source`` = demo or ``is_demo`` true) stay demo
    rows when they come back, so ``demo clear`` still removes them.

    Parameters
    ----------
    frame : pandas.DataFrame
        The file as read, with the spreadsheet row number in ``_row``.
    rows : ValidRows
        The validated rows; their ``demo`` flags are set in place.
    """
    flags = np.zeros(len(frame), dtype=bool)
    if "source" in frame.columns:
        flags |= frame["source"].astype(str).str.strip().str.lower().eq("demo").to_numpy(bool)
    if "is_demo" in frame.columns:
        text_flags = frame["is_demo"].astype(str).str.strip().str.lower()
        flags |= text_flags.isin(["true", "1", "t", "yes"]).to_numpy(bool)
    rows.demo = np.isin(rows.row, frame["_row"].to_numpy()[flags])


def drop_own_export(
    engine: Engine,
    layer: Layer,
    community: Community,
    frame,  # noqa: ANN001
    rows: ValidRows,
    report: ImportReport,
) -> ValidRows:
    """Leave out rows of Harta's own export that are still stored: same ``id`` in this
    community's family, the same geometry (to about 1 cm) and the same values.

    The content hash already catches most of them; this catches rows stored with another hash
    (the demo layers hash their own way).  The id alone is not enough -- a partner's file may
    number its rows 1, 2, 3 -- so a row is only recognised when the stored row with that id
    has its geometry and every value too (an export without the narrative is another row).

    Parameters
    ----------
    engine : Engine
        The importing role's engine.
    layer : Layer
        The layer imported into.
    community : Community
        The community imported into (its family's stored rows are compared).
    frame : pandas.DataFrame
        The file as read, with the spreadsheet row number in ``_row``.
    rows : ValidRows
        The validated rows.
    report : ImportReport
        Receives one note per row recognised as still stored.

    Returns
    -------
    ValidRows
        The rows that are not Harta's own stored export.
    """
    if "id" not in frame.columns or not len(rows):
        return rows
    ids = pd.to_numeric(frame["id"], errors="coerce").to_numpy(float)
    numbered = np.isfinite(ids) & (ids == np.round(ids))
    # The file's id of each valid row (-1 for none), found by its row number.
    id_of = pd.Series(ids[numbered].astype(np.int64), index=frame["_row"].to_numpy()[numbered])
    row_ids = id_of.reindex(rows.row).fillna(-1).to_numpy(np.int64)
    wanted = sorted(set(row_ids[row_ids >= 0].tolist()))
    if not wanted:
        return rows
    fields = ", ".join(layer.field_names)
    with engine.connect() as conn:
        stored = {
            found.id: found
            for found in conn.execute(
                text(
                    f"SELECT id, ST_AsBinary(geom) AS wkb, {fields} FROM {layer.table}"
                    " WHERE community_id = ANY(:family) AND id = ANY(:ids)"
                ),
                {"family": list(community.family_ids), "ids": wanted},
            )
        }
    keep = np.ones(len(rows), dtype=bool)
    for index in np.flatnonzero(np.isin(row_ids, list(stored))).tolist():
        if _same_stored_row(rows, index, stored[int(row_ids[index])], layer):
            report.add(
                Problem(
                    report.file,
                    int(rows.row[index]),
                    None,
                    "ingest.problem.duplicate_exported",
                    {"id": int(row_ids[index])},
                    level="info",
                )
            )
            report.rows_skipped_duplicate += 1
            keep[index] = False
    return rows if keep.all() else rows.take(keep)


def _same_stored_row(rows: ValidRows, index: int, found, layer: Layer) -> bool:  # noqa: ANN001
    """Whether a file row has the stored row's geometry (to ~1 cm) and every value."""
    if not shapely.equals_exact(
        shapely.normalize(shapely.from_wkb(bytes(found.wkb))),
        shapely.normalize(rows.geom[index]),
        tolerance=HASH_GRID_DEG,
    ):
        return False
    return all(
        _same_value(rows.value(name, index) if name in rows.values else None, getattr(found, name))
        for name in layer.field_names
    )


def _same_value(mine: object, theirs: object) -> bool:
    if hasattr(mine, "utcoffset") and hasattr(theirs, "utcoffset"):
        return mine == theirs  # aware datetimes compare as instants
    return ("" if mine is None else str(mine)) == ("" if theirs is None else str(theirs))


def drop_duplicates(
    engine: Engine,
    layer: Layer,
    community: CommunityArea,
    rows: ValidRows,
    report: ImportReport,
) -> ValidRows:
    """Remove rows repeated in the file or already stored; report each as a note.

    Parameters
    ----------
    engine : Engine
        The importing role's engine.
    layer : Layer
        The layer imported into.
    community : CommunityArea
        The community imported into.
    rows : ValidRows
        The validated rows.
    report : ImportReport
        Receives one note per row left out.

    Returns
    -------
    ValidRows
        The rows neither repeated in the file nor already stored.
    """
    hashes = rows.row_hash
    stored = np.isin(hashes, list(_stored_hashes(engine, layer, community.id, hashes.tolist())))
    # The first row of each hash in the file keeps it; later ones name that first row.
    codes, _ = pd.factorize(pd.Series(hashes, dtype=object))
    _, first = np.unique(codes, return_index=True)
    first_row = rows.row[first[codes]]
    repeated = ~stored & (first[codes] != np.arange(len(rows)))
    for index in np.flatnonzero(stored | repeated).tolist():
        if stored[index]:
            problem = Problem(
                report.file, int(rows.row[index]), None, "ingest.problem.duplicate_stored",
                level="info",
            )  # fmt: skip
        else:
            problem = Problem(
                report.file,
                int(rows.row[index]),
                None,
                "ingest.problem.duplicate_in_file",
                {"other": int(first_row[index])},
                level="info",
            )
        report.add(problem)
    fresh = ~(stored | repeated)
    report.rows_skipped_duplicate += int((~fresh).sum())
    return rows if fresh.all() else rows.take(fresh)


def _stored_hashes(engine: Engine, layer: Layer, community_id: int, hashes: list[str]) -> set:
    # One text parameter split by the server: an array of 100,000 strings costs seconds to
    # send element by element (hashes are hex: no comma inside).
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    f"SELECT row_hash FROM {layer.table}"
                    " WHERE community_id = :c AND row_hash = ANY(string_to_array(:hashes, ','))"
                ),
                {"c": community_id, "hashes": ",".join(hashes)},
            ).scalars()
        )


def flag_near_duplicates(
    engine: Engine, community: CommunityArea, rows: ValidRows, report: ImportReport
) -> None:
    """Warn about incidents of the same type within 25 m and 30 minutes of another.

    Parameters
    ----------
    engine : Engine
        The importing role's engine (it reads only incidents that role may read).
    community : CommunityArea
        The community imported into.
    rows : ValidRows
        The validated incident rows.
    report : ImportReport
        Receives one warning per near-duplicate.
    """
    if not len(rows):
        return
    times = rows.values["occurred_at"]
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
                    "start": python_value(times.min() - np.timedelta64(30, "m")),
                    "end": python_value(times.max() + np.timedelta64(30, "m")),
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
