"""How a file's columns and values become a layer's fields: mappings and saved profiles.

A :class:`Mapping` says, for one kind of file, which column holds which field
(``fields``: ``{"type_code": "Tip eveniment"}``), which written value means which code
(``values``: ``{"type_code": {"Scandal": "conflict_dispute"}}``) and which value every row
without one gets (``defaults``: ``{"hazard_code": "flooding"}`` for a My Maps file of flooded
streets).  The CLI builds one from ``--field``, ``--value`` and ``--set``; a saved profile
(``data/import_profiles/<name>.json``, e.g. the police export's or a KoBo form's) is the same
thing kept as data, and options given on the command line override it.

Headers people really write are recognised without a mapping (:data:`EXTRA_ALIASES`, next to
the layer's own aliases in :mod:`geo.layers`), and a separate time column (``Ora``, ``Óra``,
``time``; the pseudo-field :data:`TIME_FIELD`) is joined to the date, so an incident is stored
at the hour the police wrote, not at midnight.
"""

from __future__ import annotations

import dataclasses
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import taxonomy
from geo.ingest.frames import is_blank
from geo.ingest.profiles import (
    PROFILES_DIR,
    Mapping,
    list_profiles,
    load_profile,
    parse_options,
    save_profile,
)
from geo.ingest.report import ImportReport, Problem
from geo.layers import Field, Layer, alias_map, normalise_header, personal_header

#: Pseudo-field of a separate time-of-day column, joined to the layer's date field.  Not
#: ``time``: that header already means the date-and-time field of incidents.
TIME_FIELD = "clock_time"
#: What a person may write as the target of ``--field`` for the time column.
TIME_TARGETS = ("time", "ora", "óra", "hour", TIME_FIELD)

#: Headers partners write that the layer registry does not list yet (normalised, see
#: :func:`geo.layers.normalise_header`), per layer and field.
EXTRA_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "incidents": {
        "type_code": (
            "tip_eveniment",
            "tipul_evenimentului",
            "tip_fapta",
            "eveniment",
            "incident",
            "esemeny",
            "esemeny_tipusa",
            "tipus_esemeny",
        ),
        "severity": ("grav", "gravitate_eveniment", "sulyossag_foka", "gr"),
        "occurred_at": (
            "data_eveniment",
            "data_evenimentului",
            "data_producerii",
            "data_sesizarii",
            "nap",
            "esemeny_datuma",
        ),
        "narrative": (
            "obs",
            "observatii",
            "observatie",
            "mentiuni",
            "note",
            "notes",
            "nota",
            "comment",
            "megjegyzes",
            "megjegyzesek",
        ),
    },
    "risk_zones": {
        "severity": ("grav", "gr"),
        "note": ("obs", "observatie", "mentiuni", "megjegyzesek"),
    },
    "facilities": {"name": ("denumire_unitate", "unitate", "intezmeny")},
}
#: Headers of a separate time column.
TIME_ALIASES = ("ora", "ora_eveniment", "ora_producerii", "ora_incident", "ido", "hour")

#: Columns of KML/GPX features that name or describe the feature (not a person).
_FEATURE_NAME = ("name",)
_FEATURE_TEXT = ("description", "desc", "cmt")
_CLOCK = re.compile(r"^(\d{1,2})[.:h](\d{2})(?::(\d{2}))?$")


# --- applying a mapping ---------------------------------------------------------------------


def mapped_layer(layer: Layer) -> Layer:
    """``layer`` with :data:`EXTRA_ALIASES` and, when it has a date field, the time pseudo-field.

    Parameters
    ----------
    layer : Layer
        The target layer.

    Returns
    -------
    Layer
        Used to recognise columns only; rows are still validated against ``layer``.
    """
    extra = EXTRA_ALIASES.get(layer.name, {})
    fields = tuple(
        dataclasses.replace(f, aliases=(*f.aliases, *extra.get(f.name, ()))) for f in layer.fields
    )
    if any(f.type == "datetime" for f in layer.fields):
        fields += (Field(TIME_FIELD, aliases=TIME_ALIASES),)
    return dataclasses.replace(layer, fields=fields)


