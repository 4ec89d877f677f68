"""The housing-sites map: candidate parcels by rank, exclusions, the landfill and settlements.

Built on :mod:`geo.maps` (base map, boundary, settlements, escaped tooltips, legend), so the page
stays thin and every text a person reads is translated and escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import geopandas as gpd

from geo.i18n import number, t
from geo.maps.base import add_layer_control, base_map
from geo.maps.data import feature_collection
from geo.maps.features import geojson
from geo.maps.html import esc, tip
from geo.maps.layers import add_boundary, add_settlements
from geo.maps.legend import LegendEntry, LegendSection, add_legend, register_legend

if TYPE_CHECKING:
    from geo.communities.model import Community
    from geo.planning.sites.inputs import SiteContext
    from geo.planning.sites.rank import SiteRankingResult

#: Fill colours: chosen, ranked (top 3), ranked (others), excluded; the landfill.
COLOURS = {
    "chosen": "#1a9850",
    "top": "#2b8cbe",
    "ranked": "#a6bddb",
    "excluded": "#969696",
    "landfill": "#8c510a",
}


def _class(row) -> str:  # noqa: ANN001
    if row["excluded"]:
        return "excluded"
    if row["chosen"]:
        return "chosen"
    return "top" if 1 <= row["rank"] <= 3 else "ranked"


def _site_tip(row, result: SiteRankingResult, index: int, lang: str) -> str:  # noqa: ANN001
    parts = [f"<b>{esc(row['site_id'])} · {esc(row['name'])}</b>"]
    if row["excluded"]:
        reasons = "; ".join(e.message(lang) for e in result.exclusions[index])
        parts.append(f"<span>{esc(t('sites.map.excluded', lang, reasons=reasons))}</span>")
    else:
        parts.append(
            "<span>"
            + esc(
                t(
                    "sites.map.ranked",
                    lang,
                    rank=int(row["rank"]),
                    score=number(float(row["score"]), lang, 3),
                    p_first=number(float(row["p_first"]), lang, 2),
                )  # fmt: skip
            )
            + "</span>"
        )
    if row.get("is_demo"):
        parts.append(f"<span>{esc(t('sites.map.demo', lang))}</span>")
    return tip(parts)


def sites_map(
    result: SiteRankingResult,
    community: Community,
    context: SiteContext,
    lang: str,
    *,
    online: bool = False,
    height: int = 560,
) -> folium.Map:
    """The map of a solved ranking.

    Parameters
    ----------
    result : SiteRankingResult
    community : Community
    context : SiteContext
        Its landfill outline and settlements are drawn.
    lang : str
    online : bool
    height : int

    Returns
    -------
    folium.Map
    """
    sites = result.sites
    extent = gpd.GeoSeries([*sites.geometry.values, community.geometry], crs=sites.crs).total_bounds
    m = base_map(tuple(extent), online=online, lang=lang, height=height)
    add_boundary(m, community, lang)
    if context.settlements is not None and len(context.settlements):
        add_settlements(m, context.settlements, lang)
    if context.landfill is not None:
        name = t("sites.map.landfill", lang)
        data = feature_collection(
            [context.landfill], [{"tip": tip([f"<span>{esc(name)}</span>"]), "pop": "", "s": "l"}]
        )
        style = {
            "l": {
                "color": COLOURS["landfill"],
                "weight": 2,
                "dashArray": "6 4",
                "fillOpacity": 0.15,
            }
        }
        geojson(m, data, name=name, style=style, popup=False)
        register_legend(
            m,
            LegendSection(
                name, [LegendEntry(name, colour=COLOURS["landfill"], dash=True, key="landfill")]
            ),
        )
    props = [
        {"tip": _site_tip(row, result, i, lang), "pop": "", "s": _class(row)}
        for i, row in sites.iterrows()
    ]
    style = {
        key: {
            "color": "#222222",
            "weight": 2 if key == "chosen" else 1,
            "fillColor": colour,
            "fillOpacity": 0.8,
        }
        for key, colour in COLOURS.items()
        if key != "landfill"
    }
    layer = t("sites.map.layer", lang)
    geojson(m, feature_collection(sites.geometry, props), name=layer, style=style, popup=False)
    # Parcels are a few dozen metres across: a marker keeps each one visible at city zoom.
    points = sites.geometry.representative_point()
    geojson(
        m, feature_collection(points, props), name=layer, style=style, popup=False,
        marker=folium.CircleMarker(radius=7, fill=True), control=False,
    )  # fmt: skip
    register_legend(
        m,
        LegendSection(
            layer,
            [
                LegendEntry(
                    t(f"sites.map.class.{key}", lang), colour=COLOURS[key], key=f"site:{key}"
                )
                for key in ("chosen", "top", "ranked", "excluded")
            ],
        ),
    )
    add_layer_control(m)
    add_legend(m, lang=lang, demo=bool(sites["is_demo"].any()))
    return m
