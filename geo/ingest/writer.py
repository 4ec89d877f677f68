"""Write validated rows in one transaction, fast.

Rows go to the session's staging table (made by ``harta_ingest_begin``, migration 0013) with
``COPY … (FORMAT csv)`` of one preformatted text per batch (:data:`BATCH_SIZE` rows, built a
column at a time from :class:`~geo.ingest.rows.ValidRows`; progress reported after each), then
into the layer
with one set-based ``INSERT … SELECT … ON CONFLICT (community_id, row_hash) DO NOTHING``
(``harta_ingest_finish``: the checks that belong to PostGIS and the constraints run there, once,
over the whole set), so a row already stored (same content hash) is skipped by the database
itself, even when two imports race.  Rows that were withdrawn or purged (a tombstone in the
database, migration 0004) are left out by the same statement, with one anti-join, and reported
as withdrawn.  The
``imports`` row, every layer row and the audit trail entries share the transaction: an error at
any point leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo.db.engine import set_app_role
from geo.ingest.report import ImportReport, Problem
from geo.ingest.rows import ValidRows, is_datetime, join_columns
from geo.layers import Layer

#: Rows per COPY + INSERT round; progress is reported after each.
BATCH_SIZE = 5000

ProgressCallback = Callable[[int, int], None]

_STAGING = "pg_temp._harta_import_rows"
#: Layers the database's set-based writer takes (migration 0013: the tombstoned layers);
#: others (facilities) are staged and inserted by the caller itself.
_BULK_LAYERS = frozenset({"incidents", "risk_zones"})


@dataclass(frozen=True)
class ImportTarget:
    """Where and as whom rows are written."""

    community_id: int
    role: str
    source: str
    filename: str
    file_sha256: str
    file_format: str
    workshop_id: int | None = None

    @property
    def is_demo(self) -> bool:
        """Demo imports are flagged so they can be removed in one go."""
        return self.source == "demo"


def write_import(
    engine: Engine,
    layer: Layer,
    rows: ValidRows,
    target: ImportTarget,
    report: ImportReport,
    *,
    progress: ProgressCallback | None = None,
    batch_size: int | None = None,
) -> int:
    """Write the ``imports`` row and ``rows`` atomically; update ``report``.

    Parameters
    ----------
    engine : Engine
        Database.
    layer : Layer
        Target layer.
    rows : ValidRows
        Rows to insert (validated, hashed, duplicates within the file removed).
    target : ImportTarget
        Community, role and provenance.
    report : ImportReport
        Receives ``import_id``, ``rows_written`` and duplicates skipped by the database.
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch is staged.
    batch_size : int, optional
        Rows per batch (default :data:`BATCH_SIZE`).

    Returns
    -------
    int
        ``imports.id`` of the run.
    """
    columns = _columns(layer)
    batch_size = batch_size or BATCH_SIZE
    with engine.begin() as conn:
        set_app_role(conn, target.role)
        rows = _skip_withdrawn(conn, layer, target, rows, report)
        total = len(rows)
        import_id = _insert_import_row(conn, layer, target, report)
        _create_staging(conn, layer, columns)
        cursor = conn.connection.driver_connection.cursor()
        written = 0
        if progress:
            progress(0, total)
        for start in range(0, total, batch_size):
            batch = rows.take(slice(start, start + batch_size))
            _copy_batch(cursor, columns, _csv_batch(batch, layer, target, import_id))
            if progress:
                progress(min(start + batch_size, total), total)
        if total:
            written = _insert_batch(cursor, layer, columns)
        report.import_id = import_id
        report.rows_written = written
        # Rows the database found already stored (a concurrent import) count as duplicates.
        report.rows_skipped_duplicate += total - written
        _finish_import_row(conn, import_id, report)
    return import_id


def record_attempt(engine: Engine, layer: Layer, target: ImportTarget, report: ImportReport) -> int:
    """Record an import that wrote nothing (refused rows, or a file error) in ``imports``.

    Every attempt leaves a trace with its counts and report (``report->>'outcome'``), so a
    refused police export is visible to whoever follows up, not only to the person at the
    keyboard.  Nothing of the rows themselves is stored: the report holds reasons and row
    numbers, values only as quoted in messages.

    Parameters
    ----------
    engine : Engine
        The role-acting engine of the person importing.
    layer : Layer
    target : ImportTarget
    report : ImportReport
        Receives ``import_id``.

    Returns
    -------
    int
        ``imports.id``.
    """
    with engine.begin() as conn:
        set_app_role(conn, target.role)
        import_id = _insert_import_row(conn, layer, target, report)
        report.import_id = import_id
        _finish_import_row(conn, import_id, report)
    return import_id


def _skip_withdrawn(
    conn: Connection,
    layer: Layer,
    target: ImportTarget,
    rows: ValidRows,
    report: ImportReport,
) -> ValidRows:
    """Leave out rows that were withdrawn or purged before (their tombstone is in the
    database), each reported as a note; a re-imported source file never brings them back.

    The database refuses such rows by itself as well (a trigger); asking first only makes the
    report say why they were not written.
    """
    hashes = [h for h in rows.row_hash.tolist() if h]
    if not hashes:
        return rows
    withdrawn = list(
        conn.execute(
            # One text parameter split by the server (see _stored_hashes in geo.ingest).
            text("SELECT unnest(harta_withdrawn_hashes(:layer, :c, string_to_array(:h, ',')))"),
            {"layer": layer.name, "c": target.community_id, "h": ",".join(hashes)},
        ).scalars()
    )
    gone = np.isin(rows.row_hash, withdrawn)
    for row in rows.row[gone].tolist():
        report.add(Problem(report.file, row, None, "security.import.withdrawn", level="info"))
    return rows.take(~gone) if gone.any() else rows


def _columns(layer: Layer) -> list[str]:
    columns = ["community_id"]
    if layer.name == "risk_zones":
        columns.append("workshop_id")
    columns += list(layer.field_names)
    columns += [
        "geom",
        "source",
        "source_ref",
        "import_id",
        "row_hash",
        "created_by_role",
        "is_demo",
    ]
    return columns


def _insert_import_row(
    conn: Connection, layer: Layer, target: ImportTarget, report: ImportReport
) -> int:
    return conn.execute(
        text(
            "INSERT INTO imports (layer, filename, file_sha256, file_format, community_id,"
            " rows_read, rows_written, rows_skipped, created_by_role)"
            " VALUES (:layer, :filename, :sha, :fmt, :community, :read, 0, 0, :role)"
            " RETURNING id"
        ),
        {
            "layer": layer.name,
            "filename": target.filename,
            "sha": target.file_sha256,
            "fmt": target.file_format,
            "community": target.community_id,
            "read": report.rows_read,
            "role": target.role,
        },
    ).scalar_one()


def _finish_import_row(conn: Connection, import_id: int, report: ImportReport) -> None:
    conn.execute(
        text(
            "UPDATE imports SET rows_written = :written, rows_skipped = :skipped,"
            " report = CAST(:report AS jsonb) WHERE id = :id"
        ),
        {
            "written": report.rows_written,
            "skipped": report.rows_read - report.rows_written,
            "report": json.dumps(report.to_dict(), ensure_ascii=False, default=str),
            "id": import_id,
        },
    )


def _create_staging(conn: Connection, layer: Layer, columns: list[str]) -> None:
    """The session's staging table, made by the database (migration 0013) with the layer's
    column types; this connection may only fill it."""
    if layer.table not in _BULK_LAYERS:
        # Same column types as the layer, no constraints: the INSERT into the layer checks them.
        conn.execute(
            text(
                f"CREATE TEMP TABLE _harta_import_rows ON COMMIT DROP AS"
                f" SELECT {', '.join(columns)} FROM {layer.table} WITH NO DATA"
            )
        )
        return
    conn.execute(
        text("SELECT harta_ingest_begin(:layer, CAST(:columns AS text[]))"),
        {"layer": layer.table, "columns": columns},
    )


def _csv_batch(rows: ValidRows, layer: Layer, target: ImportTarget, import_id: int) -> str:
    """One batch as the text of ``COPY … (FORMAT csv)``: a column of ready fields at a time.

    Strings are always quoted (so an empty text is not NULL), NULL is an empty unquoted field,
    geometries are hex EWKB (valid geometry input), date-times ISO 8601 in UTC.
    """
    n = len(rows)
    fields = [_constant(target.community_id, n)]
    if layer.name == "risk_zones":
        fields.append(_constant(target.workshop_id, n))
    fields += [_csv_column(rows.values[name]) for name in layer.field_names]
    geometries = shapely.set_srid(rows.geom, 4326)
    fields += [
        shapely.to_wkb(geometries, hex=True, include_srid=True, output_dimension=2),
        _constant(target.source, n),
        '"' + _escaped(f"{target.filename}#") + rows.row.astype(str).astype(object) + '"',
        _constant(import_id, n),
        rows.row_hash,
        _constant(target.role, n),
        np.where(rows.demo | target.is_demo, "t", "f").astype(object),
    ]
    return "".join(line + "\n" for line in join_columns(fields, ",")) if n else ""


def _escaped(value: str) -> str:
    return value.replace('"', '""')


def _constant(value: object, n: int) -> np.ndarray:
    field = "" if value is None else _csv_cell(value)
    return np.full(n, field, dtype=object)


def _csv_cell(value: object) -> str:
    if isinstance(value, str):
        return '"' + _escaped(value) + '"'
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _csv_column(column: np.ndarray) -> np.ndarray:
    """CSV fields of one value column, each distinct value formatted once."""
    if is_datetime(column):
        text = np.datetime_as_string(column, unit="us").astype(object) + "+00:00"
        text[np.isnat(column)] = ""
        return text
    codes, uniques = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [_csv_cell(u) for u in uniques]
    table[-1] = ""
    return table[np.where(codes < 0, len(uniques), codes)]


def _copy_batch(cursor, columns: list[str], batch: str) -> None:
    """COPY one batch of CSV text into the staging table."""
    with cursor.copy(f"COPY {_STAGING} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(batch)


def _insert_batch(cursor, layer: Layer, columns: list[str]) -> int:
    """Move the staged rows into the layer in one statement; return how many were new.

    ``harta_ingest_finish`` checks the acting role may write them (the layer's row security),
    leaves out withdrawn and purged rows with one anti-join on the tombstones, and inserts the
    rest ``ON CONFLICT (community_id, row_hash) DO NOTHING``.
    """
    if layer.table not in _BULK_LAYERS:
        names = ", ".join(columns)
        cursor.execute(
            f"INSERT INTO {layer.table} ({names}) SELECT {names} FROM {_STAGING}"
            " ON CONFLICT (community_id, row_hash) DO NOTHING"
        )
        return cursor.rowcount
    cursor.execute("SELECT harta_ingest_finish(%s)", (layer.table,))
    return cursor.fetchone()[0]
