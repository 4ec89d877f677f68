"""New posts: where ``k`` new community focal points would help most, existing responders fixed.

Shape (after spopt): build a :class:`LocateModel` from data (or
:meth:`LocateModel.from_community`), then ``.solve()``.  Facilities are the existing responders
(fixed: spopt's ``predefined_facilities_arr``) followed by the candidate places (a layer, or the
street nodes inside the community, :func:`candidate_nodes`).  The cost matrix is the directed
travel time from each facility to each demand place (:func:`geo.network.travel_times`), the
demand weights are the places' weights (risk-weighted: zones by severity and agreement,
published incident counts, households).

``mclp``
    spopt's maximal covering location model (``MCLP.from_cost_matrix``): maximise the weight of
    places reached within ``T`` minutes by at least one facility.
``pmedian``
    spopt's p-median (``PMedian.from_cost_matrix``): minimise the weighted sum of times to the
    nearest facility (unreachable pairs cost :data:`UNREACHABLE_S`).

Both are solved offline with PuLP's CBC (``msg=False``, ``timeLimit``).  What each added post
gains is reported in order: the chosen posts are added one at a time, always the one adding the
most covered weight (then the largest time saving), with the covered weight and the weighted
mean time after each.  Runs are stored as kind ``response_locate`` (:func:`run_locate`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
import shapely
from sqlalchemy import Engine

from geo import runs
from geo.communities.model import Community
from geo.errors import HartaError
from geo.network.matrix import Network, network_for
from geo.network.times import travel_times
from geo.planning.response.demand import PLACE_TYPES, demand_places
from geo.planning.response.responders import When, available, load_responders, parse_when
from geo.results import Result, not_run

RUN_KIND = "response_locate"
MODELS = ("mclp", "pmedian")
#: Cost of an unreachable pair in the p-median (seconds): larger than any real trip.
UNREACHABLE_S = 24 * 3600.0
#: At most this many street nodes are offered as candidates (evenly thinned beyond it).
MAX_CANDIDATES = 250
TIME_LIMIT_S = 30


class LocateError(HartaError, ValueError):
    """A location model the response network refuses (unknown model, bad count)."""


@dataclass(kw_only=True)
class LocateResult(Result):
    """What :meth:`LocateModel.solve` returns.

    Attributes
    ----------
    proposals : GeoDataFrame
        The new posts in the order they gain most: ``order`` (1..k), ``candidate_id``,
        ``covered_gain`` (weight newly covered), ``covered_after`` (share 0-1),
        ``mean_time_after_s`` (weighted mean time to the nearest facility), point geometry.
    covered_before, covered_after : float
        Share of the demand weight covered within T, without and with the new posts.
    mean_time_before_s, mean_time_after_s : float
        Weighted mean time to the nearest facility (unreachable counted as
        :data:`UNREACHABLE_S`).
    objective : float
        The solver's objective value (covered weight, or weighted total seconds).
    status : str
        PuLP's status of the solve (``Optimal`` when proven).
    """

    proposals: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    covered_before: float = 0.0
    covered_after: float = 0.0
    mean_time_before_s: float = float("nan")
    mean_time_after_s: float = float("nan")
    objective: float = float("nan")
    status: str = ""

    def to_file(self, path: str | Path) -> Path:
        """Write the proposals (GeoPackage by suffix ``.gpkg``, else GeoJSON).

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
        driver = "GPKG" if path.suffix.lower() == ".gpkg" else "GeoJSON"
        frame = self.proposals.copy()
        frame["candidate_id"] = frame["candidate_id"].astype(str)
        kwargs = {"layer": "proposals"} if driver == "GPKG" else {}
        frame.to_file(path, driver=driver, **kwargs)
        return path


def candidate_nodes(
    network: Network, community: Community, *, max_candidates: int = MAX_CANDIDATES
) -> gpd.GeoDataFrame:
    """Street nodes inside the community's area, as candidate places.

    Parameters
    ----------
    network : Network
    community : Community
    max_candidates : int
        Evenly thinned (every n-th by id) beyond this many.

    Returns
    -------
    GeoDataFrame
        ``candidate_id`` (``node:<osm id>``) and point geometry, EPSG:4326.
    """
    points = shapely.points(np.column_stack([network.lon, network.lat]))
    x, y = community.to_metric.transform(network.lon, network.lat)
    inside = shapely.contains_xy(community.metric_geometry, np.asarray(x), np.asarray(y))
    index = np.nonzero(inside)[0]
    index = index[np.argsort(network.node_ids[index], kind="stable")]
    if index.size > max_candidates:
        index = index[np.linspace(0, index.size - 1, max_candidates).round().astype(int)]
    return gpd.GeoDataFrame(
        {"candidate_id": [f"node:{int(n)}" for n in network.node_ids[index]]},
        geometry=gpd.GeoSeries(points[index], crs=4326),
    )


