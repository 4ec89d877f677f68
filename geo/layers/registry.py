"""The registry: every layer Harta imports and exports, with its fields and their aliases.

Each layer names its table, the geometry types it accepts, its fields (type, whether required,
default, the taxonomy group its codes come from, the column headers that mean it in Romanian,
Hungarian and English) and which fields each export purpose may write.  Adding a field is a
one-line change here.  The header words that mean a person (never accepted in incident files)
and the columns only Harta writes on export are defined here too.
"""

from __future__ import annotations

from geo.layers.model import LINE_TYPES, POINT_TYPES, POLYGON_TYPES, Field, Layer

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

#: What every incident export writes; the case file adds the narrative.
_INCIDENT_EXPORT = (
    *_PROVENANCE_EXPORT,
    "occurred_at",
    "type_code",
    "severity",
    "location_precision",
    "sensitivity",
    "reporting_role",
    "status",
    "external_ref",
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
        "default": _INCIDENT_EXPORT,
        # The narrative leaves the database only in a case file, only for these roles.
        "case_file": (*_INCIDENT_EXPORT, "narrative"),
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
