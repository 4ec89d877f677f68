"""Hard exclusions: sites that no weighting may rank, each with the reason it is out.

The rules and their thresholds are data (``exclusions`` in ``data/sites/criteria.json``):

``landfill``     the parcel lies within ``landfill_buffer_m`` of the (approximate) landfill outline;
``risk_zone``    it touches a workshop risk zone of severity >= ``risk_zone_min_severity``;
``hazard``       it touches the imported hazard layer (``hazard_layer_inside``);
``settlement``   it is closer than ``settlement_min_network_m`` along the streets to an existing
                 segregated settlement (it would extend the settlement, not end segregation);
``cut_off``      no school within ``require_school_within_walk_min`` minutes' walk (or none
                 reachable at all).

Reasons are i18n keys (``sites.exclusion.<rule>``) with their parameters, so the CSV carries the
English text and the page each reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.i18n import DEFAULT_LANGUAGE, t
from geo.planning.sites.compute import CriteriaValues
from geo.planning.sites.inputs import SiteContext


@dataclass(frozen=True)
class Exclusion:
    """Why one site is out.

    Attributes
    ----------
    rule : str
    params : dict
        Placeholders of ``sites.exclusion.<rule>``.
    """

    rule: str
    params: dict

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The reason in ``lang``.

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return t(f"sites.exclusion.{self.rule}", lang, **self.params)


def exclusions(
    sites: gpd.GeoDataFrame, context: SiteContext, values: CriteriaValues, rules: dict
) -> list[list[Exclusion]]:
    """Every exclusion that applies to each site (empty list: the site is eligible).

    Parameters
    ----------
    sites : GeoDataFrame
    context : SiteContext
    values : CriteriaValues
        Raw criterion values (for the network rules).
    rules : dict
        ``CriteriaSet.exclusions``.

    Returns
    -------
    list of list of Exclusion
        One list per site, in site order.
    """
    metric = sites.geometry.to_crs(context.community.crs).values
    found: list[list[Exclusion]] = [[] for _ in range(len(sites))]
    _landfill(metric, context, rules, found)
    _risk_zones(metric, context, rules, found)
    _hazard(metric, context, rules, found)
    _network_rules(values.values, rules, found)
    return found


def _add(found: list[list[Exclusion]], hits: np.ndarray, rule: str, **params: object) -> None:
    for i in np.flatnonzero(hits):
        found[i].append(Exclusion(rule, dict(params)))


def _landfill(metric: np.ndarray, context: SiteContext, rules: dict, found) -> None:  # noqa: ANN001
    buffer_m = rules.get("landfill_buffer_m")
    if context.landfill is None or buffer_m is None:
        return
    landfill = context.community.to_metric_geometry(context.landfill)
    _add(found, shapely.dwithin(metric, landfill, float(buffer_m)), "landfill", metres=buffer_m)


def _risk_zones(metric: np.ndarray, context: SiteContext, rules: dict, found) -> None:  # noqa: ANN001
    level = rules.get("risk_zone_min_severity")
    zones = context.risk_zones
    if level is None or zones is None or len(zones) == 0:
        return
    for severity in sorted(set(int(s) for s in zones["severity"] if int(s) >= int(level))):
        shapes = zones[zones["severity"] == severity].geometry.to_crs(context.community.crs)
        hits = shapely.intersects(metric, shapely.union_all(shapes.values))
        _add(found, hits, "risk_zone", severity=severity)


def _hazard(metric: np.ndarray, context: SiteContext, rules: dict, found) -> None:  # noqa: ANN001
    if not rules.get("hazard_layer_inside") or context.hazards is None or len(context.hazards) == 0:
        return
    hazard = shapely.union_all(context.hazards.geometry.to_crs(context.community.crs).values)
    _add(found, shapely.intersects(metric, hazard), "hazard")


def _network_rules(values: pd.DataFrame, rules: dict, found) -> None:  # noqa: ANN001
    near = rules.get("settlement_min_network_m")
    if near is not None and "settlement_network_m" in values:
        distance = values["settlement_network_m"].to_numpy(float)
        _add(found, np.isfinite(distance) & (distance < float(near)), "settlement", metres=near)
    limit = rules.get("require_school_within_walk_min")
    if (
        limit is not None
        and "walk_school_min" in values
        and values["walk_school_min"].notna().any()
    ):
        minutes = values["walk_school_min"].to_numpy(float)
        _add(found, ~(minutes <= float(limit)), "cut_off", minutes=limit)


def reasons(found: list[list[Exclusion]], lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """One text per site: its exclusions joined by ``"; "`` (empty when eligible).

    Parameters
    ----------
    found : list of list of Exclusion
    lang : str

    Returns
    -------
    list of str
    """
    return ["; ".join(e.message(lang) for e in site) for site in found]
