"""Per-map state: one ``<style>`` per map (shared classes, one rule per pictogram in use), the
map's language, and the list the layers register their legend sections in."""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from geo import taxonomy
from geo.maps.data import styles
from geo.maps.html import esc

_BASE_CSS = """
.harta-ico{display:inline-block;width:24px;height:24px;vertical-align:middle;
background-size:contain;background-repeat:no-repeat;background-position:center;flex:none}
.harta-ico-lg{width:40px;height:40px}
.harta-marker{background:none;border:none}
.harta-marker .harta-ico{width:100%;height:100%}
.harta-tip,.harta-pop{font:15px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#111}
.harta-tip{display:flex;align-items:center;gap:6px;font-weight:600}
.harta-pop{min-width:190px;max-width:300px}
.harta-pop .harta-head{display:flex;align-items:center;gap:8px;font-weight:700;font-size:17px}
.harta-pop .harta-row{margin-top:4px}
.harta-pop .harta-k{color:#444}
.harta-pop .harta-note{margin-top:6px;white-space:pre-wrap;overflow-wrap:anywhere}
.harta-sev{display:inline-block;padding:1px 7px;border:1px solid #000;border-radius:4px;
font-weight:700}
.harta-demo{display:inline-block;background:#ffeb3b;color:#000;border:2px solid #000;
border-radius:4px;padding:0 5px;font-weight:800;font-size:12px;letter-spacing:.05em}
.harta-legend{background:rgba(255,255,255,.95);color:#111;border:2px solid #333;border-radius:6px;
padding:6px 10px;max-height:45vh;max-width:min(320px,45vw);overflow:auto;
font:15px/1.3 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.harta-legend summary{font-weight:800;cursor:pointer}
.harta-legend h4{font-size:1em;font-weight:700;margin:8px 0 3px}
.harta-legend .harta-li{display:flex;align-items:center;gap:8px;margin:3px 0}
.harta-legend .harta-sw{width:22px;height:16px;border:1px solid #000;flex:none}
.harta-legend .harta-sw.circle{border-radius:50%;width:16px}
.harta-legend .harta-sw.line{height:0;border:none;border-top:4px solid #000}
.harta-legend .harta-grad{width:120px;height:14px;border:1px solid #000;flex:none}
.harta-legend.large{font-size:24px;padding:10px 14px;border-width:3px;max-width:min(640px,70vw)}
.harta-legend.large .harta-ico{width:44px;height:44px}
.harta-legend.large .harta-sw{width:36px;height:26px}
.harta-legend.large .harta-sw.circle{width:26px}
.harta-legend.large .harta-grad{width:200px;height:24px}
.harta-zone-ico{width:100%;height:100%;box-sizing:border-box;border:3px solid #000;
border-radius:50%;background:#fff;padding:2px;box-shadow:0 0 0 1px #000}
.harta-zone-ico .harta-ico{width:100%;height:100%}
.marker-cluster-small,.marker-cluster-medium,.marker-cluster-large{background-color:rgba(38,50,56,.3)}
.marker-cluster-small div,.marker-cluster-medium div,.marker-cluster-large div{
background-color:rgba(38,50,56,.88);color:#fff;font-weight:800}
.harta-projector .harta-tip,.harta-projector .harta-pop{font-size:22px}
.harta-projector .harta-pop .harta-head{font-size:26px}
"""


class MapState(MacroElement):
    """One ``<style>`` per map: shared classes plus one rule per pictogram in use.

    It also holds the map's language and the legend sections registered by the layers.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        #{{ this._parent.get_name() }} { background: {{ this.background }}; }
        {{ this.base_css }}
        {%- for cls, uri in this.icon_rules() %}
        .{{ cls }}{background-image:url({{ uri }})}
        {%- endfor %}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {%- if this.icon_image_path %}
        L.Icon.Default.imagePath = {{ this.icon_image_path|tojson }};
        {%- endif %}
        {%- if this.projector %}
        {{ this._parent.get_name() }}.getContainer().classList.add("harta-projector");
        {%- endif %}
        {%- if this.attribution %}
        {{ this._parent.get_name() }}.attributionControl
            .addAttribution({{ this.attribution|tojson }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, background: str, attribution: str | None, projector: bool):
        super().__init__()
        self._name = "HartaStyle"
        self.background = background
        self.attribution = attribution
        self.projector = projector
        self.base_css = _BASE_CSS
        self.icons: dict[tuple[str, str], None] = {}
        # LegendSection objects the layers registered (geo.maps.legend.register_legend).
        self.legend: list[Any] = []
        self.lang = "ro"
        # Whether a layer's points are clustered (the legend explains the cluster symbol once).
        self.clustered = False
        # Leaflet guesses the default marker image folder from CSS that streamlit-folium may
        # not have applied yet, and then asks for ".../leafletmarker-icon.png": say it.
        self.icon_image_path: str | None = None

    def icon_rules(self) -> list[tuple[str, str]]:
        """``(css class, data URI)`` of every pictogram the map uses.

        Returns
        -------
        list of tuple of str
            One pair per pictogram registered with :func:`icon_html`.
        """
        return [(icon_class(k, c), taxonomy.icon_data_uri(k, c)) for k, c in self.icons]


def state(m: folium.Map) -> MapState:
    """The map's :class:`MapState` (added on first use to a map not made by ``base_map``).

    Parameters
    ----------
    m : folium.Map
        Any folium map.

    Returns
    -------
    MapState
        The map's state, created if missing.
    """
    for child in m._children.values():
        if isinstance(child, MapState):
            return child
    found = MapState(styles()["basemap"]["background"], None, False)
    m.add_child(found)
    return found


def icon_class(kind: str, code: str) -> str:
    """CSS class of the pictogram of ``code`` in the taxonomy group ``kind``.

    Parameters
    ----------
    kind : str
        Taxonomy group (e.g. ``"incident_type"``).
    code : str
        Code within the group.

    Returns
    -------
    str
        ``"harta-i-<kind>-<code>"``.
    """
    return f"harta-i-{taxonomy._kind(kind)}-{code}"


def icon_html(m: folium.Map, kind: str, code: str, *, large: bool = False) -> str:
    """A ``<span>`` showing the pictogram (registers its CSS rule on the map).

    Parameters
    ----------
    m : folium.Map
        The map the icon appears on (its CSS rule is registered there).
    kind : str
        Taxonomy group.
    code : str
        Code within the group.
    large : bool
        Use the large icon size.

    Returns
    -------
    str
        The HTML ``<span>``, labelled in the map's language.

    Raises
    ------
    geo.taxonomy.UnknownCodeError
        For a code the taxonomy does not know.
    """
    taxonomy.entry(kind, code)  # unknown code -> clear error
    st = state(m)
    st.icons[(taxonomy._kind(kind), code)] = None
    title = esc(taxonomy.label(kind, code, st.lang))
    size = " harta-ico-lg" if large else ""
    return (
        f'<span class="harta-ico{size} {icon_class(kind, code)}" role="img" '
        f'aria-label="{title}"></span>'
    )
