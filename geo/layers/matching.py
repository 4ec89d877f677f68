"""How a file's column headers and cells are matched to the registry.

Column headers are matched after :func:`normalise_header`: lower case, accents removed, anything
that is not a letter or digit turned into ``_``.  ``Pericol``, ``pericol`` and ``PERICOL`` are
the same header, and so are ``veszély`` and ``veszely``.  Coded cells are accepted as the code or
as its label in any language (:func:`known_codes`).
"""

from __future__ import annotations

import re
import unicodedata

from geo import taxonomy
from geo.layers.model import Layer
from geo.roles import ROLES

#: Code groups fixed by the database schema rather than by the taxonomy.
_SCHEMA_CODES: dict[str, tuple[str, ...]] = {
    "roles": ROLES,
    "precisions": ("exact", "street", "area"),
    "sensitivities": ("normal", "sensitive", "restricted"),
    "incident_statuses": ("reported", "verified", "closed", "withdrawn"),
}


def normalise_header(header: object) -> str:
    """Normalise a column header for alias matching.

    KoBoToolbox group prefixes (``group_xy/pericol``) are dropped, accents removed (``ă``→``a``,
    ``ő``→``o``), the result lower-cased and runs of other characters turned into ``_``.
    """
    text = str(header).strip().split("/")[-1]
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", ascii_only.lower()).strip("_")


def alias_map(layer: Layer) -> dict[str, str]:
    """Normalised header to field name, for every alias of every field of ``layer``."""
    mapping: dict[str, str] = {}
    for fld in layer.fields:
        # Shapefile (.dbf) cuts field names to 10 characters: time_of_day → time_of_da.
        for alias in (fld.name, *fld.aliases, fld.name[:10]):
            mapping.setdefault(normalise_header(alias), fld.name)
    return mapping


def personal_header(header: str, layer: Layer) -> bool:
    """Whether ``header`` names a person-related column forbidden in ``layer``'s files."""
    if not layer.forbidden_header_words:
        return False
    normalised = normalise_header(header)
    words = set(normalised.split("_")) | {normalised, normalised.replace("_", "")}
    return bool(words & layer.forbidden_header_words)


def known_codes(group: str) -> dict[str, str]:
    """Accepted spellings of the codes of ``group``, mapped to the code.

    Codes are accepted as they are and, for taxonomy groups, by their label in any language
    (``"Inundații"`` and ``"Árvíz"`` both give ``flooding``), compared after
    :func:`normalise_header`.

    Parameters
    ----------
    group : str
        A taxonomy group (``hazards``, ``times_of_day``, ``seasons``, ``incident_types``,
        ``facility_kinds``) or a schema group (``roles``, ``precisions``, ``sensitivities``,
        ``incident_statuses``).

    Returns
    -------
    dict
        Normalised spelling to code.  Empty if the group is unknown.
    """
    if group in _SCHEMA_CODES:
        return {normalise_header(code): code for code in _SCHEMA_CODES[group]}
    spellings: dict[str, str] = {}
    entries = taxonomy.load().get(group, {})
    for code in entries:
        spellings[normalise_header(code)] = code
    for code, entry in entries.items():
        labels = entry.get("labels", {}) if isinstance(entry, dict) else {}
        for label in labels.values():
            spellings.setdefault(normalise_header(label), code)
    return spellings
