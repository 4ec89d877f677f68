"""The layers Harta imports and exports, described once.

Each :class:`Layer` names its table, the geometry types it accepts, its fields (type, whether
required, default, the taxonomy group its codes come from, the column headers that mean it in
Romanian, Hungarian and English) and which fields each export purpose may write.  The importer,
the validator and the exporter all read this registry, so adding a field is a one-line change.

Column headers are matched after :func:`normalise_header`: lower case, accents removed, anything
that is not a letter or digit turned into ``_``.  ``Pericol``, ``pericol`` and ``PERICOL`` are
the same header, and so are ``veszély`` and ``veszely``.

This is the registry of *data* layers (tables and file columns); how layers look on a map is
:mod:`geo.maps` (``styles/layers.json``).  It sits with the settings, roles and taxonomy at the
bottom of the layering: it imports nothing above them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from geo import taxonomy
from geo.roles import ROLES

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


# --- shared field definitions ---------------------------------------------------------------

_SEVERITY = Field(
    "severity",
    "int",
    required=True,
    minimum=1,
    maximum=5,
    aliases=(
        "severity",
        "severitate",
        "gravitate",
        "gravitatea",
        "sulyossag",
        "sulyos",
        "level",
        "nivel",
        "szint",
        "risk_level",
        "nivel_risc",
    ),
)
_EXTERNAL_REF = Field(
    "external_ref",
    max_length=100,
    aliases=(
        "external_ref",
        "ref",
        "reference",
        "referinta",
        "nr_dosar",
        "numar_dosar",
        "case_number",
        "case_ref",
        "hivatkozas",
        "ugyszam",
    ),
)

#: Columns every export carries next to the layer's fields.
_PROVENANCE_EXPORT = ("id", "community", "source", "created_at")

#: Columns Harta itself writes on export; re-importing an export ignores them without warning.
EXPORT_ONLY_COLUMNS = frozenset(
    {
        "id",
        "community",
        "community_id",
        "source",
        "source_ref",
        "created_at",
        "created_by_role",
        "import_id",
        "row_hash",
        "is_demo",
        "workshop_id",
        "fid",
        "harta_id",
        "ogc_fid",
    }
)

#: Words in a header that mean a person: never accepted in incident files.  Names (ro, hu, en),
#: the roles people play in an incident, and direct identifiers (Romanian CNP, phone, e-mail).
PERSONAL_HEADER_WORDS = frozenset(
    {
        "name",
        "names",
        "nume",
        "prenume",
        "numele",
        "nev",
        "nevek",
        "vezeteknev",
        "keresztnev",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "victim",
        "victims",
        "victima",
        "victime",
        "victimei",
        "aldozat",
        "suspect",
        "suspects",
        "suspectul",
        "suspecti",
        "gyanusitott",
        "faptas",
        "perpetrator",
        "offender",
        "agresor",
        "witness",
        "martor",
        "tanu",
        "person",
        "persons",
        "persoana",
        "persoane",
        "szemely",
        "personal",
        "cnp",
        "phone",
        "telefon",
        "tel",
        "email",
        "mail",
        "adresa_victimei",
    }
)

RISK_ZONES = Layer(
    name="risk_zones",
    table="risk_zones",
    geometry_types=(*POLYGON_TYPES, *LINE_TYPES, *POINT_TYPES),
    fields=(
        Field(
            "hazard_code",
            "code",
            required=True,
            codes="hazards",
            aliases=(
                "hazard",
                "hazard_code",
                "hazard_type",
                "type",
                "pericol",
                "pericole",
                "tip_pericol",
                "risc",
                "risk",
                "veszely",
                "veszelyforras",
                "kockazat",
            ),
        ),
        _SEVERITY,
        Field(
            "time_of_day",
            "code",
            default="always",
            codes="times_of_day",
            aliases=(
                "time_of_day",
                "time",
                "when",
                "moment",
                "moment_al_zilei",
                "ora",
                "cand",
                "napszak",
                "mikor",
            ),
        ),
        Field(
            "season",
            "code",
            default="all_year",
            codes="seasons",
            aliases=("season", "sezon", "anotimp", "evszak"),
        ),
        Field(
            "note",
            max_length=500,
            aliases=(
                "note",
                "notes",
                "nota",
                "notite",
                "comment",
                "comments",
                "comentariu",
                "observatii",
                "description",
                "descriere",
                "megjegyzes",
                "leiras",
                "desc",
                "cmt",
            ),
        ),
        Field("grid_ref", max_length=8, aliases=("grid_ref", "grid", "caroiaj", "racs")),
    ),
    exports={
        "default": (
            *_PROVENANCE_EXPORT,
            "workshop_id",
            "hazard_code",
            "severity",
            "time_of_day",
            "season",
            "note",
            "grid_ref",
        ),
    },
)

INCIDENTS = Layer(
    name="incidents",
    table="incidents",
    geometry_types=POINT_TYPES,
    fields=(
        Field(
            "occurred_at",
            "datetime",
            required=True,
            aliases=(
                "occurred_at",
                "date",
                "datetime",
                "date_time",
                "data",
                "data_ora",
                "data_si_ora",
                "data_incident",
                "datum",
                "idopont",
                "when_occurred",
                "occurred",
                "timestamp",
                "time",
            ),
        ),
        Field(
            "type_code",
            "code",
            required=True,
            codes="incident_types",
            aliases=(
                "type_code",
                "type",
                "incident_type",
                "category",
                "tip",
                "tip_incident",
                "categorie",
                "tipus",
                "kategoria",
                "esemeny_tipus",
            ),
        ),
        _SEVERITY,
        Field(
            "location_precision",
            "code",
            default="exact",
            codes="precisions",
            aliases=(
                "location_precision",
                "precision",
                "precizie",
                "precizie_locatie",
                "pontossag",
            ),
        ),
        Field(
            "sensitivity",
            "code",
            default="normal",
            codes="sensitivities",
            aliases=("sensitivity", "sensibilitate", "confidentialitate", "erzekenyseg"),
        ),
        # The default is the importing role; see geo.ingest.validate.
        Field(
            "reporting_role",
            "code",
            codes="roles",
            aliases=(
                "reporting_role",
                "reported_by",
                "raportat_de",
                "rol",
                "role",
                "bejelento",
                "szerep",
            ),
        ),
        Field(
            "status",
            "code",
            default="reported",
            codes="incident_statuses",
            aliases=("status", "stare", "stadiu", "allapot"),
        ),
        Field(
            "narrative",
            max_length=5000,
            aliases=(
                "narrative",
                "description",
                "descriere",
                "relatare",
                "detalii",
                "details",
                "leiras",
                "reszletek",
                "desc",
            ),
        ),
        _EXTERNAL_REF,
    ),
    exports={
        "default": (
            *_PROVENANCE_EXPORT,
            "occurred_at",
            "type_code",
            "severity",
            "location_precision",
            "sensitivity",
            "reporting_role",
            "status",
            "external_ref",
        ),
        # The narrative leaves the database only in a case file, only for these roles.
        "case_file": (
            *_PROVENANCE_EXPORT,
            "occurred_at",
            "type_code",
            "severity",
            "location_precision",
            "sensitivity",
            "reporting_role",
            "status",
            "external_ref",
            "narrative",
        ),
    },
    forbidden_header_words=PERSONAL_HEADER_WORDS,
    exact_export_roles=("police", "mediator"),
    restricted_purposes={"case_file": ("police", "mediator")},
)

FACILITIES = Layer(
    name="facilities",
    table="facilities",
    geometry_types=POINT_TYPES,
    fields=(
        Field(
            "kind",
            "code",
            required=True,
            codes="facility_kinds",
            aliases=(
                "kind",
                "type",
                "facility",
                "facility_kind",
                "category",
                "amenity",
                "tip",
                "categorie",
                "fel",
                "tipus",
                "kategoria",
                "letesitmeny",
            ),
        ),
        Field("name", max_length=200, aliases=("name", "nume", "denumire", "nev", "megnevezes")),
        Field("address", max_length=300, aliases=("address", "adresa", "cim")),
        Field("routes", max_length=200, aliases=("routes", "lines", "rute", "linii", "jaratok")),
        _EXTERNAL_REF,
    ),
    exports={"default": (*_PROVENANCE_EXPORT, "kind", "name", "address", "routes", "external_ref")},
)

WORKSHOPS = Layer(
    name="workshops",
    table="workshops",
    geometry_types=(),
    fields=(),
    exports={
        "default": (
            "id",
            "community",
            "held_on",
            "language",
            "facilitator_role",
            "participants",
            "title",
            "status",
            "source",
            "created_at",
        ),
    },
    importable=False,
)

#: Every layer by name.
LAYERS: dict[str, Layer] = {
    layer.name: layer for layer in (RISK_ZONES, INCIDENTS, FACILITIES, WORKSHOPS)
}

#: Code groups fixed by the database schema rather than by the taxonomy.
_SCHEMA_CODES: dict[str, tuple[str, ...]] = {
    "roles": ROLES,
    "precisions": ("exact", "street", "area"),
    "sensitivities": ("normal", "sensitive", "restricted"),
    "incident_statuses": ("reported", "verified", "closed", "withdrawn"),
}


def get_layer(name: str, *, importable: bool = False) -> Layer:
    """Return the layer called ``name``.

    Parameters
    ----------
    name : str
        Layer name, e.g. ``"risk_zones"``.
    importable : bool
        Refuse layers that cannot be imported.

    Raises
    ------
    KeyError
        If there is no such layer (or it cannot be imported and ``importable`` is set).
    """
    layer = LAYERS.get(name)
    if layer is None or (importable and not layer.importable):
        raise KeyError(name)
    return layer


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
