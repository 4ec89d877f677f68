"""Coverage and backup coverage: how fast help reaches each demand place, by kind and hour.

Shape (after spopt): build a :class:`CoverageModel` from data (or
:meth:`CoverageModel.from_community`), then ``.solve()``; the :class:`CoverageResult` holds
GeoDataFrames.  For every demand place (:mod:`geo.planning.response.demand`) and every responder
kind: the directed travel time from the nearest and the second-nearest responder of that kind
available at the chosen weekday and hour, how many reach it within ``T`` minutes, whether at
least one does (*covered*) and at least two (*backup*).  Per settlement: the share of demand
covered and backed up, and the **worst** time (the slowest place's nearest responder).  The
gaps layer holds every place without backup.

Times come from :func:`geo.network.travel_times` (one multi-source Dijkstra from the responders,
door to door, unreachable = ``inf``).  The responders are those the reader's connection may see
(:func:`~geo.planning.response.responders.load_responders`): for the public and community roles a
focal point is its published cell's centre, so nothing computed here locates a home.

Runs are stored through :mod:`geo.runs` as kind ``response_coverage``
(:func:`run_coverage`), scope ``exact`` when an exact home was used, else ``aggregated``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine

from geo import runs
from geo.communities.model import Community
from geo.i18n import community_name, number, t
from geo.network.matrix import Network, network_for
from geo.network.times import nearest, travel_times
from geo.planning.response.demand import PLACE_TYPES, demand_places, settlement_areas
from geo.planning.response.responders import (
    KINDS,
    When,
    available,
    check_kind,
    load_responders,
    parse_when,
)
from geo.results import Result, not_run

RUN_KIND = "response_coverage"
BY_KIND_COLUMNS = (
    "place_id",
    "kind",
    "nearest_id",
    "nearest_s",
    "second_id",
    "second_s",
    "n_within",
    "covered",
    "backup",
)
SETTLEMENT_COLUMNS = (
    "settlement",
    "name",
    "places",
    "weight",
    "covered_share",
    "backup_share",
    "worst_s",
    "worst_place",
)


@dataclass(kw_only=True)
class CoverageResult(Result):
    """What :meth:`CoverageModel.solve` returns (times in seconds, ``inf`` = unreachable).

    Attributes
    ----------
    places : GeoDataFrame
        Demand places with ``nearest_s``/``second_s`` (any selected kind), ``n_within``,
        ``covered``, ``backup``.
    by_kind : GeoDataFrame
        One row per place and kind: :data:`BY_KIND_COLUMNS` and the place's point.
    settlements : GeoDataFrame
        :data:`SETTLEMENT_COLUMNS` and the settlement's area.
    gaps : GeoDataFrame
        Places without backup; ``gap`` is ``uncovered`` (none within T) or ``no_backup``.
    responders : GeoDataFrame
        The responders counted (available at the hour, of the kinds asked).
    times : numpy.ndarray
        ``(responders, places)`` seconds.
    """

    places: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    by_kind: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    settlements: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    gaps: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    responders: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    times: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @property
    def uses_exact_homes(self) -> bool:
        """Whether an exact home (a focal point's house) entered the computation."""
        r = self.responders
        return bool(len(r) and (r["at_home"].astype(bool) & r["exact"].astype(bool)).any())

    def settlement_table(self, lang: str) -> pd.DataFrame:
        """The per-settlement table with translated headers and minutes, for people.

        Parameters
        ----------
        lang : str

        Returns
        -------
        pandas.DataFrame
        """
        frame = pd.DataFrame(self.settlements.drop(columns="geometry", errors="ignore"))
        if frame.empty:  # not run (too few): the headers alone
            frame = pd.DataFrame({c: [] for c in SETTLEMENT_COLUMNS})
        out = pd.DataFrame(
            {
                t("response.coverage.col.settlement", lang): [
                    community_name(slug, name, lang)
                    for slug, name in zip(frame["settlement"], frame["name"], strict=True)
                ],
                t("response.coverage.col.places", lang): frame["places"],
                t("response.coverage.col.covered", lang): (100 * frame["covered_share"]).round(0),
                t("response.coverage.col.backup", lang): (100 * frame["backup_share"]).round(0),
                t("response.coverage.col.worst", lang): [
                    format_minutes(s, lang) for s in frame["worst_s"]
                ],
            }
        )
        return out

    def to_gpkg(self, path: str | Path) -> Path:
        """Write every table as a layer of one GeoPackage.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Path
        """
        path = Path(path)
        if path.exists():
            path.unlink()
        for layer, frame in (
            ("places", self.places),
            ("by_kind", self.by_kind),
            ("settlements", self.settlements),
            ("gaps", self.gaps),
            ("responders", self.responders),
        ):
            if len(frame):
                _plain(frame).to_file(path, layer=layer, driver="GPKG")
        return path


def format_minutes(seconds: float, lang: str) -> str:
    """Seconds as minutes with one decimal, or "unreachable" in ``lang``.

    Parameters
    ----------
    seconds : float
    lang : str

    Returns
    -------
    str
    """
    if seconds is None or not np.isfinite(seconds):
        return t("response.coverage.unreachable", lang)
    return t("response.coverage.minutes", lang, minutes=number(seconds / 60, lang, 1))


def _plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy GeoPackage can store: one geometry, no lists/dicts, NaN for ``inf``."""
    out = frame.drop(columns=[c for c in ("area",) if c in frame.columns]).copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if (
            out[column].dtype == object
            and out[column].map(lambda v: isinstance(v, list | dict)).any()
        ):
            out[column] = out[column].map(json.dumps)
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].replace([np.inf, -np.inf], np.nan)
    return out


@dataclass
class CoverageModel:
    """Coverage of demand places by responders within ``minutes`` (see the module docstring).

    Parameters
    ----------
    network : Network
        The community's routing network (:func:`geo.network.network_for`).
    community : Community
    demand : GeoDataFrame
        Demand places (:func:`~geo.planning.response.demand.demand_places` columns; at least
        ``place_id``, ``settlement``, ``weight`` and a point geometry).
    responders : GeoDataFrame
        At least ``id``, ``kind``, ``hours`` and a point geometry (EPSG:4326).
    minutes : float
        The limit T.
    kinds : sequence of str, optional
        Only these kinds (default: every kind present).
    when : When or str, optional
        Only responders available then; None = any time.
    areas : GeoDataFrame, optional
        Settlement areas (``slug``, ``name``, geometry) for the per-settlement table.
    """

    network: Network
    community: Community
    demand: gpd.GeoDataFrame
    responders: gpd.GeoDataFrame
    minutes: float
    kinds: tuple[str, ...] | None = None
    when: When | str | None = None
    areas: gpd.GeoDataFrame | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_community(
        cls,
        engine: Engine,
        community: Community,
        *,
        minutes: float,
        kinds: tuple[str, ...] | list[str] | None = None,
        when: When | str | None = None,
        mode: str = "drive",
        demand_types: tuple[str, ...] | list[str] = PLACE_TYPES,
        households: str | Path | pd.DataFrame | None = None,
        include_demo: bool = True,
        network: Network | None = None,
    ) -> CoverageModel:
        """Build the model from the database, as the engine's role may see it.

        Parameters
        ----------
        engine : Engine
            Acting as the reader's role.
        community : Community
        minutes : float
        kinds : sequence of str, optional
        when : When or str, optional
        mode : {"drive", "walk"}
        demand_types : sequence of str
            Some of :data:`~geo.planning.response.demand.PLACE_TYPES`.
        households : path or DataFrame, optional
        include_demo : bool
        network : Network, optional
            Default :func:`geo.network.network_for` (cached).

        Returns
        -------
        CoverageModel
        """
        return cls(
            network=network if network is not None else network_for(community, mode),
            community=community,
            demand=demand_places(
                engine,
                community,
                types=demand_types,
                households=households,
                include_demo=include_demo,
            ),
            responders=load_responders(engine, community, include_demo=include_demo),
            minutes=float(minutes),
            kinds=None if kinds is None else tuple(kinds),
            when=when,
            areas=settlement_areas(engine, community),
            params={"mode": mode, "demand_types": list(demand_types)},
        )

    def selected_responders(self) -> gpd.GeoDataFrame:
        """The responders that count: of the kinds asked and available at ``when``.

        Returns
        -------
        GeoDataFrame
        """
        moment = parse_when(self.when)
        frame = self.responders
        keep = np.ones(len(frame), dtype=bool)
        if self.kinds is not None:
            keep &= frame["kind"].isin([check_kind(k) for k in self.kinds]).to_numpy()
        if moment is not None:
            keep &= np.array([available(h, moment) for h in frame["hours"]], dtype=bool)
        return frame[keep].reset_index(drop=True)

    def solve(self) -> CoverageResult:
        """Times, coverage and backup coverage of every place; per-settlement summary; gaps.

        Returns
        -------
        CoverageResult
            ``too_few`` (with a message) when no responder or no demand place is left.
        """
        moment = parse_when(self.when)
        limit = 60.0 * float(self.minutes)
        chosen = self.selected_responders()
        params = {
            **self.params,
            "minutes": float(self.minutes),
            "kinds": list(self.kinds) if self.kinds is not None else None,
            "when": moment.label if moment is not None else None,
            "responders": int(len(chosen)),
            "places": int(len(self.demand)),
        }
        if len(self.demand) == 0:
            return CoverageResult(params=params, **not_run("response.coverage.no_demand"))
        if len(chosen) == 0:
            label = moment.label if moment is not None else "-"
            return CoverageResult(
                params=params, **not_run("response.coverage.no_responders", when=label)
            )
        times = travel_times(self.network, self.community, chosen.geometry, self.demand.geometry)
        places = self._places(times, limit)
        by_kind = self._by_kind(chosen, times, limit)
        settlements = self._settlements(places)
        gaps = places[~places["backup"]].copy()
        gaps["gap"] = np.where(gaps["covered"], "no_backup", "uncovered")
        return CoverageResult(
            params=params,
            places=places,
            by_kind=by_kind,
            settlements=settlements,
            gaps=gaps.reset_index(drop=True),
            responders=chosen,
            times=times,
        )

    def _places(self, times: np.ndarray, limit: float) -> gpd.GeoDataFrame:
        _, seconds = nearest(times, 2)
        within = (times <= limit).sum(axis=0)
        places = self.demand.copy()
        places["nearest_s"] = seconds[:, 0]
        places["second_s"] = seconds[:, 1]
        places["n_within"] = within.astype(int)
        places["covered"] = within >= 1
        places["backup"] = within >= 2
        return places.reset_index(drop=True)

    def _by_kind(
        self, chosen: gpd.GeoDataFrame, times: np.ndarray, limit: float
    ) -> gpd.GeoDataFrame:
        rows = []
        ids = chosen["id"].to_numpy()
        for kind in [k for k in KINDS if k in set(chosen["kind"])]:
            mask = (chosen["kind"] == kind).to_numpy()
            index, seconds = nearest(times[mask], 2)
            kind_ids = ids[mask]
            within = (times[mask] <= limit).sum(axis=0)
            for j, place_id in enumerate(self.demand["place_id"]):
                rows.append(
                    {
                        "place_id": place_id,
                        "kind": kind,
                        "nearest_id": kind_ids[index[j, 0]] if index[j, 0] >= 0 else None,
                        "nearest_s": seconds[j, 0],
                        "second_id": kind_ids[index[j, 1]] if index[j, 1] >= 0 else None,
                        "second_s": seconds[j, 1],
                        "n_within": int(within[j]),
                        "covered": bool(within[j] >= 1),
                        "backup": bool(within[j] >= 2),
                        "geometry": self.demand.geometry.iloc[j],
                    }
                )
        if not rows:
            return gpd.GeoDataFrame(
                {c: [] for c in BY_KIND_COLUMNS}, geometry=gpd.GeoSeries([], crs=4326)
            )
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)

    def _settlements(self, places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        areas = self.areas
        names = dict(zip(areas["slug"], areas["name"], strict=True)) if areas is not None else {}
        shapes = dict(zip(areas["slug"], areas.geometry, strict=True)) if areas is not None else {}
        rows = []
        for slug, group in places.groupby("settlement", sort=True):
            weight = group["weight"].astype(float)
            total = float(weight.sum()) or 1.0
            worst = group["nearest_s"].to_numpy()
            at = int(np.argmax(worst))
            rows.append(
                {
                    "settlement": slug,
                    "name": names.get(
                        slug, self.community.name if slug == self.community.slug else slug
                    ),
                    "places": int(len(group)),
                    "weight": float(weight.sum()),
                    "covered_share": float(weight[group["covered"]].sum()) / total,
                    "backup_share": float(weight[group["backup"]].sum()) / total,
                    "worst_s": float(worst[at]),
                    "worst_place": group["place_id"].iloc[at],
                    "geometry": shapes.get(slug, group.geometry.union_all().convex_hull),
                }
            )
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def run_coverage(
    engine: Engine,
    community: Community,
    *,
    minutes: float,
    kinds: tuple[str, ...] | list[str] | None = None,
    when: When | str | None = None,
    mode: str = "drive",
    demand_types: tuple[str, ...] | list[str] = PLACE_TYPES,
    households: str | Path | pd.DataFrame | None = None,
    include_demo: bool = True,
    network: Network | None = None,
) -> tuple[int, CoverageResult]:
    """Build, solve and store a coverage run (kind ``response_coverage``) with its GeoPackage.

    Parameters
    ----------
    engine : Engine
        Acting as the role that runs it (see :func:`geo.runs.start_run`).
    community : Community
    minutes, kinds, when, mode, demand_types, households, include_demo, network
        As :meth:`CoverageModel.from_community`.

    Returns
    -------
    run_id : int
    result : CoverageResult
    """
    model = CoverageModel.from_community(
        engine,
        community,
        minutes=minutes,
        kinds=kinds,
        when=when,
        mode=mode,
        demand_types=demand_types,
        households=households,
        include_demo=include_demo,
        network=network,
    )
    exact = bool(
        len(model.responders)
        and (
            model.responders["at_home"].astype(bool) & model.responders["exact"].astype(bool)
        ).any()
    )
    scope = "exact" if exact else "aggregated"
    start = {"minutes": float(minutes), "mode": mode, "kinds": kinds and list(kinds)}
    run_id = runs.start_run(engine, RUN_KIND, community, scope=scope, params=start)
    try:
        result = model.solve()
        outputs = {}
        if not result.too_few:
            folder = runs.run_dir(run_id)
            folder.mkdir(parents=True, exist_ok=True)
            outputs["gpkg"] = result.to_gpkg(folder / f"coverage-{run_id}.gpkg")
        counts = {
            "responders": int(len(model.responders)),
            "responders_counted": int(len(result.responders)),
            "places": int(len(model.demand)),
        }
        runs.finish_run(engine, run_id, params=result.params, input_counts=counts, outputs=outputs)
    except Exception as error:
        runs.fail_run(engine, run_id, error, params=start)
        raise
    return run_id, result
