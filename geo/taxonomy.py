"""Codes, labels, colours and icons of everything a person marks or sees on a Harta map.

One file, ``styles/taxonomy.json``, holds every code with its labels in Romanian, Hungarian and
English, its colour and its pictogram (``styles/icons/...svg``).  Codes are stable: they are what
the database stores, so a code is never renamed, only added.

Kinds (each accepts the singular or the JSON section name):

=================  ===================  ==========================================
kind               section              codes
=================  ===================  ==========================================
``hazard``         ``hazards``          workshop risk-zone hazards
``severity``       ``severities``       ``"1"`` … ``"5"`` (low … extreme)
``time_of_day``    ``times_of_day``     ``day``, ``night``, ``always``
``season``         ``seasons``          ``all_year``, ``spring`` … ``winter``
``incident_type``  ``incident_types``   incidents reviewed by police and mediators
``facility_kind``  ``facility_kinds``   police, hospital, school, bus stop …
=================  ===================  ==========================================

This module never imports Streamlit.
"""

from __future__ import annotations

import base64
import difflib
import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

STYLES_DIR = Path(__file__).resolve().parent.parent / "styles"
TAXONOMY_PATH = STYLES_DIR / "taxonomy.json"
LAYERS_PATH = STYLES_DIR / "layers.json"

LANGUAGES: tuple[str, ...] = ("ro", "hu", "en")

#: Singular kind name -> section of taxonomy.json.
KINDS: dict[str, str] = {
    "hazard": "hazards",
    "severity": "severities",
    "time_of_day": "times_of_day",
    "season": "seasons",
    "incident_type": "incident_types",
    "facility_kind": "facility_kinds",
}
#: Kinds whose codes have a pictogram and a colour.
ICON_KINDS: tuple[str, ...] = ("hazard", "incident_type", "facility_kind")
#: Incident types that must always be treated as sensitive, whatever the file says.
ALWAYS_SENSITIVE: frozenset[str] = frozenset(
    {"domestic_violence", "sexual_violence", "child_protection"}
)

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CODE = re.compile(r"^[a-z0-9_]+$")


class TaxonomyError(ValueError):
    """``styles/taxonomy.json`` is malformed."""


class UnknownCodeError(KeyError):
    """A code (or kind, or language) that the taxonomy does not define."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


def _kind(kind: str) -> str:
    """Return the singular kind name for ``kind`` (singular or section name)."""
    if kind in KINDS:
        return kind
    for singular, section in KINDS.items():
        if kind == section:
            return singular
    raise UnknownCodeError(f"unknown taxonomy kind {kind!r}; expected one of {sorted(KINDS)}")


def _validate(data: dict[str, Any]) -> None:
    problems: list[str] = []
    for kind, section in KINDS.items():
        entries = data.get(section)
        if not isinstance(entries, dict) or not entries:
            problems.append(f"section {section!r} is missing or empty")
            continue
        for code, entry in entries.items():
            where = f"{section}.{code}"
            if not _CODE.match(code):
                problems.append(f"{where}: code must be lower-case letters, digits, underscores")
            labels = entry.get("labels", {})
            for lang in LANGUAGES:
                if not str(labels.get(lang, "")).strip():
                    problems.append(f"{where}: no {lang} label")
            if kind in ICON_KINDS or kind == "severity":
                if not _COLOUR.match(str(entry.get("colour", ""))):
                    problems.append(f"{where}: colour must look like #rrggbb")
            if kind in ICON_KINDS:
                icon = entry.get("icon")
                if not icon or not (STYLES_DIR / icon).is_file():
                    problems.append(f"{where}: icon file {icon!r} not found under styles/")
    problems.extend(_synonym_clashes(data))
    severities = data.get("severities", {})
    if isinstance(severities, dict) and sorted(severities) != ["1", "2", "3", "4", "5"]:
        problems.append("severities must be exactly 1..5")
    for code in ALWAYS_SENSITIVE:
        entry = data.get("incident_types", {}).get(code)
        if entry is None or entry.get("sensitive") is not True:
            problems.append(f"incident_types.{code}: must exist with sensitive: true")
    if problems:
        raise TaxonomyError(f"{TAXONOMY_PATH}: " + "; ".join(problems))


@cache
def load() -> dict[str, Any]:
    """Read and validate ``styles/taxonomy.json`` (once per process).

    Raises
    ------
    TaxonomyError
        If a section, label, colour or icon is missing or malformed.
    """
    with TAXONOMY_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    _validate(data)
    return data


#: Alias of :func:`load` (the name geo.layers looks for).
load_taxonomy = load


@cache
def layer_styles() -> dict[str, Any]:
    """Read ``styles/layers.json``: symbology of map layers (once per process)."""
    with LAYERS_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


def codes(kind: str) -> list[str]:
    """Codes of ``kind`` in the file's order (the order pickers and legends show)."""
    return list(load()[KINDS[_kind(kind)]])


