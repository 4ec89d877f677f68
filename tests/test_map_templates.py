"""``geo.maps.templates``: plain texts skip Jinja and render exactly as Jinja renders them."""

from __future__ import annotations

import random

import branca.element
import folium
import geopandas as gpd
import jinja2
import pytest
from shapely.geometry import Point, Polygon

from geo.maps.aggregates import add_hex_counts
from geo.maps.points import add_incident_points
from geo.maps.templates import PlainText, _template, plain_text_templates

TRICKY = [
    "",
    "\n",
    "\n\n",
    "a\r\nb\rc\n",
    'var x = {"a": [1, 2]};\r\n\r\n',
    "{ {  } }  % # {\n} %} #}",
    "<script>if (a < b && c > d) { e(); }</script>\n\t  \n",
    "ends with a brace {",
    "ș ț ő ű — 💥 \u2028 \u0085 \x0c \v",
    "{{ 1 + 1 }} {# a comment #}\r\n",  # delimiters: compiled by Jinja
]


@pytest.mark.parametrize("text", TRICKY)
def test_a_text_renders_as_jinja_renders_it(text: str) -> None:
    assert _template(text).render(this=None, kwargs={}) == jinja2.Template(text).render()


def test_random_texts_render_as_jinja_renders_them() -> None:
    rng = random.Random(20261202)
    alphabet = ["a", " ", "\n", "\r", "\r\n", "{", "}", "%", "#", "-", "ș", "\t", "\\", "'"]
    for _ in range(3_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        try:
            expected = jinja2.Template(text).render()
        except jinja2.TemplateSyntaxError:
            # Not plain text: compiled by Jinja, which refuses it the same way.
            with pytest.raises(jinja2.TemplateSyntaxError):
                _template(text)
            continue
        assert _template(text).render() == expected, repr(text)


def test_only_texts_without_delimiters_skip_jinja() -> None:
    assert isinstance(_template("plain {text} 100% #1"), PlainText)
    for text in ("{{ x }}", "{% if 1 %}y{% endif %}", "{# c #}z"):
        assert isinstance(_template(text), jinja2.Template)
    plain_text_templates()
    element = branca.element.Element("{{ this.get_name() }}")
    assert element.render() == element.get_name()


def _fixed_map() -> folium.Map:
    """A map with pictograms, hexagons and a popup; element ids from a counter."""
    counter = iter(range(10**6))
    original = branca.element.Element._generate_id
    branca.element.Element._generate_id = classmethod(lambda cls: f"{next(counter):032x}")
    try:
        m = folium.Map(location=(46.79, 23.66), zoom_start=15, tiles=None)
        points = gpd.GeoDataFrame(
            {"type_code": ["theft", "fire", "assault"] * 20, "severity": [1, 3, 5] * 20},
            geometry=[Point(23.66 + k * 1e-4, 46.79 - k * 1e-4) for k in range(60)],
            crs=4326,
        )
        add_incident_points(m, points, "hu", include_sensitive=True)
        cells = [
            Polygon([(23.65 + k * 1e-3, 46.78), (23.651 + k * 1e-3, 46.781), (23.652, 46.78)])
            for k in range(30)
        ]
        add_hex_counts(m, gpd.GeoDataFrame({"count": range(30)}, geometry=cells, crs=4326), "ro")
        folium.Marker((46.79, 23.66), popup="<b>Cantonului</b>\r\n{ }").add_to(m)
        m.get_root().render()
        m.render()
        return m
    finally:
        branca.element.Element._generate_id = original


def test_a_whole_map_renders_to_the_same_html(monkeypatch) -> None:
    monkeypatch.setattr(branca.element, "Template", jinja2.Template)
    with_jinja = _fixed_map().get_root().render()
    plain_text_templates()
    without = _fixed_map().get_root().render()
    assert len(with_jinja) > 50_000
    assert without == with_jinja
