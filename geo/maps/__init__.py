"""Folium maps that work with no internet connection.

Every map Harta shows is built here, one concern per module:

* :mod:`~geo.maps.assets` -- folium and its plugins load Leaflet, jQuery, Bootstrap, fonts and
  Leaflet.draw from the vendored copies (:data:`geo.settings.VENDOR_DIR`), never from CDNs;
* :mod:`~geo.maps.html` -- escaped label pieces, and :func:`render` (the page with its CSP);
* :mod:`~geo.maps.data` -- rows to minimal GeoJSON (only what is shown reaches the page);
* :mod:`~geo.maps.style` -- the per-map ``<style>``, pictogram CSS and collected legend;
* :mod:`~geo.maps.base` -- :func:`base_map` fitted to a :class:`~geo.communities.Community`:
  OSM tiles online, Harta's own basemap tiles offline; always the data's attribution;
* :mod:`~geo.maps.tiles` -- the offline basemap: raster tiles drawn from the bundled data (every
  street of the city by class with its name along it, settlement and neighbourhood names,
  WorldCover land cover, the railway and landfill sketched and labelled approximate), cached
  under the data folder and served by the app (``/harta-tiles/...``);
* :mod:`~geo.maps.draw` -- the Leaflet.draw toolbar in the reader's language;
* :mod:`~geo.maps.features` -- features to a folium layer: plain GeoJSON, or points clustered
  with the vendored Leaflet.markercluster;
* :mod:`~geo.maps.layers` -- boundary, settlements, translucent risk zones with their hazard's
  pictogram, consensus zones;
* :mod:`~geo.maps.points` -- incidents, facilities and bus stops as pictograms (clustered);
* :mod:`~geo.maps.aggregates` -- hexagon counts (small counts suppressed), Gi* classes, density;
* :mod:`~geo.maps.legend` -- the legend: exactly the sections the layers registered (what is
  drawn), collapsible, closed on narrow maps and whenever a popup opens; large-text variant
  for a projector;
* :mod:`~geo.maps.analysis` -- the incident pages' maps (hot spot runs, the location picker).

Safety rules kept here: every text from people or data is HTML-escaped before it reaches a
popup, tooltip, legend or layer name; a feature carries only what is shown, never the row;
sensitive incident types are left out unless the caller's role may see them; demo rows say
"DEMO" (translated).  ``geo.maps`` sits below ``geo.analysis`` in the layers and never imports
Streamlit.
"""

from __future__ import annotations

from geo.maps.aggregates import add_density_overlay, add_hex_counts, add_hotspots, density_to_rgba
from geo.maps.analysis import (
    COMPARE_COLOURS,
    EMERGING_COLOURS,
    AnalysisRun,
    analysis_map,
    comparison_map,
    density_legend_text,
    emerging_map,
    picker_map,
)
from geo.maps.assets import VENDOR_URL_PREFIX, external_urls, vendor_assets, vendored_files
from geo.maps.base import (
    BASEMAP_ATTRIBUTION,
    OSM_ATTRIBUTION,
    add_layer_control,
    base_map,
    basemap_legend,
)
from geo.maps.draw import add_draw
from geo.maps.html import render
from geo.maps.layers import add_boundary, add_consensus_zones, add_risk_zones, add_settlements
from geo.maps.legend import (
    Legend,
    LegendEntry,
    LegendSection,
    add_legend,
    icon_legend_entries,
    severity_legend_entries,
)
from geo.maps.points import add_bus_stops, add_facilities, add_incident_points

__all__ = [
    "BASEMAP_ATTRIBUTION",
    "COMPARE_COLOURS",
    "EMERGING_COLOURS",
    "OSM_ATTRIBUTION",
    "VENDOR_URL_PREFIX",
    "AnalysisRun",
    "Legend",
    "LegendEntry",
    "LegendSection",
    "add_boundary",
    "add_bus_stops",
    "add_consensus_zones",
    "add_density_overlay",
    "add_draw",
    "add_facilities",
    "add_hex_counts",
    "add_hotspots",
    "add_incident_points",
    "add_layer_control",
    "add_legend",
    "add_risk_zones",
    "add_settlements",
    "analysis_map",
    "base_map",
    "basemap_legend",
    "comparison_map",
    "density_legend_text",
    "density_to_rgba",
    "emerging_map",
    "external_urls",
    "icon_legend_entries",
    "picker_map",
    "render",
    "severity_legend_entries",
    "vendor_assets",
    "vendored_files",
]
