"""The layers Harta imports and exports, described once.

Each :class:`Layer` names its table, the geometry types it accepts, its fields (type, whether
required, default, the taxonomy group its codes come from, the column headers that mean it in
Romanian, Hungarian and English) and which fields each export purpose may write.  The importer,
the validator and the exporter all read this registry, so adding a field is a one-line change.

Column headers are matched after :func:`normalise_header`: lower case, accents removed, anything
that is not a letter or digit turned into ``_``.  ``Pericol``, ``pericol`` and ``PERICOL`` are
the same header, and so are ``veszély`` and ``veszely``.

One concern per module, every public name re-exported here (``from geo.layers import ...``):

* :mod:`~geo.layers.model` -- :class:`Field`, :class:`Layer` and the geometry type families;
* :mod:`~geo.layers.registry` -- the layers themselves (:data:`LAYERS`, :func:`get_layer`), the
  header words that mean a person and the columns only Harta writes on export;
* :mod:`~geo.layers.matching` -- headers and coded cells matched to the registry.

This is the registry of *data* layers (tables and file columns); how layers look on a map is
:mod:`geo.maps` (``styles/layers.json``).  It sits with the settings, roles and taxonomy at the
bottom of the layering: it imports nothing above them.
"""

from __future__ import annotations

from geo.layers.matching import alias_map, known_codes, normalise_header, personal_header
from geo.layers.model import LINE_TYPES, POINT_TYPES, POLYGON_TYPES, Field, FieldType, Layer
from geo.layers.registry import (
    EXPORT_ONLY_COLUMNS,
    FACILITIES,
    INCIDENTS,
    LAYERS,
    PERSONAL_HEADER_WORDS,
    RISK_ZONES,
    WORKSHOPS,
    get_layer,
)

__all__ = [
    "EXPORT_ONLY_COLUMNS",
    "FACILITIES",
    "INCIDENTS",
    "LAYERS",
    "LINE_TYPES",
    "PERSONAL_HEADER_WORDS",
    "POINT_TYPES",
    "POLYGON_TYPES",
    "RISK_ZONES",
    "WORKSHOPS",
    "Field",
    "FieldType",
    "Layer",
    "alias_map",
    "get_layer",
    "known_codes",
    "normalise_header",
    "personal_header",
]
