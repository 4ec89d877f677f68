"""styles/taxonomy.json and geo.taxonomy: every code labelled, coloured and drawn."""

from __future__ import annotations

import base64
import copy
import json
import re
import xml.etree.ElementTree as ET

import pytest

from geo import taxonomy

EXPECTED = {
    "hazard": {
        "landfill_fire_smoke",
        "toxic_waste_water",
        "railway_crossing",
        "heavy_traffic",
        "unlit_path",
        "flooding",
        "unsafe_building_wiring",
        "stray_dogs",
        "violence_conflict",
        "drugs",
        "other",
    },
    "incident_type": {
        "fire",
        "traffic_collision",
        "rail_accident",
        "assault",
        "domestic_violence",
        "sexual_violence",
        "child_protection",
        "theft",
        "threat_harassment",
        "conflict_dispute",
        "medical_emergency",
        "flooding",
        "other",
    },
    "facility_kind": {
        "police",
        "fire",
        "ambulance",
        "hospital",
        "clinic",
        "school",
        "kindergarten",
        "social_services",
        "community_focal_point",
        "bus_stop",
    },
    "time_of_day": {"day", "night", "always"},
    "season": {"all_year", "spring", "summer", "autumn", "winter"},
    "severity": {"1", "2", "3", "4", "5"},
}
SENSITIVE = {"domestic_violence", "sexual_violence", "child_protection"}
ALL_CODES = [(kind, code) for kind, codes in EXPECTED.items() for code in sorted(codes)]
ICON_CODES = [(k, c) for k, c in ALL_CODES if k in taxonomy.ICON_KINDS]


def _luminance(hex_colour: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_required_code_is_present(kind: str) -> None:
    assert set(taxonomy.codes(kind)) == EXPECTED[kind]


def test_plural_section_names_are_accepted() -> None:
    assert taxonomy.codes("hazards") == taxonomy.hazards()
    assert taxonomy.codes("incident_types") == taxonomy.incident_types()
    assert taxonomy.codes("facility_kinds") == taxonomy.facility_kinds()
    assert taxonomy.severities() == [1, 2, 3, 4, 5]
    assert taxonomy.times_of_day() == ["day", "night", "always"]
    assert taxonomy.seasons()[0] == "all_year"


@pytest.mark.parametrize(("kind", "code"), ALL_CODES)
def test_every_code_has_three_distinct_language_labels(kind: str, code: str) -> None:
    labels = {lang: taxonomy.label(kind, code, lang) for lang in ("ro", "hu", "en")}
    for lang, text in labels.items():
        assert text.strip(), f"{kind}.{code} has no {lang} label"
        assert text != code, f"{kind}.{code} {lang} label is just the code"
    # Romanian or Hungarian copied from English is a missing translation (numbers aside).
    if kind not in ("severity",):
        assert labels["ro"] != labels["en"]
        assert labels["hu"] != labels["en"]


def test_romanian_and_hungarian_use_their_diacritics() -> None:
    raw = json.loads(taxonomy.TAXONOMY_PATH.read_text(encoding="utf-8"))
    ro = " ".join(
        e["labels"]["ro"]
        for section in raw.values()
        if isinstance(section, dict)
        for e in section.values()
        if isinstance(e, dict) and "labels" in e
    )
    hu = " ".join(
        e["labels"]["hu"]
        for section in raw.values()
        if isinstance(section, dict)
        for e in section.values()
        if isinstance(e, dict) and "labels" in e
    )
    for letter in "șțăâî":
        assert letter in ro, f"no {letter!r} in Romanian labels"
    # Comma-below (ș ț), not the old cedilla forms (ş ţ).
    assert "ş" not in ro and "ţ" not in ro
    for letter in "áéíóöőúüű":
        assert letter in hu, f"no {letter!r} in Hungarian labels"
    assert taxonomy.label("facility_kind", "school", "ro") == "Școală"
    assert taxonomy.label("hazard", "stray_dogs", "hu") == "Kóbor kutyák"


@pytest.mark.parametrize(("kind", "code"), ICON_CODES)
def test_every_icon_exists_is_small_svg_in_its_colour(kind: str, code: str) -> None:
    path = taxonomy.icon_path(kind, code)
    assert path.is_file(), path
    assert path.suffix == ".svg"
    assert path.stat().st_size < 2500, f"{path.name} is not small"
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 48 48"
    colour = taxonomy.colour(kind, code)
    assert colour.lower() in path.read_text(encoding="utf-8").lower()
    # A white pictogram must stay readable on its disc (WCAG large-graphics contrast 3:1).
    assert _contrast(colour, "#ffffff") >= 3.0, f"{kind}.{code}: {colour} too light for white"


def test_icon_files_are_not_shared_by_accident() -> None:
    paths = [taxonomy.icon_path(k, c) for k, c in ICON_CODES]
    assert len(set(paths)) == len(paths)


@pytest.mark.parametrize(("kind", "code"), ICON_CODES[:3] + ICON_CODES[-3:])
def test_icon_data_uri_decodes_to_the_file(kind: str, code: str) -> None:
    uri = taxonomy.icon_data_uri(kind, code)
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]) == taxonomy.icon_path(kind, code).read_bytes()


def test_sensitive_flags() -> None:
    assert set(taxonomy.sensitive_incident_types()) == SENSITIVE
    for code in EXPECTED["incident_type"]:
        assert taxonomy.is_sensitive(code) is (code in SENSITIVE), code
    raw = json.loads(taxonomy.TAXONOMY_PATH.read_text(encoding="utf-8"))
    for code in SENSITIVE:
        assert raw["incident_types"][code]["sensitive"] is True


