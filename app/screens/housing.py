"""Housing sites: candidate social-housing sites ranked on criteria computed from data (issue 14).

Planners (and admins) choose the sites (demo or uploaded), the method and their weights (sliders
or pairwise comparisons), may load the community's weights from a workshop, store the run and
download the table, the report and the suitability surface.  The community role sees the same
sites (those of the planners' last stored run), sets its own weights beside the planners' and
may store them (a run made in the community role), which the planners then compare against.
Everyone else reads the ranking.  The page is widgets only: everything is computed in
:mod:`geo.planning.sites`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from geo.errors import HartaError
from geo.i18n import number
from geo.planning.sites import mcda
from geo.planning.sites.criteria import load_criteria
from geo.planning.sites.inputs import DEMO_SITES_FILE, bundled_context, normalise_sites, read_layer
from geo.planning.sites.rank import KIND, SiteRanking, store_run, write_outputs
from geo.planning.sites.sitemap import sites_map
from geo.reports.site_report import criteria_chart, site_report_pdf, value_text
from geo.runs import list_runs, run_dir
from harta_ui import context
from map_frame import st_folium

PLANNERS = {"planner", "admin"}
CRITERIA = load_criteria()


@st.cache_resource(show_spinner=False, max_entries=6)
def _base(_engine, _community, community_id: int, role: str, digest: str, data: bytes, suffix: str):  # noqa: ANN001, ANN202
    """Criteria and exclusions of one sites file (the slow part), cached per file and role."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sites{suffix}"
        path.write_bytes(data)
        sites = normalise_sites(read_layer(path), _community)
    context_ = bundled_context(_community, _engine)
    return SiteRanking.from_data(
        _community, sites, context=context_, criteria=CRITERIA, draws=500
    ), context_


def _last_runs(ctx):  # noqa: ANN001, ANN202
    """The last run stored by planners (or any non-community role) and by the community."""
    try:
        runs = list_runs(ctx.engine, ctx.community, KIND, limit=50)
    except Exception:  # noqa: BLE001 - a role that may not read runs sees the defaults
        return None, None
    planners = next((r for r in runs if r.created_by_role != "community"), None)
    community = next((r for r in runs if r.created_by_role == "community"), None)
    return planners, community


def _sites_bytes(ctx, last) -> tuple[bytes, str]:  # noqa: ANN001
    """Planners pick demo or upload; others see the last stored run's sites (else the demo)."""
    if ctx.role in PLANNERS:
        upload = st.sidebar.file_uploader(
            ctx.t("sites.page.upload"), type=["geojson", "json", "gpkg"], key="house_sites"
        )
        if upload is not None:
            return upload.getvalue(), Path(upload.name).suffix or ".geojson"
        st.sidebar.caption(ctx.t("sites.page.use_demo"))
    elif last is not None:
        stored = run_dir(last.id) / last.outputs.get("geojson", "")
        if stored.is_file():
            return stored.read_bytes(), ".geojson"
    return DEMO_SITES_FILE.read_bytes(), ".geojson"


def _sliders(ctx, prefix: str, start: dict[str, float], available: set[str]) -> dict[str, float]:  # noqa: ANN001
    st.caption(ctx.t("sites.page.weights_help"))
    cols = st.columns(2)
    out = {}
    for i, criterion in enumerate(CRITERIA.criteria):
        if criterion.code not in available:
            continue
        with cols[i % 2]:
            out[criterion.code] = st.slider(
                criterion.label(ctx.lang),
                0,
                100,
                int(round(100 * start.get(criterion.code, 0.0))),
                key=f"{prefix}_{criterion.code}",
                help=ctx.t(f"sites.direction.{criterion.direction}"),
            )
    return {code: value / 100 for code, value in out.items()}


