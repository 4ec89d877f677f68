"""``harta network``: travel times and isochrones from the command line, for scripts and checks.

``harta network times --community SLUG --mode drive|walk --from FILE --to FILE --out OD.csv``
    Columns ``from_id,to_id,seconds``; an unreachable pair has an empty ``seconds``.
``harta network isochrones --community SLUG --from FILE --minutes 3,5,10,15 --out FILE.gpkg``
    One polygon per limit, reached from the nearest of the origins.

Point files: anything GeoPandas reads (GeoJSON, GeoPackage, Shapefile …; polygons stand for a
point on their surface), or a CSV with ``lon``/``lat`` columns (EPSG:4326).  Ids come from an
``id`` column when there is one, else the row number (from 0).  Offline: only local files and the
database's ``communities`` row are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from geo.errors import HartaError
from geo.i18n import t
from geo.settings import get_settings

if TYPE_CHECKING:
    import geopandas as gpd

# Heavy modules (geopandas, osmnx through the engine) are imported inside the commands, so
# that ``harta --help`` and every other command start fast.

network_app = typer.Typer(
    help="Street network: travel times and isochrones (offline).", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)

_MODE_HELP = "Travel mode: drive or walk."


def read_points(path: Path) -> tuple[list, gpd.GeoSeries]:
    """Ids and points (EPSG:4326) of a point file.

    Parameters
    ----------
    path : Path
        A vector file GeoPandas reads, or a CSV with ``lon`` and ``lat`` columns.

    Returns
    -------
    ids : list
    points : geopandas.GeoSeries

    Raises
    ------
    NetworkError
        When the file holds no usable geometry.
    """
    import geopandas as gpd
    import pandas as pd

    from geo.network.osm import NetworkError

    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path)
        if not {"lon", "lat"} <= set(frame.columns):
            raise NetworkError("network.error.no_points", file=str(path))
        geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs=4326)
        frame = gpd.GeoDataFrame(frame, geometry=geometry)
    else:
        frame = gpd.read_file(path)
        if frame.crs is None:
            frame = frame.set_crs(4326)
        frame = frame.to_crs(4326)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise NetworkError("network.error.no_points", file=str(path))
    ids = frame["id"].tolist() if "id" in frame.columns else list(range(len(frame)))
    return ids, frame.geometry.reset_index(drop=True)


def _community(slug: str):  # noqa: ANN202
    from geo.communities.model import Community, UnknownCommunity
    from geo.db.engine import get_engine

    try:
        return Community.load(get_engine(), slug)
    except UnknownCommunity:
        err.print(t("app.cli.unknown_community", get_settings().language, slug=slug))
        raise typer.Exit(1) from None


def _fail(error: HartaError) -> None:
    err.print(error.message(get_settings().language))
    raise typer.Exit(1)


@network_app.command("times")
def times_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    mode: str = typer.Option("drive", "--mode", help=_MODE_HELP),
    origins: Path = typer.Option(..., "--from", exists=True, dir_okay=False, help="Origins."),
    destinations: Path = typer.Option(
        ..., "--to", exists=True, dir_okay=False, help="Destinations."
    ),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="OD table to write (CSV)."),
) -> None:
    """Door-to-door travel times from every origin to every destination (seconds)."""
    from geo.network.matrix import network_for
    from geo.network.times import od_table, travel_times

    try:
        place = _community(community)
        network = network_for(place, mode)
        from_ids, from_points = read_points(origins)
        to_ids, to_points = read_points(destinations)
        times = travel_times(network, place, from_points, to_points)
    except HartaError as error:
        _fail(error)
    table = od_table(times, from_ids, to_ids)
    table.to_csv(out, index=False, float_format="%.3f")
    console.print(t("network.cli.written", get_settings().language, rows=len(table), path=out))


@network_app.command("isochrones")
def isochrones_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    mode: str = typer.Option("drive", "--mode", help=_MODE_HELP),
    origins: Path = typer.Option(..., "--from", exists=True, dir_okay=False, help="Origins."),
    minutes: str = typer.Option("3,5,10,15", "--minutes", help="Limits, comma-separated."),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="GeoPackage to write."),
) -> None:
    """Areas reached within each limit from the nearest origin (one polygon per limit)."""
    from geo.network.isochrones import isochrone_polygons
    from geo.network.matrix import network_for

    try:
        limits = [float(m) for m in minutes.split(",") if m.strip()]
    except ValueError as exc:
        raise typer.BadParameter(minutes, param_hint="--minutes") from exc
    try:
        place = _community(community)
        network = network_for(place, mode)
        _, points = read_points(origins)
        result = isochrone_polygons(network, place, points, limits)
    except HartaError as error:
        _fail(error)
    result["mode"] = mode
    result.to_file(out, driver="GPKG", layer="isochrones")
    console.print(t("network.cli.written", get_settings().language, rows=len(result), path=out))
