"""Reading a session back: its marks, a table of them, its audit trail, its counts."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, text

from geo import taxonomy
from geo.i18n import t
from geo.workshops.sessions import get_session

MARK_COLUMNS = (
    "id, workshop_id, hazard_code, severity, time_of_day, season, note, grid_ref, source,"
    " created_by_role, created_at, is_demo, geom"
)


def session_marks(engine: Engine, workshop_ids: int | list[int]) -> gpd.GeoDataFrame:
    """Marks of one or more sessions, oldest first, in EPSG:4326.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database to read.
    workshop_ids : int or list of int
        One session id or several.

    Returns
    -------
    geopandas.GeoDataFrame
        The ``MARK_COLUMNS`` of each mark, geometry column ``geom``.
    """
    ids = [workshop_ids] if isinstance(workshop_ids, int) else list(workshop_ids)
    with engine.connect() as conn:
        return gpd.read_postgis(
            text(f"SELECT {MARK_COLUMNS} FROM risk_zones WHERE workshop_id = ANY(:w) ORDER BY id"),
            conn,
            geom_col="geom",
            params={"w": ids},
        )


def marks_table(marks: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The marks as a table a person reads: translated headers and labels, no geometry.

    Notes stay plain text; whoever renders the table as HTML must escape them (Streamlit's
    dataframe does).

    Parameters
    ----------
    marks : pandas.DataFrame
        Marks as :func:`session_marks` returns them.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    pandas.DataFrame
        One row per mark with translated column names; empty with those columns when there
        are no marks.
    """
    rows = []
    for mark in marks.itertuples():
        rows.append(
            {
                t("workshop.col.id", lang): int(mark.id),
                t("workshop.col.hazard", lang): taxonomy.label("hazard", mark.hazard_code, lang),
                t("workshop.col.severity", lang): (
                    f"{int(mark.severity)} · {taxonomy.label('severity', int(mark.severity), lang)}"
                ),
                t("workshop.col.time", lang): taxonomy.label("time_of_day", mark.time_of_day, lang),
                t("workshop.col.season", lang): taxonomy.label("season", mark.season, lang),
                t("workshop.col.source", lang): t(f"workshop.source.{mark.source}", lang),
                t("workshop.col.grid_ref", lang): _text(mark.grid_ref),
                t("workshop.col.note", lang): _text(mark.note),
            }
        )
    if not rows:
        return pd.DataFrame(
            columns=[
                t(f"workshop.col.{c}", lang)
                for c in (
                    "id",
                    "hazard",
                    "severity",
                    "time",
                    "season",
                    "source",
                    "grid_ref",
                    "note",
                )
            ]
        )
    return pd.DataFrame(rows)


def _text(value: Any) -> str:
    """A cell as text: missing values (None, NaN) become an empty string."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def session_history(engine: Engine, workshop_id: int) -> pd.DataFrame:
    """The audit trail of a session: every insert, update and delete of its marks, and of the
    session itself, oldest first.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Engine acting as a role that may read the audit log.
    workshop_id : int
        The session's id.

    Returns
    -------
    DataFrame
        ``changed_at``, ``table_name``, ``operation``, ``row_id``, ``app_role``,
        ``hazard_code`` (of the row after the change, or before a delete).
    """
    with engine.connect() as conn:
        return pd.read_sql(
            text(
                "SELECT changed_at, table_name, operation, row_id, app_role,"
                " COALESCE(new_row ->> 'hazard_code', old_row ->> 'hazard_code') AS hazard_code"
                " FROM audit_log WHERE (table_name = 'risk_zones' AND"
                " (new_row ->> 'workshop_id' = :w OR old_row ->> 'workshop_id' = :w))"
                " OR (table_name = 'workshops' AND row_id = :wid) ORDER BY id"
            ),
            conn,
            params={"w": str(workshop_id), "wid": workshop_id},
        )


def session_summary(engine: Engine, workshop_id: int) -> dict[str, Any]:
    """Counts of a session: marks by source and by hazard, sessions' participants.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database to read.
    workshop_id : int
        The session's id.

    Returns
    -------
    dict
        ``session`` (as :func:`get_session` returns it), ``marks`` (count), ``by_source``
        and ``by_hazard`` (code → count).
    """
    marks = session_marks(engine, workshop_id)
    session = get_session(engine, workshop_id)
    return {
        "session": session,
        "marks": len(marks),
        "by_source": marks["source"].value_counts().to_dict() if len(marks) else {},
        "by_hazard": marks["hazard_code"].value_counts().to_dict() if len(marks) else {},
    }