def entry(kind: str, code: str | int) -> dict[str, Any]:
    """The taxonomy entry of ``code``; raises :class:`UnknownCodeError` for an unknown code."""
    kind = _kind(kind)
    section = load()[KINDS[kind]]
    key = str(code)
    if key not in section:
        raise UnknownCodeError(f"unknown {kind} code {code!r}; known codes: {', '.join(section)}")
    return section[key]


def hazards() -> list[str]:
    """Hazard codes of workshop risk zones."""
    return codes("hazard")


def severities() -> list[int]:
    """Severity levels, 1 (low) to 5 (extreme)."""
    return [int(c) for c in codes("severity")]


def times_of_day() -> list[str]:
    """Time-of-day codes: ``day``, ``night``, ``always``."""
    return codes("time_of_day")


def seasons() -> list[str]:
    """Season codes: ``all_year``, ``spring``, ``summer``, ``autumn``, ``winter``."""
    return codes("season")


def incident_types() -> list[str]:
    """Incident type codes."""
    return codes("incident_type")


def facility_kinds() -> list[str]:
    """Facility kind codes."""
    return codes("facility_kind")


def label(kind: str, code: str | int, lang: str) -> str:
    """Label of ``code`` in ``lang`` (``ro``, ``hu`` or ``en``); unknown languages fall back to
    English, unknown codes raise :class:`UnknownCodeError`."""
    labels = entry(kind, code)["labels"]
    return labels.get(lang) or labels["en"]


def labels(kind: str, lang: str) -> dict[str, str]:
    """Code -> label for every code of ``kind``, in order (handy for select boxes)."""
    return {code: label(kind, code, lang) for code in codes(kind)}


def colour(kind: str, code: str | int) -> str:
    """``#rrggbb`` colour of a hazard, incident type, facility kind or severity."""
    value = entry(kind, code).get("colour")
    if value is None:
        raise UnknownCodeError(f"{_kind(kind)} codes have no colour")
    return value


def severity_colour(n: int | str) -> str:
    """Fill colour of severity ``n`` (1 light yellow … 5 dark red)."""
    return colour("severity", int(n))


def severity_text_colour(n: int | str) -> str:
    """Text colour readable on :func:`severity_colour` (black or white)."""
    return entry("severity", int(n)).get("text_colour", "#000000")


def is_sensitive(type_code: str) -> bool:
    """Whether incidents of this type are sensitive (domestic or sexual violence, child
    protection): restricted views, never shown as points to the public."""
    return bool(entry("incident_type", type_code).get("sensitive")) or (
        type_code in ALWAYS_SENSITIVE
    )


def sensitive_incident_types() -> list[str]:
    """Incident type codes flagged sensitive."""
    return [code for code in incident_types() if is_sensitive(code)]


