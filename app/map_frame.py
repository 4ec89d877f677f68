"""``st_folium`` with a strict Content-Security-Policy in the map's frame.

streamlit-folium shows a map in a component frame: it appends the map's header to ``<head>``
and runs the map's script as one inline ``<script>`` whose text is the script
``streamlit_folium`` generated plus a fixed tail.  :func:`st_folium` here builds that exact
text first, hashes it, and puts a ``<meta http-equiv="Content-Security-Policy">`` naming only
that hash (and the vendored assets) into the header, before handing the map to the real
``st_folium``.  From then on the frame runs no other inline script and no event-handler
attribute -- whatever HTML a layer name, tooltip or popup may carry.

If the hash ever disagrees with what the frame runs (a streamlit-folium upgrade), the map stays
empty instead of running unchecked code; ``tests/test_escape.py`` checks the two agree.

Pages import ``st_folium`` from here, never from ``streamlit_folium``.
"""

from __future__ import annotations

import copy
from typing import Any

import branca.element
import folium
import streamlit_folium
from streamlit_folium import st_folium as _st_folium

from geo import csp
from geo.settings import get_settings

#: Name of the policy element in the map's header (replaced when the map is shown again).
_META_NAME = "harta_csp"


def frame_script(m: folium.Map, *, return_on_hover: bool = False) -> str:
    """The exact text of the inline script the st_folium frame runs for ``m``.

    Parameters
    ----------
    m : folium.Map
        The map, fully built.
    return_on_hover : bool
        As passed to ``st_folium`` (it is part of the script's tail).

    Returns
    -------
    str
        ``streamlit_folium``'s generated Leaflet script with the frontend's fixed tail.
    """
    # Rendering has side effects (it renames elements and adds statements), so the script is
    # generated on a copy, with the same steps in the same order as st_folium(render=True):
    # the map itself then gives exactly this text when st_folium renders it.
    probe = copy.deepcopy(m)
    probe.get_root().render()
    probe.render()
    script = streamlit_folium._get_map_string(probe)
    tail = f"window.map = map_div; window.initComponent(map_div, {str(return_on_hover).lower()});"
    return script + tail


def add_frame_policy(m: folium.Map, *, return_on_hover: bool = False) -> str:
    """Put the frame's policy (the hash of its one script) into ``m``'s header.

    Returns
    -------
    str
        The policy written.
    """
    policy = csp.frame_policy(
        [csp.script_hash(frame_script(m, return_on_hover=return_on_hover))],
        online=get_settings().online,
    )
    m.get_root().header.add_child(branca.element.Element(csp.meta_tag(policy)), name=_META_NAME)
    return policy


def st_folium(m: folium.Map, **kwargs: Any) -> Any:
    """``streamlit_folium.st_folium(m, **kwargs)`` with the frame's policy added first.

    Parameters
    ----------
    m : folium.Map
        The map to show.
    **kwargs
        Passed on to ``streamlit_folium.st_folium`` (``key``, ``height``,
        ``returned_objects`` …).  ``feature_group_to_add`` and ``layer_control`` are refused:
        streamlit-folium ``eval``s them, which the policy forbids.

    Returns
    -------
    Any
        What ``streamlit_folium.st_folium`` returns.
    """
    if kwargs.get("feature_group_to_add") is not None or kwargs.get("layer_control") is not None:
        raise ValueError("feature_group_to_add/layer_control need eval, which the CSP forbids")
    add_frame_policy(m, return_on_hover=bool(kwargs.get("return_on_hover", False)))
    return _st_folium(m, **kwargs)