def before_columns(
    frame: gpd.GeoDataFrame, layer: Layer, mapping: Mapping, report: ImportReport
) -> gpd.GeoDataFrame:
    """Rename the columns ``mapping`` names to their fields; keep KML/GPX names as notes.

    Parameters
    ----------
    frame : GeoDataFrame
        As read.
    layer : Layer
    mapping : Mapping
    report : ImportReport
        Receives a file error for a mapped column the file does not have.

    Returns
    -------
    GeoDataFrame
    """
    frame = frame.copy()
    renames: dict[str, str] = {}
    for target, source in mapping.fields.items():
        target = TIME_FIELD if target.lower() in TIME_TARGETS else target
        column = _find_column(frame, source)
        if column is None:
            report.add(
                Problem(
                    report.file,
                    None,
                    target,
                    "ingest.problem.mapped_column_missing",
                    {"column": source, "columns": _columns_text(frame)},
                )
            )
            continue
        if personal_header(column, layer) and frame[column].map(lambda v: not is_blank(v)).any():
            # A mapping never launders a column that names a person into a harmless field:
            # the refusal of names in incident files holds whatever the column is mapped to.
            report.add(
                Problem(
                    report.file, None, column, "ingest.problem.personal_column", {"column": column}
                )
            )
            frame = frame.drop(columns=column)
            continue
        renames[column] = target
    # A column already called like a mapped field steps aside (and is reported as ignored).
    clashes = {c: f"{c} (-)" for c in frame.columns if c in renames.values() and c not in renames}
    frame = frame.rename(columns={**clashes, **renames})
    if frame.attrs.get("format") in ("kml", "kmz", "gpx") and layer.name == "risk_zones":
        frame = _feature_names_as_note(frame, mapping)
    return frame


def _find_column(frame: pd.DataFrame, source: str) -> str | None:
    if source in frame.columns:
        return source
    wanted = normalise_header(source)
    return next((c for c in frame.columns if normalise_header(c) == wanted), None)


def _columns_text(frame: pd.DataFrame) -> str:
    return ", ".join(
        str(c) for c in frame.columns if c != "geometry" and not str(c).startswith("_")
    )


def _feature_names_as_note(frame: gpd.GeoDataFrame, mapping: Mapping) -> gpd.GeoDataFrame:
    """A placemark's or track's name (and description) become the zone's note."""
    if "note" in mapping.fields:
        return frame
    parts = [
        c
        for wanted in (*_FEATURE_NAME, *_FEATURE_TEXT)
        for c in frame.columns
        if normalise_header(c) == wanted
    ]
    if not parts:
        return frame
    texts = frame[parts].map(lambda v: "" if is_blank(v) else str(v).strip())
    note = texts.apply(lambda row: " — ".join(dict.fromkeys(v for v in row if v)), axis=1)
    return frame.drop(columns=parts).assign(note=note)


