"""The HTML of map labels, and a map's standalone page with its Content-Security-Policy.

Every piece of text that comes from people or data (notes, names) goes through :func:`esc`
(:func:`geo.escape.html`) before it reaches a popup, tooltip, legend or layer name: Leaflet
inserts all of them as HTML, and its layer control inserts layer names as HTML too (a
community's name is a layer name).  :func:`render` adds the policy that is the second defence:
only the page's own inline scripts (by hash) run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium

from geo import csp, escape, taxonomy
from geo.i18n import t


def esc(value: Any) -> str:
    """HTML-escape anything for a popup, tooltip, legend or layer name.

    Parameters
    ----------
    value : Any
        Text (or anything with a ``str``); ``None`` gives ``""``.

    Returns
    -------
    str
    """
    return escape.html(value)


def demo_badge(lang: str) -> str:
    """The translated DEMO badge shown beside every demo row.

    Parameters
    ----------
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        Escaped HTML ``<span>``.
    """
    return (
        f'<span class="harta-demo" title="{esc(t("maps.demo.explain", lang))}">'
        f"{esc(t('maps.demo', lang))}</span>"
    )


def severity_chip(n: int, lang: str) -> str:
    """Severity ``n`` (1-5) as a chip in its colour, with its translated name.

    Parameters
    ----------
    n : int
        Severity from 1 to 5.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        An HTML ``<span>`` with the label escaped.
    """
    return (
        f'<span class="harta-sev" style="background:{taxonomy.severity_colour(n)};'
        f'color:{taxonomy.severity_text_colour(n)}">{n} · '
        f"{esc(taxonomy.label('severity', n, lang))}</span>"
    )


def row(key: str, value_html: str, lang: str) -> str:
    """One ``label: value`` line of a popup; ``value_html`` must already be escaped.

    Parameters
    ----------
    key : str
        i18n key of the label.
    value_html : str
        The value, already HTML-escaped.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        An HTML ``<div>``.
    """
    return (
        f'<div class="harta-row"><span class="harta-k">{esc(t(key, lang))}:</span> '
        f"{value_html}</div>"
    )


def tip(parts: Sequence[str]) -> str:
    """A tooltip from already-escaped parts.

    Parameters
    ----------
    parts : sequence of str
        HTML fragments, already escaped.

    Returns
    -------
    str
        An HTML ``<div>``.
    """
    return '<div class="harta-tip">' + "".join(parts) + "</div>"


def render(m: folium.Map, *, online: bool = False) -> str:
    """The whole standalone HTML page of a map (for tests, exports and offline files).

    Parameters
    ----------
    m : folium.Map
        The map.
    online : bool
        Whether the page may load OSM tiles (``HARTA_ONLINE``).

    Returns
    -------
    str
        The page, with a Content-Security-Policy ``<meta>`` that allows only its own inline
        scripts (by hash) and the vendored assets: injected event handlers never run.
    """
    return csp.with_meta_policy(m.get_root().render(), online=online)
