"""The Leaflet.draw toolbar (vendored) with its texts in the reader's language."""

from __future__ import annotations

import folium
import folium.plugins
from branca.element import MacroElement
from folium.template import Template

from geo import taxonomy
from geo.i18n import t


class DrawStrings(MacroElement):
    """Translate Leaflet.draw's main strings (runs before the Draw control is built)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (d) {
            if (!d) { return; }
            var s = {{ this.strings|tojson }};
            var b = d.draw.toolbar.buttons, a = d.draw.toolbar.actions;
            b.polygon = s.polygon; b.polyline = s.polyline; b.rectangle = s.rectangle;
            b.circle = s.circle; b.marker = s.marker;
            a.title = s.cancel; a.text = s.cancel;
            d.draw.toolbar.finish.title = s.finish; d.draw.toolbar.finish.text = s.finish;
            d.draw.toolbar.undo.title = s.undo; d.draw.toolbar.undo.text = s.undo;
            var p = d.draw.handlers.polygon.tooltip;
            p.start = s.polygon_start; p.cont = s.polygon_cont; p.end = s.polygon_end;
            d.draw.handlers.marker.tooltip.start = s.marker_start;
            d.edit.toolbar.buttons.edit = s.edit; d.edit.toolbar.buttons.remove = s.remove;
            d.edit.toolbar.actions.save.title = s.save; d.edit.toolbar.actions.save.text = s.save;
            d.edit.toolbar.actions.cancel.title = s.cancel;
            d.edit.toolbar.actions.cancel.text = s.cancel;
        })(window.L && L.drawLocal);
        {% endmacro %}
        """
    )

    #: i18n keys ``maps.draw.<key>``.
    KEYS = (
        "polygon",
        "polyline",
        "rectangle",
        "circle",
        "marker",
        "finish",
        "cancel",
        "undo",
        "polygon_start",
        "polygon_cont",
        "polygon_end",
        "marker_start",
        "edit",
        "remove",
        "save",
    )

    def __init__(self, lang: str):
        super().__init__()
        self._name = "DrawLocal"
        self.strings = {k: t(f"maps.draw.{k}", lang) for k in self.KEYS}


def add_draw(
    m: folium.Map,
    lang: str = "ro",
    *,
    polygon: bool = True,
    marker: bool = True,
    polyline: bool = False,
    rectangle: bool = False,
    circle: bool = False,
    edit: bool = True,
) -> folium.plugins.Draw:
    """Add the Leaflet.draw toolbar with its main texts in ``lang``.

    Parameters
    ----------
    m : folium.Map
    lang : str
    polygon, marker, polyline, rectangle, circle : bool
        Which shapes may be drawn.
    edit : bool
        Offer editing and removing drawn shapes.

    Returns
    -------
    folium.plugins.Draw
    """
    DrawStrings(lang).add_to(m)
    colour = taxonomy.severity_colour(4)
    shape = {"color": "#000", "weight": 3, "fillColor": colour, "fillOpacity": 0.45}
    draw = folium.plugins.Draw(
        export=False,
        position="topleft",
        draw_options={
            "polygon": {"shapeOptions": shape, "showArea": False} if polygon else False,
            "marker": marker,
            "polyline": {"shapeOptions": {"color": "#000", "weight": 5}} if polyline else False,
            "rectangle": {"shapeOptions": shape} if rectangle else False,
            "circle": {"shapeOptions": shape} if circle else False,
            "circlemarker": False,
        },
        edit_options={"edit": edit, "remove": edit},
    )
    draw.add_to(m)
    return draw
