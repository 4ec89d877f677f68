"""The Leaflet.draw toolbar (vendored), sized for fingers, with every text in the reader's language.

Participants draw with a finger on a tablet: the draw and edit buttons, their actions ("Finish",
"Remove last point", "Cancel") and the zoom buttons are at least :data:`TOUCH_PX` pixels
(:class:`TouchControls`), and every string Leaflet.draw shows -- buttons, tooltips, "No layers
to edit" -- comes from the catalogues (:class:`DrawStrings`).
"""

from __future__ import annotations

import folium
import folium.plugins
from branca.element import Element, MacroElement
from folium.template import Template

from geo import taxonomy
from geo.i18n import t
from geo.maps.base import FoldSidebar, fold_sidebar  # noqa: F401 -- FoldSidebar lived here

#: The workshop folds the sidebar up to a landscape tablet's width: participants draw with a
#: finger and need the whole screen even at 1280 px (viewing pages stop at a portrait tablet).
DRAW_FOLD_SIDEBAR_PX = 1280

#: Smallest side of a control a finger must hit (pixels; 48 is the usual touch target).
TOUCH_PX = 48


class DrawStrings(MacroElement):
    """Translate every string of ``L.drawLocal`` (runs before the Draw control is built)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (d, s) {
            if (!d) { return; }
            function merge(into, from) {
                Object.keys(from).forEach(function (k) {
                    if (from[k] && typeof from[k] === "object" && into[k]) {
                        merge(into[k], from[k]);
                    } else {
                        into[k] = from[k];
                    }
                });
            }
            merge(d, s);
        })(window.L && L.drawLocal, {{ this.strings|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, lang: str):
        super().__init__()
        self._name = "DrawLocal"
        self.strings = draw_strings(lang)


def draw_strings(lang: str) -> dict:
    """``L.drawLocal`` in ``lang``: the same nesting as Leaflet.draw's own (English) table.

    Parameters
    ----------
    lang : str

    Returns
    -------
    dict
        Every leaf a translated string.
    """

    def m(key: str) -> str:
        return t(f"maps.draw.{key}", lang)

    def w(key: str) -> str:
        return t(f"workshop.leaflet.{key}", lang)

    def action(text: str) -> dict:
        return {"title": text, "text": text}

    return {
        "draw": {
            "toolbar": {
                "actions": action(m("cancel")),
                "finish": action(m("finish")),
                "undo": action(m("undo")),
                "buttons": {
                    "polyline": m("polyline"),
                    "polygon": m("polygon"),
                    "rectangle": m("rectangle"),
                    "circle": m("circle"),
                    "marker": m("marker"),
                    "circlemarker": w("circlemarker"),
                },
            },
            "handlers": {
                "circle": {"tooltip": {"start": w("circle_start")}, "radius": w("circle_radius")},
                "circlemarker": {"tooltip": {"start": w("circlemarker_start")}},
                "marker": {"tooltip": {"start": m("marker_start")}},
                "polygon": {
                    "tooltip": {
                        "start": m("polygon_start"),
                        "cont": m("polygon_cont"),
                        "end": m("polygon_end"),
                    }
                },
                "polyline": {
                    "error": w("polyline_error"),
                    "tooltip": {
                        "start": w("polyline_start"),
                        "cont": w("polyline_cont"),
                        "end": w("polyline_end"),
                    },
                },
                "rectangle": {"tooltip": {"start": w("rectangle_start")}},
                "simpleshape": {"tooltip": {"end": w("simpleshape_end")}},
            },
        },
        "edit": {
            "toolbar": {
                "actions": {
                    "save": action(m("save")),
                    "cancel": action(m("cancel")),
                    "clearAll": action(w("clear_all")),
                },
                "buttons": {
                    "edit": m("edit"),
                    "editDisabled": w("edit_disabled"),
                    "remove": m("remove"),
                    "removeDisabled": w("remove_disabled"),
                },
            },
            "handlers": {
                "edit": {"tooltip": {"text": w("edit_text"), "subtext": w("edit_subtext")}},
                "remove": {"tooltip": {"text": w("remove_text")}},
            },
        },
    }


#: Column of each button's icon in Leaflet.draw's 300x30 sprite (30 px per icon).
_SPRITE = {
    "draw-polyline": 0,
    "draw-polygon": 1,
    "draw-rectangle": 2,
    "draw-circle": 3,
    "draw-marker": 4,
    "edit-edit": 5,
    "edit-remove": 6,
    "edit-edit.leaflet-disabled": 7,
    "edit-remove.leaflet-disabled": 8,
    "draw-circlemarker": 9,
}


def touch_css(px: int = TOUCH_PX) -> str:
    """CSS making the draw, edit, action and zoom controls at least ``px`` pixels.

    The sprite is scaled with the buttons (``background-size``), each icon's offset with it;
    real sizes rather than CSS ``zoom``, so Leaflet.draw still places its action bar ("Finish",
    "Remove last point", "Cancel") beside the button that opened it.

    Parameters
    ----------
    px : int

    Returns
    -------
    str
        A ``<style>`` element.
    """
    rules = [
        f".leaflet-draw-toolbar a,.leaflet-touch .leaflet-draw-toolbar a{{width:{px}px!important;"
        f"height:{px}px!important;line-height:{px}px!important;"
        f"background-size:{10 * px}px {px}px!important}}",
        f".leaflet-draw-actions,.leaflet-touch .leaflet-draw-actions{{left:{px + 2}px}}",
        f".leaflet-draw-actions a,.leaflet-touch .leaflet-draw-actions a{{height:{px}px;"
        f"line-height:{px}px;font-size:16px;padding:0 14px;min-width:{px}px}}",
        f".leaflet-control-zoom a,.leaflet-touch .leaflet-control-zoom a{{width:{px}px;"
        f"height:{px}px;line-height:{px}px;font-size:26px}}",
    ]
    rules += [
        f".leaflet-draw-toolbar a.leaflet-draw-{name}"
        f"{{background-position:-{i * px}px 0!important}}"
        for name, i in _SPRITE.items()
    ]
    return "<style>" + "".join(rules) + "</style>"


class TouchControls(Element):
    """The :func:`touch_css` rules in the map's page."""

    def __init__(self, px: int = TOUCH_PX):
        super().__init__(touch_css(px))


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
    m.get_root().header.add_child(TouchControls(), name="harta_touch_controls")
    fold_sidebar(m, DRAW_FOLD_SIDEBAR_PX)
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