def after_columns(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    mapping: Mapping,
    report: ImportReport,
    time_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Join a separate time column to the date, give defaults, translate mapped values.

    Parameters
    ----------
    frame : GeoDataFrame
        Output of :func:`geo.ingest.validate.normalise_columns` for :func:`mapped_layer`.
    layer : Layer
        The real layer.
    mapping : Mapping
    report : ImportReport
        Receives a note saying the time column was joined.
    time_column : str, optional
        The file's header of the time column (named in that note).

    Returns
    -------
    GeoDataFrame
        Only the real layer's fields (the time pseudo-field is consumed).
    """
    frame = frame.copy()
    if TIME_FIELD in frame.columns:
        frame = _join_time(frame, layer, report, time_column)
    for fld, value in mapping.defaults.items():
        if fld not in layer.field_names:
            report.add(
                Problem(report.file, None, fld, "ingest.problem.unknown_field", {"field": fld})
            )
            continue
        if fld not in frame.columns:
            frame[fld] = value
        else:
            blank = _map_distinct(frame[fld], is_blank).to_numpy(bool)
            frame[fld] = frame[fld].astype(object).where(~blank, value)
    for fld, table in mapping.values.items():
        if fld in frame.columns:
            folded = {taxonomy.fold(text): code for text, code in table.items()}
            cells = frame[fld].astype(object)
            frame[fld] = _map_distinct(
                cells,
                lambda v, folded=folded: v if is_blank(v) else folded.get(taxonomy.fold(v), v),
            )
    return frame


def _join_time(
    frame: gpd.GeoDataFrame, layer: Layer, report: ImportReport, header: str | None
) -> gpd.GeoDataFrame:
    dates = [f.name for f in layer.fields if f.type == "datetime"]
    times = frame.pop(TIME_FIELD)
    if not dates or dates[0] not in frame.columns:
        return frame
    date = dates[0]
    clock = _map_distinct(times, _clock_text)
    has_clock = clock.ne("").to_numpy(bool)
    date_text = _map_distinct(frame[date], _cell_text)
    # A date cell that already carries a time keeps it; the time column fills the others.
    date_only = ~_map_distinct(
        frame[date], lambda v: _HAS_CLOCK.search(_cell_text(v)) is not None
    ).to_numpy(bool)
    joined = np.where(
        has_clock & date_only & date_text.ne("").to_numpy(bool), date_text + " " + clock, date_text
    )
    frame[date] = pd.Series(joined, index=frame.index, dtype=object).where(date_text.ne(""), None)
    report.add(
        Problem(
            report.file,
            None,
            date,
            "ingest.problem.time_joined",
            {"column": header or TIME_FIELD, "field": date},
            level="info",
        )
    )
    return frame


_HAS_CLOCK = re.compile(r"\d:\d")


def _cell_text(value: object) -> str:
    return "" if is_blank(value) else str(value).strip()


def _map_distinct(column: pd.Series, function) -> pd.Series:  # noqa: ANN001
    """``column.map(function)`` calling ``function`` once per distinct cell (a file repeats its
    dates and times); blank cells (None, NaN) are given ``function(None)``."""
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [function(u) for u in uniques]
    table[-1] = function(None)
    return pd.Series(table[np.where(codes < 0, len(uniques), codes)], index=column.index)


def _clock_text(value: object) -> str:
    """A time cell as ``HH:MM[:SS]``: ``21:30``, ``21.30``, ``21h30`` or a spreadsheet's day
    fraction (``0.8958…``)."""
    if is_blank(value):
        return ""
    text = str(value).strip()
    found = _CLOCK.match(text)
    if found:
        hour, minute, second = found.groups()
        return f"{int(hour):02d}:{minute}" + (f":{second}" if second else "")
    try:
        fraction = float(text.replace(",", "."))
    except ValueError:
        return text  # left as written: the date parser will say it cannot read it
    if 0 <= fraction < 1:
        minutes = round(fraction * 24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return text


def time_column(frame: pd.DataFrame, layer: Layer, mapping: Mapping | None = None) -> str | None:
    """The header of the file's separate time column, if it has one (for messages).

    Parameters
    ----------
    frame : DataFrame
        As read (headers as written).
    layer : Layer
    mapping : Mapping, optional
        An explicit ``time`` mapping wins over recognised headers.

    Returns
    -------
    str or None
    """
    for target, source in (mapping.fields if mapping else {}).items():
        if target.lower() in TIME_TARGETS:
            return source
    aliases = alias_map(mapped_layer(layer))
    return next(
        (
            str(c)
            for c in frame.columns
            if c == TIME_FIELD or aliases.get(normalise_header(c)) == TIME_FIELD
        ),
        None,
    )


def missing_required(
    original: gpd.GeoDataFrame,
    normalised: gpd.GeoDataFrame,
    layer: Layer,
    report: ImportReport,
) -> set[str]:
    """Report each required field no column provides, once, naming the column that looks
    like it (its values read as the field's) and the option that maps it.

    Parameters
    ----------
    original : geopandas.GeoDataFrame
        The frame as read, with the source's column names.
    normalised : geopandas.GeoDataFrame
        The frame after :func:`normalise_columns`.
    layer : Layer
        The target layer.
    report : ImportReport
        Receives one problem per missing field.

    Returns
    -------
    set of str
        The missing fields (their rows are not reported one by one).
    """
    missing = {f.name for f in layer.fields if f.required and f.name not in normalised.columns}
    used = set(alias_map(mapped_layer(layer)))
    candidates = [
        c
        for c in original.columns
        if c != original.geometry.name
        and not str(c).startswith("_")
        and normalise_header(c) not in used
    ]
    for name in sorted(missing):
        guess = _best_column(original, candidates, layer.field(name))
        if guess is None:
            report.add(
                Problem(
                    report.file,
                    None,
                    name,
                    "ingest.problem.missing_column",
                    {"field": name, "columns": ", ".join(map(str, candidates)) or "-"},
                )
            )
        else:
            report.add(
                Problem(
                    report.file,
                    None,
                    name,
                    "ingest.problem.missing_column_guess",
                    {"field": name, "column": guess, "rows": len(original)},
                )
            )
    return missing


def _best_column(frame: pd.DataFrame, columns: list[str], fld: Field) -> str | None:
    """The column whose first values read best as ``fld`` (more than half of them)."""
    from geo.ingest.validate import parse_datetime

    def reads(value: object) -> bool:
        if fld.type == "code" and fld.codes in taxonomy.KINDS.values():
            return taxonomy.match(fld.codes, value) is not None
        if fld.type == "int":
            try:
                number = float(str(value).replace(",", "."))
            except ValueError:
                return False
            return (fld.minimum or -np.inf) <= number <= (fld.maximum or np.inf)
        if fld.type == "datetime":
            return parse_datetime(value, "UTC") is not None
        return False

    best, best_share = None, 0.5
    for column in columns:
        sample = [v for v in frame[column].tolist()[:200] if not is_blank(v)]
        if not sample:
            continue
        share = sum(reads(v) for v in sample) / len(sample)
        if share > best_share:
            best, best_share = column, share
    return best


__all__ = [
    "EXTRA_ALIASES",
    "PROFILES_DIR",
    "TIME_FIELD",
    "Mapping",
    "after_columns",
    "before_columns",
    "list_profiles",
    "load_profile",
    "mapped_layer",
    "missing_required",
    "parse_options",
    "save_profile",
    "time_column",
]