def icon_path(kind: str, code: str) -> Path:
    """Absolute path of the SVG pictogram of a hazard, incident type or facility kind."""
    icon = entry(kind, code).get("icon")
    if not icon:
        raise UnknownCodeError(f"{_kind(kind)} codes have no icon")
    return STYLES_DIR / icon


@cache
def icon_svg(kind: str, code: str) -> str:
    """The SVG text of a pictogram."""
    return icon_path(kind, code).read_text(encoding="utf-8")


@cache
def icon_data_uri(kind: str, code: str) -> str:
    """The pictogram as a ``data:image/svg+xml;base64,...`` URI, to embed in HTML offline."""
    encoded = base64.b64encode(icon_path(kind, code).read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


# --- matching what people write against codes -----------------------------------------------


def fold(text: object) -> str:
    """``text`` as compared when matching: lower case, no diacritics, words joined by ``_``.

    The cedilla and comma-below forms of ş/ș and ţ/ț (both in use in Romanian files) fold to
    ``s`` and ``t``, ``ő``/``ű`` to ``o``/``u``, and anything that is not a letter or a digit
    separates words, so ``"Violență  domestică"``, ``"violenta-domestica"`` and
    ``"VIOLENŢĂ DOMESTICĂ"`` are the same spelling.

    Parameters
    ----------
    text : object
        A cell or a label.

    Returns
    -------
    str
    """
    decomposed = unicodedata.normalize("NFKD", str(text).strip())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", ascii_only.lower()).strip("_")


def _synonym_clashes(data: dict[str, Any]) -> list[str]:
    """A spelling that names two codes of one kind could not be matched: refuse the file."""
    problems = []
    for section in KINDS.values():
        seen: dict[str, str] = {}
        for code, item in (data.get(section) or {}).items():
            for spelling in {fold(s) for s in _spellings_of(code, item)}:
                other = seen.setdefault(spelling, code)
                if other != code:
                    problems.append(f"{section}: {spelling!r} names both {other} and {code}")
    return problems


def _spellings_of(code: str, item: dict[str, Any]) -> list[str]:
    return [code, *item.get("labels", {}).values(), *item.get("synonyms", [])]


@cache
def spellings(kind: str) -> dict[str, str]:
    """Every accepted spelling of the codes of ``kind`` (folded) mapped to its code.

    A code is accepted as itself, as its label in any language and as any of its
    ``synonyms`` (``styles/taxonomy.json``), compared after :func:`fold`.

    Parameters
    ----------
    kind : str
        ``hazard``, ``incident_type``, ``facility_kind`` … (or the section name).

    Returns
    -------
    dict
        Folded spelling to code.
    """
    section = load()[KINDS[_kind(kind)]]
    found: dict[str, str] = {}
    for code, item in section.items():
        for spelling in _spellings_of(code, item):
            found.setdefault(fold(spelling), code)
    return found


def match(kind: str, text: object) -> str | None:
    """The code ``text`` names (by code, label or synonym), or ``None``.

    Parameters
    ----------
    kind : str
        Taxonomy kind.
    text : object
        What the file says.

    Returns
    -------
    str or None
    """
    return spellings(kind).get(fold(text))


def suggest(kind: str, text: object, n: int = 3) -> list[str]:
    """Codes whose spellings are closest to ``text`` ("did you mean …"), best first.

    Parameters
    ----------
    kind : str
        Taxonomy kind.
    text : object
        An unknown value.
    n : int
        At most this many codes.

    Returns
    -------
    list of str
        Codes, possibly empty when nothing is close.
    """
    table = spellings(kind)
    folded = fold(text)
    close = difflib.get_close_matches(folded, list(table), n=n * 4, cutoff=0.6)
    # A word of the value inside a spelling ("conflict" in "conflict_sau_cearta") also counts.
    words = [w for w in folded.split("_") if len(w) >= 4]
    close += [s for s in table if any(w in s.split("_") for w in words)]
    codes: list[str] = []
    for spelling in close:
        if table[spelling] not in codes:
            codes.append(table[spelling])
    return codes[:n]