def _ahp(ctx, available: list[str]) -> dict[str, float] | None:  # noqa: ANN001
    label = {c.code: c.label(ctx.lang) for c in CRITERIA.criteria}
    chosen = st.multiselect(
        ctx.t("sites.page.ahp_pick"),
        available,
        default=available[:3],
        format_func=label.get,
        max_selections=6,
        key="house_ahp_pick",
    )
    if len(chosen) < 3:
        return None
    n = len(chosen)
    matrix = [[1.0] * n for _ in range(n)]
    for i, j in itertools.combinations(range(n), 2):
        a, b = chosen[i], chosen[j]
        options = list(range(-8, 9))

        def fmt(v: int, a: str = a, b: str = b) -> str:
            if v == 0:
                return ctx.t("sites.page.ahp_equal")
            return ctx.t("sites.page.ahp_scale", n=abs(v) + 1, name=label[a] if v > 0 else label[b])

        value = st.select_slider(
            ctx.t("sites.page.ahp_pair", a=label[a], b=label[b]),
            options,
            value=0,
            format_func=fmt,
            key=f"house_ahp_{a}_{b}",
        )
        matrix[i][j] = value + 1.0 if value >= 0 else 1.0 / (1 - value)
        matrix[j][i] = 1.0 / matrix[i][j]
    try:
        weights, _, cr = mcda.ahp_weights(matrix)
    except mcda.McdaError as error:
        st.error(error.message(ctx.lang))
        return None
    st.success(ctx.t("sites.page.ahp_ok", cr=f"{cr:.3f}"))
    return dict(zip(chosen, (float(w) for w in weights), strict=True))


def _site_labels(ctx, sites: pd.DataFrame) -> list[str]:  # noqa: ANN001
    """ "S1 · Mărăști · DEMO": id, name, and the demo tag in the reader's language (a demo
    parcel's name is a place, not a proposal)."""
    tag = f" · {ctx.t('sites.page.demo_tag')}"
    return [
        f"{s} · {n}" + (tag if d else "")
        for s, n, d in zip(sites["site_id"], sites["name"], sites["is_demo"], strict=True)
    ]


def _ranked_table(ctx, result) -> pd.DataFrame:  # noqa: ANN001
    table = result.ranked()
    reasons = {
        i: "; ".join(e.message(ctx.lang) for e in found)
        for i, found in enumerate(result.exclusions)
    }
    return pd.DataFrame(
        {
            ctx.t("sites.page.col.rank"): [str(int(r)) if r else "–" for r in table["rank"]],
            ctx.t("sites.page.col.site"): _site_labels(ctx, table),
            # Text in the reader's notation ("0,827" in ro and hu; "–" for an excluded site).
            ctx.t("sites.page.col.score"): [number(v, ctx.lang, 3) for v in table["score"]],
            ctx.t("sites.page.col.p_first"): [number(v, ctx.lang, 2) for v in table["p_first"]],
            ctx.t("sites.page.col.p_top3"): [number(v, ctx.lang, 2) for v in table["p_top3"]],
            ctx.t("sites.page.col.chosen"): table["chosen"],
            ctx.t("sites.page.col.excluded"): [reasons.get(i, "") for i in table.index],
        }
    )


def _comparison(ctx, result, names: dict) -> None:  # noqa: ANN001
    table = result.comparison
    shown = pd.DataFrame(
        {
            ctx.t("sites.page.col.site"): [names[s] for s in table["site_id"]],
            ctx.t("sites.page.col.rank_planners"): table["rank_a"].replace(0, 99),
            ctx.t("sites.page.col.rank_community"): [str(r) if r else "–" for r in table["rank_b"]],
            ctx.t("sites.page.col.change"): table["rank_change"],
            ctx.t("sites.page.col.disagree"): table["disagree"],
        }
    ).sort_values(ctx.t("sites.page.col.rank_planners"))
    column = ctx.t("sites.page.col.rank_planners")
    shown[column] = [str(r) if r != 99 else "–" for r in shown[column]]
    n = int(table["disagree"].sum())
    st.caption(ctx.t("sites.page.disagree", n=n) if n else ctx.t("sites.page.agree"))
    st.dataframe(shown, hide_index=True, width="stretch", key="house_compare")


def _weights_side_by_side(ctx, planners: dict, community: dict, available: set) -> None:  # noqa: ANN001
    codes = [
        c for c in CRITERIA.codes if c in available and (planners.get(c, 0) or community.get(c, 0))
    ]
    total_a = sum(planners.get(c, 0) for c in codes) or 1.0
    total_b = sum(community.get(c, 0) for c in codes) or 1.0
    st.dataframe(
        pd.DataFrame(
            {
                ctx.t("sites.page.col.criterion"): [CRITERIA.get(c).label(ctx.lang) for c in codes],
                ctx.t("sites.page.planners_weights"): [
                    round(planners.get(c, 0) / total_a, 3) for c in codes
                ],
                ctx.t("sites.page.community_weights"): [
                    round(community.get(c, 0) / total_b, 3) for c in codes
                ],
            }
        ),
        hide_index=True,
        width="stretch",
        key="house_weights_table",
    )


