"""The legend: entries, sections registered by layers, and the Leaflet control that draws them
(with a large-text variant for a projector).  Every label is HTML-escaped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from geo import taxonomy
from geo.i18n import t
from geo.maps.html import demo_badge, esc
from geo.maps.style import icon_html, state


@dataclass(frozen=True)
class LegendEntry:
    """One line of a legend.

    ``icon`` is ``(kind, code)`` of a taxonomy pictogram; ``shape`` is ``box``, ``circle``,
    ``line`` or ``gradient`` (then ``gradient`` holds the colours, low to high, and ``label`` is
    the low end, ``label_high`` the high end).  ``key`` names the symbol kind the entry
    explains (``severity:5``, ``hazard:flooding``, ``facility_kind:police``, ``boundary`` …);
    it is written as ``data-k`` so tests and tools can compare the legend with the map.
    """

    label: str
    colour: str | None = None
    icon: tuple[str, str] | None = None
    shape: str = "box"
    gradient: tuple[str, ...] = ()
    label_high: str = ""
    demo: bool = False
    opacity: float = 1.0
    dash: bool = False
    key: str = ""


@dataclass
class LegendSection:
    """A titled group of legend entries (one per layer)."""

    title: str
    entries: list[LegendEntry] = field(default_factory=list)
    demo: bool = False
    #: Listed after the data layers (the basemap: always there, least news).
    last: bool = False


def register_legend(m: folium.Map, section: LegendSection) -> None:
    """Add a layer's legend section to the map (drawn by ``add_legend(m)``).

    Parameters
    ----------
    m : folium.Map
    section : LegendSection
    """
    state(m).legend.append(section)


def severity_legend_entries(lang: str = "ro") -> list[LegendEntry]:
    """Legend lines of the five severity levels.

    Parameters
    ----------
    lang : str

    Returns
    -------
    list of LegendEntry
    """
    return [
        LegendEntry(
            f"{n} · {taxonomy.label('severity', n, lang)}", colour=taxonomy.severity_colour(n)
        )
        for n in taxonomy.severities()
    ]


def icon_legend_entries(kind: str, codes: Iterable[str], lang: str = "ro") -> list[LegendEntry]:
    """Legend lines with pictograms for some codes of ``kind``.

    Parameters
    ----------
    kind : str
        Taxonomy group (``hazard``, ``incident_type``, ``facility_kind`` …).
    codes : iterable of str
    lang : str

    Returns
    -------
    list of LegendEntry
    """
    return [LegendEntry(taxonomy.label(kind, c, lang), icon=(kind, c)) for c in codes]


def _swatch(m: folium.Map, e: LegendEntry) -> str:
    if e.icon is not None:
        return icon_html(m, *e.icon)
    shape = e.shape if e.shape in ("circle", "line") else ""
    colour = e.colour or "#ffffff"
    if shape == "line":
        css = f"border-top-color:{colour};" + ("border-top-style:dashed;" if e.dash else "")
    else:
        css = f"background:{colour};opacity:{min(max(e.opacity, 0.0), 1.0):.2f};"
        css += "border-style:dashed;" if e.dash else ""
    return f'<span class="harta-sw {shape}" style="{css}"></span>'


def _entry_html(m: folium.Map, e: LegendEntry, lang: str) -> str:
    badge = demo_badge(lang) if e.demo else ""
    key = f' data-k="{esc(e.key)}"' if e.key else ""
    if e.shape == "gradient" and e.icon is None:
        stops = ",".join(e.gradient)
        return (
            f'<div class="harta-li"{key}><span>{esc(e.label)}</span>'
            f'<span class="harta-grad" style="background:linear-gradient(to right,{stops})">'
            f"</span><span>{esc(e.label_high)}</span>{badge}</div>"
        )
    return f'<div class="harta-li"{key}>{_swatch(m, e)}<span>{esc(e.label)}</span>{badge}</div>'


#: Below this map width (pixels: tablets, phones, a narrow column) the legend starts closed.
NARROW_MAP_PX = 800


class Legend(MacroElement):
    """A legend drawn as a Leaflet control (so it stays visible in full-screen mode).

    It is a ``<details>`` element: one tap opens or closes it.  It starts closed on a narrow
    map (:data:`NARROW_MAP_PX`) and closes itself whenever a popup opens, so it never hides one.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.content|tojson }};
                var details = div.querySelector("details");
                if (details && map.getSize().x < {{ this.narrow_px }}) { details.open = false; }
                map.on("popupopen", function () { if (details) { details.open = false; } });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str, large: bool):
        super().__init__()
        self._name = "Legend"
        self.content = content
        self.position = position
        self.narrow_px = NARROW_MAP_PX
        self.css_class = "harta-legend large" if large else "harta-legend"

    def keys(self) -> set[str]:
        """The symbol kinds this legend explains (the ``key`` of each entry that has one).

        Returns
        -------
        set of str
        """
        return set(re.findall(r'data-k="([^"]*)"', self.content))


def _sections(entries: Sequence[LegendEntry | LegendSection | dict[str, Any]]) -> list:
    sections, loose = [], []
    for item in entries:
        if isinstance(item, LegendSection):
            sections.append(item)
        elif isinstance(item, LegendEntry):
            loose.append(item)
        else:
            item = dict(item)
            if "icon" in item and item["icon"] is not None:
                item["icon"] = tuple(item["icon"])
            loose.append(LegendEntry(**item))
    if loose:
        sections.insert(0, LegendSection("", loose))
    return sections


def add_legend(
    m: folium.Map,
    entries: Sequence[LegendEntry | LegendSection | dict[str, Any]] | None = None,
    lang: str = "ro",
    *,
    title: str | None = None,
    large: bool | None = None,
    position: str = "bottomright",
    collapsed: bool = False,
    demo: bool = False,
) -> Legend:
    """Add a legend.

    Parameters
    ----------
    m : folium.Map
    entries : sequence of LegendEntry, LegendSection or dict, optional
        Dicts hold LegendEntry fields.  ``None`` uses the sections the ``add_*`` layer
        functions registered on this map.
    lang : str
    title : str, optional
        Default: "Legend" translated.
    large : bool, optional
        Big text and pictograms for a projector (default: the map's ``projector`` setting).
    position : str
        Leaflet control position.
    collapsed : bool
        Start closed (one tap opens it).
    demo : bool
        Put the translated DEMO badge in the title (also done when any section is demo).

    Returns
    -------
    Legend
        The control added to ``m``; every label in it is HTML-escaped.
    """
    st = state(m)
    sections = list(st.legend) if entries is None else _sections(entries)
    sections = [s for s in sections if not s.last] + [s for s in sections if s.last]
    any_demo = demo or any(s.demo or any(e.demo for e in s.entries) for s in sections)
    head = esc(title or t("maps.legend.title", lang))
    if any_demo:
        head += " " + demo_badge(lang)
    parts = [f"<details{'' if collapsed else ' open'}><summary>{head}</summary>"]
    for section in sections:
        if section.title and len(sections) > 1:
            parts.append(f"<h4>{esc(section.title)}</h4>")
        parts.extend(_entry_html(m, e, lang) for e in section.entries)
    parts.append("</details>")
    legend = Legend(
        "".join(parts), position=position, large=st.projector if large is None else large
    )
    legend.add_to(m)
    return legend