def read_candidates(path: str | Path) -> gpd.GeoDataFrame:
    """Candidate places from a vector file (polygons stand for a point on their surface).

    Parameters
    ----------
    path : str or Path
        Anything GeoPandas reads; ids from an ``id`` column, else the row number.

    Returns
    -------
    GeoDataFrame
        ``candidate_id`` and point geometry, EPSG:4326.
    """
    frame = gpd.read_file(path)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    frame = frame.to_crs(4326)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].reset_index(drop=True)
    ids = frame["id"].astype(str) if "id" in frame.columns else pd.Series(range(len(frame)))
    geometry = shapely.point_on_surface(frame.geometry.values)
    return gpd.GeoDataFrame(
        {"candidate_id": ids.astype(str).to_numpy()}, geometry=gpd.GeoSeries(geometry, crs=4326)
    )


def solve_mclp(
    cost: np.ndarray,
    weights: np.ndarray,
    limit: float,
    fixed: np.ndarray,
    add: int,
    *,
    time_limit: int = TIME_LIMIT_S,
) -> tuple[np.ndarray, float, str]:
    """spopt's MCLP on a (places x facilities) cost matrix with fixed facilities.

    Parameters
    ----------
    cost : numpy.ndarray
        ``(places, facilities)`` seconds (``inf`` unreachable).
    weights : numpy.ndarray
        Demand weight of each place.
    limit : float
        Service radius, seconds.
    fixed : numpy.ndarray of bool
        Facilities that are open anyway (existing responders).
    add : int
        How many more to open.
    time_limit : int
        CBC's limit, seconds.

    Returns
    -------
    open : numpy.ndarray of bool
        Facilities open in the solution (the fixed ones included).
    objective : float
        Covered weight.
    status : str
    """
    from spopt.locate import MCLP

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = MCLP.from_cost_matrix(
            np.where(np.isfinite(cost), cost, UNREACHABLE_S),
            np.asarray(weights, dtype=float),
            service_radius=float(limit),
            p_facilities=int(fixed.sum() + add),
            predefined_facilities_arr=fixed.astype(int) if fixed.any() else None,
        )
    _solve(model, time_limit)
    chosen = np.array([(v.value() or 0) > 0.5 for v in model.fac_vars], dtype=bool)
    return chosen, float(pulp.value(model.problem.objective) or 0.0), _status(model)


def solve_pmedian(
    cost: np.ndarray,
    weights: np.ndarray,
    fixed: np.ndarray,
    add: int,
    *,
    time_limit: int = TIME_LIMIT_S,
) -> tuple[np.ndarray, float, str]:
    """spopt's p-median on a (places x facilities) cost matrix with fixed facilities.

    Parameters
    ----------
    cost, weights, fixed, add, time_limit
        As :func:`solve_mclp`.

    Returns
    -------
    open : numpy.ndarray of bool
    objective : float
        Weighted total seconds to the nearest open facility.
    status : str
    """
    from spopt.locate import PMedian

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = PMedian.from_cost_matrix(
            np.where(np.isfinite(cost), cost, UNREACHABLE_S),
            np.asarray(weights, dtype=float),
            p_facilities=int(fixed.sum() + add),
            predefined_facilities_arr=fixed.astype(int) if fixed.any() else None,
        )
    _solve(model, time_limit)
    chosen = np.array([(v.value() or 0) > 0.5 for v in model.fac_vars], dtype=bool)
    return chosen, float(pulp.value(model.problem.objective) or 0.0), _status(model)