def _downloads(ctx, ranking, result) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as folder:
        csv = write_outputs(result, CRITERIA, Path(folder) / "ranked.csv")["csv"].read_bytes()
    cols = st.columns(3)
    cols[0].download_button(ctx.t("sites.page.csv"), csv, "ranked.csv", "text/csv", key="house_csv")
    # The PDF takes a second or two: made on request, not on every rerun of the page.
    if cols[1].button(ctx.t("sites.page.report"), key="house_pdf_make"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.pdf"
            pdf = site_report_pdf(result, CRITERIA, ctx.community, path, ctx.lang).read_bytes()
        cols[1].download_button(
            "⬇ " + ctx.t("sites.page.report"),
            pdf,
            f"housing_sites_{ctx.lang}.pdf",
            "application/pdf",
            key="house_pdf",
        )
    if ctx.role in PLANNERS and cols[2].button(ctx.t("sites.page.store"), key="house_store"):
        run_id = store_run(ctx.engine, ctx.community, ranking, result)
        st.success(ctx.t("sites.page.stored", run=run_id))
    if ctx.role == "community" and ranking.weights_b:
        if cols[2].button(ctx.t("sites.page.store_community"), key="house_store_cw"):
            # Stored as the community's own run: its weights are the community's set, the
            # planners' are kept beside them for the comparison.
            own = dataclasses.replace(ranking, weights=ranking.weights_b, weights_b=ranking.weights)
            run_id = store_run(ctx.engine, ctx.community, own, own.solve())
            st.success(ctx.t("sites.page.stored", run=run_id))


def _surface(ctx, ranking, context_) -> None:  # noqa: ANN001
    from geo.planning.sites.surface import suitability_surface

    with st.expander(ctx.t("sites.page.surface")):
        st.caption(ctx.t("sites.page.surface_help"))
        if st.button(ctx.t("sites.page.surface_button"), key="house_surface"):
            with tempfile.TemporaryDirectory() as folder, st.spinner(ctx.t("sites.page.computing")):
                out = suitability_surface(
                    ctx.community, context_, CRITERIA, ranking.weights, Path(folder) / "s.tif"
                )
                data = out.path.read_bytes()
            st.download_button(
                ctx.t("sites.page.surface_download"),
                data,
                "suitability.tif",
                "image/tiff",
                key="house_tif",
            )


def _weights(ctx, planners: dict, available: set[str], stored) -> tuple[dict, dict | None]:  # noqa: ANN001
    """The weights section: the community's own sliders, or the planners' sliders or AHP.

    ``stored`` is the community's last stored run: its weights start the community's sliders
    and are the planners' comparison until a workshop's weights file is uploaded.
    """
    own = dict(stored.params.get("weights") or {}) if stored is not None else None
    if ctx.role == "community":
        st.subheader(ctx.t("sites.page.view_community"))
        with st.expander(ctx.t("sites.page.community_weights"), expanded=True):
            return planners, _sliders(ctx, "house_cw", own or planners, available)
    st.subheader(ctx.t("sites.page.view_planner"))
    community_weights = own
    if own is not None:
        st.caption(ctx.t("sites.page.community_from_run", date=str(stored.finished_at)[:16]))
    with st.expander(ctx.t("sites.page.weights"), expanded=False):
        mode = st.radio(
            ctx.t("sites.page.weights_source"),
            ["sliders", "ahp"],
            horizontal=True,
            format_func=lambda m: ctx.t(f"sites.page.{m}"),
            key="house_wmode",
        )
        if mode == "ahp":
            weights = _ahp(ctx, [c for c in CRITERIA.codes if c in available])
            if weights is None:
                st.stop()
        else:
            weights = _sliders(ctx, "house_pw", planners, available)
    if ctx.role in PLANNERS:
        upload = st.sidebar.file_uploader(
            ctx.t("sites.page.community_weights_file"), type=["json"], key="house_cwf"
        )
        if upload is not None:
            try:
                community_weights = dict(json.loads(upload.getvalue()).get("weights", {}))
            except (ValueError, AttributeError):
                st.error(ctx.t("sites.page.bad_file", reason=upload.name))
    return weights, community_weights


def _results(ctx, result, context_) -> None:  # noqa: ANN001
    """The map and the ranked table."""
    if result.too_few:
        st.warning(result.message(ctx.lang))
    left, right = st.columns([3, 2])
    with left:
        st_folium(
            sites_map(result, ctx.community, context_, ctx.lang, online=ctx.online),
            height=520,
            width=None,
            returned_objects=[],
            key="house_map",
        )
    with right:
        st.subheader(ctx.t("sites.page.ranked"))
        st.dataframe(
            _ranked_table(ctx, result), hide_index=True, width="stretch", key="house_table"
        )
        dropped = [
            f"{CRITERIA.get(c).label(ctx.lang)} ({ctx.t(key)})"
            for c, key in result.dropped.items()
            if key != "sites.note.zero_weight"
        ]
        if dropped:
            st.caption(ctx.t("sites.page.not_scored", items="; ".join(dropped)))


def _site_details(ctx, result, names: dict) -> None:  # noqa: ANN001
    """One site's criteria: the chart and its raw and normalised values."""
    st.subheader(ctx.t("sites.page.chart"))
    pick = st.selectbox(
        ctx.t("sites.page.pick_site"),
        list(result.ranked().index),
        format_func=lambda i: names[result.sites.loc[i, "site_id"]],
        key="house_pick",
    )
    left, right = st.columns([3, 2])
    left.image(criteria_chart(result, CRITERIA, pick, ctx.lang), width="stretch")
    row = result.sites.loc[pick]
    right.dataframe(
        pd.DataFrame(
            {
                ctx.t("sites.page.col.criterion"): [
                    CRITERIA.get(c).label(ctx.lang) for c in CRITERIA.codes
                ],
                ctx.t("sites.page.col.value"): [
                    value_text(float(row[c]), CRITERIA.get(c).unit, ctx.lang)
                    for c in CRITERIA.codes
                ],
                ctx.t("sites.page.col.normalised"): [row.get(f"{c}_norm") for c in CRITERIA.codes],
            }
        ),
        hide_index=True,
        width="stretch",
        key="house_values",
    )


def main() -> None:
    """The page."""
    ctx = context()
    st.title(ctx.t("sites.page.title"))
    st.caption(ctx.t("sites.page.intro"))
    last, last_community = _last_runs(ctx)
    data, suffix = _sites_bytes(ctx, last)
    try:
        with st.spinner(ctx.t("sites.page.computing")):
            base, context_ = _base(
                ctx.engine,
                ctx.community,
                ctx.community.id,
                ctx.role,
                hashlib.sha256(data).hexdigest(),
                data,
                suffix,
            )
    except HartaError as error:
        st.error(ctx.t("sites.page.bad_file", reason=error.message(ctx.lang)))
        st.stop()
    available = {c for c in CRITERIA.codes if base.values.values[c].notna().any()}
    planners = (
        dict(last.params.get("weights") or {}) if last is not None else CRITERIA.default_weights()
    )
    method = st.sidebar.selectbox(
        ctx.t("sites.page.method"),
        ["topsis", "wsm"],
        format_func=lambda m: ctx.t(f"sites.method.{m}"),
        key="house_method",
    )
    k = st.sidebar.number_input(ctx.t("sites.page.k"), 1, 10, 3, key="house_k")
    gap = st.sidebar.number_input(
        ctx.t("sites.page.min_distance"), 0, 5000, 500, step=100, key="house_gap"
    )
    top = st.container()  # the results go above the weights that make them
    weights, community_weights = _weights(ctx, planners, available, last_community)
    if ctx.role == "community":
        st.caption(
            ctx.t("sites.page.planners_from_run", date=str(last.finished_at)[:16])
            if last
            else ctx.t("sites.page.planners_default")
        )
    if not any(weights.values()):
        st.warning(ctx.t("sites.note.no_criteria"))
        st.stop()
    ranking = dataclasses.replace(
        base,
        weights=weights,
        method=method,
        weights_b=community_weights or None,
        k=int(k),
        min_distance_m=float(gap),
    )
    result = ranking.solve()
    with top:
        _results(ctx, result, context_)
    names = dict(zip(result.sites["site_id"], _site_labels(ctx, result.sites), strict=True))
    st.subheader(ctx.t("sites.page.compare"))
    if result.comparison is not None:
        _weights_side_by_side(ctx, weights, community_weights, available)
        _comparison(ctx, result, names)
    else:
        st.caption(ctx.t("sites.page.compare_none"))
    if result.used:
        _site_details(ctx, result, names)
    _downloads(ctx, ranking, result)
    if ctx.role in PLANNERS:
        _surface(ctx, ranking, context_)


main()
