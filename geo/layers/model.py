"""What a layer of the registry is: :class:`Layer` and its :class:`Field` s, and the geometry
type families a layer accepts.

Plain frozen dataclasses, no data: the layers themselves are :mod:`geo.layers.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["text", "int", "code", "datetime"]

#: Geometry type families; a repaired geometry must stay in the family it started in.
POINT_TYPES = ("Point", "MultiPoint")
LINE_TYPES = ("LineString", "MultiLineString")
POLYGON_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    Attributes
    ----------
    name : str
        Column name in the database.
    type : {"text", "int", "code", "datetime"}
        How a cell is parsed.
    required : bool
        A row without a value is refused.
    default : object
        Value written when the column is absent or the cell is blank.
    codes : str or None
        For ``code`` fields: the taxonomy group (``"hazards"``) or a fixed group defined here
        (``"roles"``, ``"precisions"`` …) listing the allowed codes.
    aliases : tuple of str
        Other column headers (ro, hu, en, KoBo names) meaning this field.
    max_length : int or None
        Longest text accepted.
    minimum, maximum : int or None
        Range of an ``int`` field.
    """

    name: str
    type: FieldType = "text"
    required: bool = False
    default: object = None
    codes: str | None = None
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Layer:
    """An importable and/or exportable layer.

    Attributes
    ----------
    name : str
        Name used by the CLI and the app (``"risk_zones"``).
    table : str
        Database table.
    geometry_types : tuple of str
        Shapely geometry types accepted on import; empty for layers without geometry.
    fields : tuple of Field
        Attributes read from files.
    exports : dict
        Export purpose (``"default"``, ``"case_file"``) to the columns it writes.
    importable : bool
        Whether ``harta import`` accepts this layer.
    forbidden_header_words : frozenset of str
        Header words (after normalisation) that must never appear in this layer's files
        because they would carry personal names or identifiers.
    exact_export_roles : tuple of str or None
        Roles allowed to export exact rows; ``None`` means every role.
    restricted_purposes : dict
        Export purpose to the roles allowed to use it.
    """

    name: str
    table: str
    geometry_types: tuple[str, ...]
    fields: tuple[Field, ...]
    exports: dict[str, tuple[str, ...]]
    importable: bool = True
    forbidden_header_words: frozenset[str] = frozenset()
    exact_export_roles: tuple[str, ...] | None = None
    restricted_purposes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the layer's fields, in registry order."""
        return tuple(f.name for f in self.fields)

    @property
    def has_geometry(self) -> bool:
        """Whether rows of this layer carry a geometry."""
        return bool(self.geometry_types)