def _solve(model: Any, time_limit: int) -> None:
    """CBC, quiet, under ``time_limit`` seconds (PuLP's 4.0 deprecation notices silenced: the
    pinned PuLP 3.3 and spopt 0.7 build the model the way they do)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=int(time_limit)))


def _status(model: Any) -> str:
    return str(pulp.LpStatus.get(model.problem.status, model.problem.status))


def covered_weight(cost: np.ndarray, weights: np.ndarray, open_: np.ndarray, limit: float) -> float:
    """Weight of the places reached within ``limit`` by an open facility.

    Parameters
    ----------
    cost : numpy.ndarray
        ``(places, facilities)``.
    weights : numpy.ndarray
    open_ : numpy.ndarray of bool
    limit : float

    Returns
    -------
    float
    """
    if not open_.any():
        return 0.0
    return float(weights[(cost[:, open_] <= limit).any(axis=1)].sum())


def weighted_time(cost: np.ndarray, weights: np.ndarray, open_: np.ndarray) -> float:
    """Weighted total seconds to the nearest open facility (unreachable = :data:`UNREACHABLE_S`).

    Parameters
    ----------
    cost : numpy.ndarray
    weights : numpy.ndarray
    open_ : numpy.ndarray of bool

    Returns
    -------
    float
    """
    if not open_.any():
        return float(weights.sum() * UNREACHABLE_S)
    best = np.minimum(cost[:, open_].min(axis=1), UNREACHABLE_S)
    return float((weights * best).sum())


@dataclass
class LocateModel:
    """``add`` new posts among ``candidates`` for ``demand``, ``existing`` fixed.

    Parameters
    ----------
    network : Network
    community : Community
    demand : GeoDataFrame
        ``place_id``, ``weight``, point geometry.
    existing : GeoDataFrame
        Existing responders (point geometry), fixed open.
    candidates : GeoDataFrame
        ``candidate_id`` and point geometry.
    add : int
    minutes : float
        T of the covering model (and of the reported coverage).
    model : {"mclp", "pmedian"}
    time_limit : int
        CBC's limit, seconds.
    """

    network: Network
    community: Community
    demand: gpd.GeoDataFrame
    existing: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    add: int
    minutes: float
    model: Literal["mclp", "pmedian"] = "mclp"
    time_limit: int = TIME_LIMIT_S
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_community(
        cls,
        engine: Engine,
        community: Community,
        *,
        add: int,
        minutes: float,
        model: str = "mclp",
        candidates: gpd.GeoDataFrame | str | Path | None = None,
        kinds: tuple[str, ...] | list[str] | None = None,
        when: When | str | None = None,
        mode: str = "drive",
        demand_types: tuple[str, ...] | list[str] = PLACE_TYPES,
        include_demo: bool = True,
        network: Network | None = None,
        time_limit: int = TIME_LIMIT_S,
    ) -> LocateModel:
        """Build the model from the database, as the engine's role may see it.

        Parameters
        ----------
        engine : Engine
        community : Community
        add : int
        minutes : float
        model : {"mclp", "pmedian"}
        candidates : GeoDataFrame or path, optional
            Default: the street nodes inside the community (:func:`candidate_nodes`).
        kinds : sequence of str, optional
            Existing responders of these kinds only (default all).
        when : When or str, optional
            Existing responders available then only.
        mode : {"drive", "walk"}
        demand_types : sequence of str
        include_demo : bool
        network : Network, optional
        time_limit : int

        Returns
        -------
        LocateModel
        """
        net = network if network is not None else network_for(community, mode)
        existing = load_responders(engine, community, kinds=kinds, include_demo=include_demo)
        moment = parse_when(when)
        if moment is not None:
            existing = existing[[available(h, moment) for h in existing["hours"]]]
        if candidates is None:
            places = candidate_nodes(net, community)
        elif isinstance(candidates, gpd.GeoDataFrame):
            places = candidates
        else:
            places = read_candidates(candidates)
        return cls(
            network=net,
            community=community,
            demand=demand_places(engine, community, types=demand_types, include_demo=include_demo),
            existing=existing.reset_index(drop=True),
            candidates=places.reset_index(drop=True),
            add=int(add),
            minutes=float(minutes),
            model=model,  # type: ignore[arg-type]
            time_limit=int(time_limit),
            params={
                "mode": mode,
                "kinds": kinds and list(kinds),
                "when": moment.label if moment else None,
            },  # fmt: skip
        )

    def cost_matrix(self) -> np.ndarray:
        """``(places, existing + candidates)`` seconds from each facility to each place.

        Returns
        -------
        numpy.ndarray
        """
        points = pd.concat([self.existing.geometry, self.candidates.geometry], ignore_index=True)
        times = travel_times(self.network, self.community, gpd.GeoSeries(points, crs=4326),
                             self.demand.geometry)  # fmt: skip
        return times.T

    def solve(self) -> LocateResult:
        """Solve the chosen model and report what each added post gains, in order.

        Returns
        -------
        LocateResult
        """
        if self.model not in MODELS:
            raise LocateError("response.locate.error.model", model=str(self.model))
        if self.add < 1:
            raise LocateError("response.locate.error.add", add=self.add)
        limit = 60.0 * self.minutes
        params = {**self.params, "model": self.model, "add": self.add,
                  "minutes": self.minutes, "candidates": int(len(self.candidates)),
                  "existing": int(len(self.existing)), "places": int(len(self.demand))}  # fmt: skip
        if len(self.demand) == 0:
            return LocateResult(params=params, **not_run("response.coverage.no_demand"))
        if len(self.candidates) == 0:
            return LocateResult(params=params, **not_run("response.locate.no_candidates"))
        cost = self.cost_matrix()
        weights = self.demand["weight"].astype(float).to_numpy()
        n_fixed = len(self.existing)
        fixed = np.zeros(cost.shape[1], dtype=bool)
        fixed[:n_fixed] = True
        add = min(self.add, len(self.candidates))
        if self.model == "mclp":
            open_, objective, status = solve_mclp(
                cost, weights, limit, fixed, add, time_limit=self.time_limit
            )
        else:
            open_, objective, status = solve_pmedian(
                cost, weights, fixed, add, time_limit=self.time_limit
            )
        chosen = [j for j in np.nonzero(open_ & ~fixed)[0]]
        return self._result(cost, weights, fixed, chosen, limit, params, objective, status)

    def _result(self, cost, weights, fixed, chosen, limit, params, objective, status):  # noqa: ANN001, ANN202, PLR0913
        total = float(weights.sum()) or 1.0
        open_ = fixed.copy()
        rows = []
        before_cov = covered_weight(cost, weights, open_, limit)
        before_time = weighted_time(cost, weights, open_)
        left = list(chosen)
        while left:
            # Greedy order of the chosen posts: most newly covered weight, then most time saved.
            def gain(j: int, now: np.ndarray = open_) -> tuple[float, float]:
                trial = now.copy()
                trial[j] = True
                return (
                    covered_weight(cost, weights, trial, limit),
                    -weighted_time(cost, weights, trial),
                )

            best = max(left, key=gain)
            previous = covered_weight(cost, weights, open_, limit)
            open_[best] = True
            left.remove(best)
            k = best - int(fixed.sum())
            rows.append(
                {
                    "order": len(rows) + 1,
                    "candidate_id": self.candidates["candidate_id"].iloc[k],
                    "covered_gain": covered_weight(cost, weights, open_, limit) - previous,
                    "covered_after": covered_weight(cost, weights, open_, limit) / total,
                    "mean_time_after_s": weighted_time(cost, weights, open_) / total,
                    "geometry": self.candidates.geometry.iloc[k],
                }
            )
        proposals = gpd.GeoDataFrame(
            rows or {"order": [], "candidate_id": [], "covered_gain": [], "covered_after": [],
                     "mean_time_after_s": []},
            geometry="geometry" if rows else gpd.GeoSeries([], crs=4326), crs=4326,
        )  # fmt: skip
        return LocateResult(
            params=params,
            proposals=proposals,
            covered_before=before_cov / total,
            covered_after=covered_weight(cost, weights, open_, limit) / total,
            mean_time_before_s=before_time / total,
            mean_time_after_s=weighted_time(cost, weights, open_) / total,
            objective=objective,
            status=status,
        )


def run_locate(engine: Engine, community: Community, **options: Any) -> tuple[int, LocateResult]:
    """Build, solve and store a location run (kind ``response_locate``) with its GeoPackage.

    Parameters
    ----------
    engine : Engine
        Acting as the role that runs it.
    community : Community
    **options
        As :meth:`LocateModel.from_community`.

    Returns
    -------
    run_id : int
    result : LocateResult
    """
    model = LocateModel.from_community(engine, community, **options)
    existing = model.existing
    exact = bool(len(existing) and (existing["at_home"] & existing["exact"]).any())
    start = {"model": model.model, "add": model.add, "minutes": model.minutes, **model.params}
    run_id = runs.start_run(
        engine, RUN_KIND, community, scope="exact" if exact else "aggregated", params=start
    )
    try:
        result = model.solve()
        outputs = {}
        if not result.too_few:
            folder = runs.run_dir(run_id)
            folder.mkdir(parents=True, exist_ok=True)
            outputs["gpkg"] = result.to_file(folder / f"locate-{run_id}.gpkg")
        counts = {"existing": len(existing), "candidates": len(model.candidates),
                  "places": len(model.demand)}  # fmt: skip
        params = {**result.params, "covered_before": result.covered_before,
                  "covered_after": result.covered_after, "status": result.status}  # fmt: skip
        runs.finish_run(engine, run_id, params=params, input_counts=counts, outputs=outputs)
    except Exception as error:
        runs.fail_run(engine, run_id, error, params=start)
        raise
    return run_id, result