def test_severity_ramp_runs_light_to_dark() -> None:
    colours = [taxonomy.severity_colour(n) for n in range(1, 6)]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)
    lum = [_luminance(c) for c in colours]
    assert lum == sorted(lum, reverse=True), "severity colours must darken with severity"
    assert len(set(colours)) == 5
    for n in range(1, 6):
        text = taxonomy.severity_text_colour(n)
        assert _contrast(taxonomy.severity_colour(n), text) >= 4.5, n
    assert taxonomy.severity_colour("3") == taxonomy.severity_colour(3)
    assert taxonomy.label("severity", 5, "en") == "extreme"
    assert taxonomy.label("severity", 1, "ro") == "scăzut"


def test_unknown_codes_raise_clear_errors() -> None:
    with pytest.raises(taxonomy.UnknownCodeError, match="unknown hazard code 'volcano'"):
        taxonomy.label("hazard", "volcano", "en")
    with pytest.raises(taxonomy.UnknownCodeError, match="unknown incident_type code"):
        taxonomy.is_sensitive("kidnapping_by_aliens")
    with pytest.raises(taxonomy.UnknownCodeError, match="unknown severity code 6"):
        taxonomy.severity_colour(6)
    with pytest.raises(taxonomy.UnknownCodeError, match="unknown taxonomy kind"):
        taxonomy.codes("weather")
    with pytest.raises(taxonomy.UnknownCodeError, match="no icon"):
        taxonomy.icon_path("season", "winter")
    assert issubclass(taxonomy.UnknownCodeError, KeyError)


def test_unknown_language_falls_back_to_english() -> None:
    assert taxonomy.label("hazard", "flooding", "de") == "Flooding"
    assert taxonomy.labels("season", "hu")["winter"] == "Télen"


def test_validation_rejects_a_broken_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    raw = json.loads(taxonomy.TAXONOMY_PATH.read_text(encoding="utf-8"))
    del raw["hazards"]["drugs"]["labels"]["hu"]
    raw["incident_types"]["sexual_violence"]["sensitive"] = False
    raw["facility_kinds"]["police"]["icon"] = "icons/facility/nope.svg"
    broken = tmp_path / "taxonomy.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.setattr(taxonomy, "TAXONOMY_PATH", broken)
    taxonomy.load.cache_clear()
    try:
        with pytest.raises(taxonomy.TaxonomyError) as err:
            taxonomy.load()
        message = str(err.value)
        assert "hazards.drugs: no hu label" in message
        assert "incident_types.sexual_violence" in message
        assert "nope.svg" in message
    finally:
        monkeypatch.undo()
        taxonomy.load.cache_clear()
    assert "drugs" in taxonomy.hazards()


def test_taxonomy_module_does_not_import_streamlit() -> None:
    import subprocess
    import sys

    code = "import sys, geo.taxonomy, geo.maps; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_layer_styles_cover_every_gi_bin_class_and_ramps() -> None:
    styles = taxonomy.layer_styles()
    assert sorted(int(k) for k in styles["hotspots"]["classes"]) == list(range(-3, 4))
    cold, hot = styles["hotspots"]["classes"]["-3"]["colour"], styles["hotspots"]["classes"]["3"]
    assert int(cold[5:7], 16) > int(cold[1:3], 16), "-3 must be blue"
    assert int(hot["colour"][1:3], 16) > int(hot["colour"][5:7], 16), "3 must be red"
    assert len(styles["hex_counts"]["colours"]) == len(styles["hex_counts"]["breaks"]) + 1
    for key in ("motorway", "primary", "residential", "footway", "track"):
        assert key in styles["streets"]["by_highway"]
    assert styles["basemap"]["attribution"] == "© OpenStreetMap contributors, ODbL"


# --- matching what people write (issue 10) ----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "written", "code"),
    [
        ("incident_type", "violență domestică", "domestic_violence"),
        ("incident_type", "VIOLENŢĂ DOMESTICĂ", "domestic_violence"),  # cedilla Ţ, capitals
        ("incident_type", "Violență  în familie", "domestic_violence"),  # label, two spaces
        ("incident_type", "conflict", "conflict_dispute"),
        ("incident_type", "Családon belüli erőszak", "domestic_violence"),
        ("hazard", "drum neluminat", "unlit_path"),
        ("hazard", "landfill_fire", "landfill_fire_smoke"),
        ("hazard", "Câini fără stăpân", "stray_dogs"),
        ("facility_kind", "Spital", "hospital"),
    ],
)
def test_values_match_by_code_label_or_synonym(kind, written, code):
    assert taxonomy.match(kind, written) == code


def test_unknown_value_gets_suggestions_not_a_guess():
    assert taxonomy.match("incident_type", "violenta domestic") is None
    assert taxonomy.suggest("incident_type", "violenta domestic")[0] == "domestic_violence"
    assert taxonomy.suggest("incident_type", "xyzzy") == []


def test_cedilla_and_comma_forms_fold_alike():
    assert taxonomy.fold("ş ţ Ş Ţ") == taxonomy.fold("ș ț Ș Ț") == "s_t_s_t"


def test_a_synonym_naming_two_codes_is_refused():
    data = copy.deepcopy(taxonomy.load())
    data["hazards"]["drugs"]["synonyms"] = ["Inundații"]  # the label of flooding
    with pytest.raises(taxonomy.TaxonomyError, match="names both"):
        taxonomy._validate(data)
