"""``harta sites rank``: rank candidate housing sites (the lead registers ``sites_app``).

Writes ``ranked.csv`` (per ``site_id``: every criterion's raw value, one column per code, and its
normalised value ``<code>_norm``; ``excluded`` and the reason; ``score``; ``rank``), ``ranked.json``
beside it (``{"criteria": {code: {"weight", "direction", ...}}}`` as used, so a reviewer can
recompute the scores) and ``ranked_sites.geojson``; with ``--surface`` also the suitability
GeoTIFF.  With a database (the default settings' URL) the run is stored as kind
``housing_sites``; ``--no-store`` skips it.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from geo.errors import HartaError
from geo.i18n import DEFAULT_LANGUAGE, t

sites_app = typer.Typer(help="Candidate social-housing sites (issue 14).", no_args_is_help=True)


@sites_app.callback()
def sites_main() -> None:
    """Candidate social-housing sites: rank them from data (issue 14).

    Returns
    -------
    None
    """


def _parse_raster(spec: str):  # noqa: ANN202
    """``code=path[:statistic[:radius_m]]`` -> RasterLayer."""
    from geo.planning.sites.inputs import RasterLayer

    code, _, rest = spec.partition("=")
    parts = rest.split(":")
    statistic = parts[1] if len(parts) > 1 else "mean"
    radius = float(parts[2]) if len(parts) > 2 else 0.0
    return RasterLayer(code.strip(), Path(parts[0]), statistic, radius_m=radius)


@sites_app.command("rank")
def rank_command(
    community: str = typer.Option(..., "--community", help="Community slug."),
    sites: Path = typer.Option(
        ..., "--sites", exists=True, dir_okay=False, help="Candidate sites file."
    ),
    out: Path = typer.Option(Path("ranked.csv"), "--out", help="Ranked table (CSV)."),
    weights: Path | None = typer.Option(None, "--weights", exists=True, dir_okay=False),
    community_weights: Path | None = typer.Option(
        None,
        "--community-weights",
        exists=True,
        dir_okay=False,
        help="A second weight set (the community's), compared side by side.",
    ),
    method: str = typer.Option("topsis", "--method", help="topsis or wsm."),
    k: int = typer.Option(3, "--k", help="How many sites to choose together."),
    min_distance: float = typer.Option(
        500.0, "--min-distance", help="Metres between chosen sites."
    ),
    hazards: Path | None = typer.Option(None, "--hazards", exists=True, dir_okay=False),
    raster: list[str] = typer.Option(
        [], "--raster", help="code=path[:mean|share|sample[:radius_m]]"
    ),  # noqa: B008
    gtfs: Path | None = typer.Option(None, "--gtfs", exists=True, dir_okay=False),
    surface: Path | None = typer.Option(
        None, "--surface", help="Also write a suitability GeoTIFF."
    ),
    store: bool = typer.Option(True, "--store/--no-store", help="Store the run in the database."),
    lang: str = typer.Option(DEFAULT_LANGUAGE, "--lang"),
) -> None:
    """Rank candidate sites and write ranked.csv and ranked.json.

    Parameters
    ----------
    community, sites, out, weights, community_weights, method, k, min_distance, hazards,
    raster, gtfs, surface, store, lang
        See ``--help``.

    Returns
    -------
    None
    """
    from geo.communities.model import UnknownCommunity

    try:
        _rank(
            community,
            sites,
            out,
            weights,
            community_weights,
            method,
            k,
            min_distance,
            hazards,
            [_parse_raster(r) for r in raster],
            gtfs,
            surface,
            store,
            lang,
        )
    except HartaError as exc:
        typer.echo(exc.message(lang), err=True)
        raise typer.Exit(2) from exc
    except UnknownCommunity:
        typer.echo(t("app.cli.unknown_community", lang, slug=community), err=True)
        raise typer.Exit(1) from None


def _rank(
    slug,
    sites,
    out,
    weights,
    community_weights,
    method,
    k,
    min_distance,  # noqa: ANN001, ANN202, PLR0913
    hazards,
    rasters,
    gtfs,
    surface,
    store,
    lang,
):
    from geo.communities.model import Community
    from geo.db.engine import get_engine
    from geo.planning.sites.criteria import load_criteria, read_weights
    from geo.planning.sites.inputs import bundled_context, read_sites
    from geo.planning.sites.rank import SiteRanking, scorer, store_run, write_outputs

    scorer(method)  # refuse an unknown method before any work
    engine = get_engine()
    place = Community.load(engine, slug)
    criteria = load_criteria()
    chosen = read_weights(weights, criteria)["weights"] if weights else None
    other = read_weights(community_weights, criteria)["weights"] if community_weights else None
    context = bundled_context(place, engine, hazards=hazards, rasters=rasters, gtfs=gtfs)
    ranking = SiteRanking.from_data(
        place,
        read_sites(sites, place),
        context=context,
        criteria=criteria,
        weights=chosen,
        method=method,
        weights_b=other,
        k=k,
        min_distance_m=min_distance,
    )
    result = ranking.solve()
    paths = write_outputs(result, criteria, out)
    if surface is not None:
        from geo.planning.sites.surface import suitability_surface

        suitability_surface(place, context, criteria, ranking.weights, surface)
    if store:
        run_id = store_run(engine, place, ranking, result)
        typer.echo(t("sites.cli.stored", lang, run=run_id))
    if result.too_few:
        typer.echo(result.message(lang))
    typer.echo(
        t(
            "sites.cli.written",
            lang,
            csv=paths["csv"],
            json=paths["json"],
            eligible=int((~result.sites["excluded"]).sum()),
            sites=len(result.sites),
        )
    )
    if result.comparison is not None:
        typer.echo(json.dumps(result.comparison.to_dict(orient="records"), default=str))
