"""The printed safety plan of a community: PDF (fpdf2, A4 portrait) and a self-contained HTML page.

:func:`publish_plan` assembles the plan from stored runs
(:func:`geo.planning.response.plan.assemble_plan`), records it as a run of kind ``response_plan``
(version, language, the source run ids), writes ``plan-<id>.pdf`` and ``plan-<id>.html`` into the
run's folder and finishes the run.  :func:`plan_pdf` and :func:`plan_html` print an assembled
plan; :func:`plan_map_png` draws its static map with matplotlib from the GeoDataFrames and the
community's bundled streets (no internet tiles).

Every text is in the plan's language (ro, hu, en) through :func:`geo.i18n.t` and the safety data
files; numbers and dates as that language writes them.  Text from data (names, streets) is
written as characters in the PDF and escaped in the HTML.  What a plan never holds (incidents, a
focal point's house) is decided where it is assembled (:mod:`geo.planning.response.plan`).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from fpdf import FPDF  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from geo import escape, runs, taxonomy  # noqa: E402
from geo.communities.model import Community  # noqa: E402
from geo.i18n import community_name, date, number, t  # noqa: E402
from geo.planning.response import evacuation as evac  # noqa: E402
from geo.planning.response import plan as plan_  # noqa: E402
from geo.reports.pdf import ATTRIBUTION, FONT, draw_table, font_files  # noqa: E402

#: Side of a home's published cell, drawn around its centre (metres; harta_responder_cell_m).
HOME_CELL_M = 250.0
#: Map margin around the drawn layers, metres.
MAP_MARGIN_M = 150.0
ROUTE_WIDTH = 2.6
STREET_COLOUR = "#9e9e9e"


@dataclass(frozen=True)
class PublishedPlan:
    """A printed, stored plan: its run id, version and files."""

    run_id: int
    version: int
    pdf: Path
    html: Path


# -- the map ----------------------------------------------------------------------------------


def _metric(frame: gpd.GeoDataFrame, community: Community) -> gpd.GeoDataFrame:
    if frame is None or frame.empty:
        return gpd.GeoDataFrame(geometry=[], crs=community.crs)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    return frame.to_crs(community.crs)


def plan_map_png(plan: plan_.SafetyPlan, lang: str, *, width_in: float = 7.5) -> bytes:
    """The plan's map as a PNG: streets, settlements, risk zones, hazards, routes, assembly
    points and responders (homes as their published cell).

    Parameters
    ----------
    plan : SafetyPlan
    lang : str
    width_in : float
        Figure width in inches (150 dpi).

    Returns
    -------
    bytes
    """
    community = plan.community
    fig, ax = plt.subplots(figsize=(width_in, width_in * 0.8), dpi=150)
    handles: list = []
    extent = [_metric(gpd.GeoDataFrame(geometry=[community.geometry], crs=4326), community)]
    _metric(plan.streets, community).plot(ax=ax, color=STREET_COLOUR, linewidth=0.6, zorder=1)
    settlements = _metric(plan.settlements, community)
    if len(settlements):
        settlements.plot(ax=ax, facecolor="#eceff1", edgecolor="#607d8b", linewidth=0.8, zorder=2)
        for row in settlements.itertuples():
            p = row.geometry.representative_point()
            ax.annotate(
                _settlement_name(row, lang),
                (p.x, p.y),
                fontsize=6.5,
                ha="center",
                zorder=9,
                color="#263238",
            )
    zones = _metric(plan.zones, community)
    for hazard in plan.hazards:
        mine = zones[zones["hazard_code"] == hazard] if len(zones) else zones
        if len(mine):
            colour = taxonomy.colour("hazard", hazard)
            areal = mine[mine.geom_type.isin(["Polygon", "MultiPolygon"])]
            marks = mine[~mine.index.isin(areal.index)]
            if len(areal):
                areal.plot(
                    ax=ax, color=colour, alpha=0.18, edgecolor=colour, linewidth=0.5, zorder=3
                )
            if len(marks):
                marks.buffer(evac.MARK_BUFFER_M).plot(ax=ax, color=colour, alpha=0.35, zorder=3)
            handles.append(
                Patch(color=colour, alpha=0.4, label=taxonomy.label("hazard", hazard, lang))
            )
    for number_, item in enumerate(plan.evacuations, 1):
        colour = taxonomy.colour("hazard", item.scenario)
        hazard = _metric(item.hazard, community)
        if len(hazard):
            hazard.plot(
                ax=ax, facecolor="none", edgecolor=colour, hatch="///", linewidth=1.0, zorder=4
            )
        routes = _metric(item.routes[item.routes["reachable"].astype(bool)], community)
        if len(routes):
            routes.plot(ax=ax, color=colour, linewidth=ROUTE_WIDTH, alpha=0.9, zorder=6)
            extent.append(routes)
        handles.append(
            Line2D(
                [],
                [],
                color=colour,
                linewidth=ROUTE_WIDTH,
                label=t("response.plan.legend.route", lang, n=number_),
            )
        )
    assembly = _assembly_points(plan, community)
    if len(assembly):
        assembly.plot(
            ax=ax, marker="^", color="#2e7d32", markersize=70, edgecolor="white", zorder=8
        )
        for i, row in enumerate(assembly.itertuples(), 1):
            ax.annotate(
                str(i),
                (row.geometry.x, row.geometry.y),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                weight="bold",
                zorder=9,
            )
        extent.append(assembly)
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                color="#2e7d32",
                linestyle="",
                label=t("response.plan.legend.assembly", lang),
            )
        )
    _draw_responders(ax, plan, community, handles, lang)
    _frame_axes(ax, extent)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.01),
        ncol=3,
        fontsize=6,
        frameon=False,
    )
    ax.text(0.99, 0.01, ATTRIBUTION, transform=ax.transAxes, ha="right", va="bottom", fontsize=5)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _assembly_points(plan: plan_.SafetyPlan, community: Community) -> gpd.GeoDataFrame:
    """Every assembly point of the plan's scenarios, once (numbered in this order)."""
    frames = [e.assembly for e in plan.evacuations if len(e.assembly)]
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs=community.crs)
    merged = gpd.GeoDataFrame(
        gpd.pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
    ).drop_duplicates("assembly_id")
    return _metric(merged.reset_index(drop=True), community)


def _draw_responders(ax, plan, community, handles, lang) -> None:  # noqa: ANN001
    responders = _metric(plan.responders, community)
    if not len(responders):
        return
    for kind in sorted(set(responders["kind"])):
        mine = responders[responders["kind"] == kind]
        colour = _kind_colour(kind)
        homes = mine[mine["at_home"].astype(bool)]
        others = mine[~mine["at_home"].astype(bool)]
        if len(others):
            others.plot(ax=ax, marker="o", color=colour, markersize=28, edgecolor="white", zorder=7)
        if len(homes):
            # A home is only ever its published cell (never the house): drawn as that square.
            homes.buffer(HOME_CELL_M / 2, cap_style="square").plot(
                ax=ax, facecolor=colour, alpha=0.25, edgecolor=colour, linestyle="--", zorder=5
            )
        handles.append(
            Line2D([], [], marker="o", color=colour, linestyle="", label=_kind_label(kind, lang))
        )


def _kind_colour(kind: str) -> str:
    try:
        return taxonomy.colour("facility_kind", kind)
    except KeyError:
        return "#37474f"


def _kind_label(kind: str, lang: str) -> str:
    return t(f"response.responders.kind.{kind}", lang)


def _frame_axes(ax, frames: list[gpd.GeoDataFrame]) -> None:  # noqa: ANN001
    bounds = [f.total_bounds for f in frames if len(f)]
    x0 = min(b[0] for b in bounds) - MAP_MARGIN_M
    y0 = min(b[1] for b in bounds) - MAP_MARGIN_M
    x1 = max(b[2] for b in bounds) + MAP_MARGIN_M
    y1 = max(b[3] for b in bounds) + MAP_MARGIN_M
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    # Scale bar: 500 m (or 200 m on a small map) at the top left, and a north arrow.
    bar = 500.0 if x1 - x0 > 1500 else 200.0
    ax.plot([x0 + 100, x0 + 100 + bar], [y1 - 120, y1 - 120], color="black", linewidth=2)
    ax.text(x0 + 100 + bar / 2, y1 - 100, f"{int(bar)} m", ha="center", va="bottom", fontsize=6)
    ax.annotate(
        "N",
        xy=(x1 - 80, y1 - 60),
        xytext=(x1 - 80, y1 - 260),
        ha="center",
        fontsize=8,
        arrowprops={"arrowstyle": "-|>", "color": "black"},
    )


# -- the content, shared by PDF and HTML --------------------------------------------------------


def _minutes(seconds: object, lang: str) -> str:
    if seconds is None or seconds != seconds:  # None or NaN
        return t("response.plan.unreachable", lang)
    return t("response.plan.minutes", lang, minutes=number(float(seconds) / 60, lang, 1))


def _header_lines(plan: plan_.SafetyPlan, lang: str) -> list[str]:
    created = plan.created_at.astimezone(plan.community.tz)
    ids = plan.run_ids
    evac_ids = ", ".join(f"#{i}" for i in ids["evacuation"]) or "–"
    return [
        t("response.plan.version", lang, version=plan.version, date=date(created, lang)),
        t(
            "response.plan.sources",
            lang,
            coverage=f"#{ids['coverage']}" if ids["coverage"] else "–",
            evacuation=evac_ids,
        ),
    ]


def _coverage_rows(plan: plan_.SafetyPlan, lang: str) -> list[list[str]]:
    head = [t(f"response.plan.col.{c}", lang) for c in ("settlement", "covered", "backup", "worst")]
    rows = [head]
    frame = plan.settlements
    for row in frame.itertuples():
        rows.append(
            [
                _settlement_name(row, lang),
                f"{number(100 * row.covered_share, lang)} %",
                f"{number(100 * row.backup_share, lang)} %",
                _minutes(row.worst_s, lang),
            ]
        )
    return rows


def _settlement_name(row, lang: str) -> str:  # noqa: ANN001
    """A settlement's name as ``lang`` writes it ("Rampa (groapa de gunoi)")."""
    slug = getattr(row, "settlement", None) or getattr(row, "slug", None) or ""
    return community_name(str(slug), str(row.name), lang)


def _coverage_caption(plan: plan_.SafetyPlan, lang: str) -> str:
    params = plan.coverage_params
    kinds = params.get("kinds") or []
    kinds_text = ", ".join(_kind_label(k, lang) for k in kinds) or t(
        "response.plan.all_kinds", lang
    )
    return t(
        "response.plan.coverage.caption",
        lang,
        minutes=number(params.get("minutes", 0), lang),
        kinds=kinds_text,
        when=params.get("when") or t("response.plan.any_time", lang),
    )


def _route_rows(plan: plan_.SafetyPlan, lang: str) -> list[list[str]]:
    table = plan_.route_table(plan, lang)
    head = [
        t(f"response.plan.col.{c}", lang)
        for c in ("scenario", "place", "assembly", "time", "streets")
    ]
    rows = [head]
    for row in table.itertuples():
        time_text = _minutes(row.minutes * 60 if row.minutes is not None else None, lang)
        rows.append([row.scenario, str(row.place), row.assembly, time_text, row.streets])
    return rows


def _escalation_rows(lang: str) -> list[list[str]]:
    head = [t(f"response.plan.col.{c}", lang) for c in ("step", "who", "action", "contact")]
    return [head] + [
        [str(i), s["who"], s["action"], s["contact"] or "–"]
        for i, s in enumerate(plan_.escalation(lang), 1)
    ]


# -- PDF ----------------------------------------------------------------------------------------


def _pdf() -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    regular, bold = font_files()
    pdf.add_font(FONT, "", regular)
    pdf.add_font(FONT, "B", bold)
    pdf.set_margins(14, 14, 14)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_creator("Harta")
    return pdf


def _heading(pdf: FPDF, text: str, size: float = 13) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(21, 56, 102)
    pdf.multi_cell(0, size * 0.5, text, markdown=False, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)


def _para(pdf: FPDF, text: str, size: float = 9) -> None:
    pdf.set_font(FONT, "", size)
    pdf.multi_cell(0, size * 0.48, text, markdown=False, new_x="LMARGIN", new_y="NEXT")


def plan_pdf(plan: plan_.SafetyPlan, lang: str) -> bytes:
    """The plan as an A4 PDF in ``lang``.

    Parameters
    ----------
    plan : SafetyPlan
    lang : str

    Returns
    -------
    bytes
    """
    pdf = _pdf()
    pdf.set_title(t("response.plan.title", lang, community=plan.community.name))
    pdf.add_page()
    _heading(pdf, t("response.plan.title", lang, community=plan.community.name), 17)
    for line in _header_lines(plan, lang):
        _para(pdf, line)
    _heading(pdf, t("response.plan.map.heading", lang))
    pdf.image(io.BytesIO(plan_map_png(plan, lang)), x=pdf.l_margin, w=pdf.epw)
    _para(pdf, t("response.plan.map.note", lang), 7.5)
    _heading(pdf, t("response.plan.coverage.heading", lang))
    if plan.coverage_run_id is None:
        _para(pdf, t("response.plan.coverage.none", lang))
    else:
        _para(pdf, _coverage_caption(plan, lang))
        draw_table(pdf, _coverage_rows(plan, lang), (70, 35, 35, 42))
    _heading(pdf, t("response.plan.routes.heading", lang))
    if not plan.evacuations:
        _para(pdf, t("response.plan.routes.none", lang))
    else:
        _para(pdf, t("response.plan.routes.caption", lang))
        draw_table(pdf, _route_rows(plan, lang), (28, 30, 38, 18, 68))
    _heading(pdf, t("response.plan.checklists.heading", lang))
    for hazard in plan.hazards or ["other"]:
        pdf.set_font(FONT, "B", 10)
        pdf.multi_cell(
            0,
            5,
            taxonomy.label("hazard", hazard, lang),
            markdown=False,
            new_x="LMARGIN",
            new_y="NEXT",
        )
        for item in plan_.checklist(hazard, lang):
            _para(pdf, f"☐ {item}")
        pdf.ln(1)
    _heading(pdf, t("response.plan.escalation.heading", lang))
    draw_table(pdf, _escalation_rows(lang), (14, 50, 96, 22))
    pdf.ln(2)
    _para(pdf, t("response.plan.privacy_note", lang), 7.5)
    _para(pdf, f"{ATTRIBUTION}. {t('response.plan.approximate_note', lang)}", 7.5)
    return bytes(pdf.output())


# -- HTML ---------------------------------------------------------------------------------------


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape.html(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape.html(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:60rem;margin:1rem auto;"
    "padding:0 1rem;color:#1b1b1b}h1,h2{color:#153866}table{border-collapse:collapse;"
    "width:100%;font-size:.9rem}th,td{border:1px solid #999;padding:.25rem .4rem;"
    "text-align:left;vertical-align:top}th{background:#c8d7eb}img{max-width:100%}"
    ".note{font-size:.8rem;color:#444}ul.check{list-style:'☐ '}"
)


def plan_html(plan: plan_.SafetyPlan, lang: str) -> str:
    """The plan as one self-contained HTML page in ``lang`` (the map embedded, no outside link).

    Parameters
    ----------
    plan : SafetyPlan
    lang : str

    Returns
    -------
    str
    """
    e = escape.html
    title = t("response.plan.title", lang, community=plan.community.name)
    image = base64.b64encode(plan_map_png(plan, lang)).decode("ascii")
    parts = [
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        *(f"<p>{e(line)}</p>" for line in _header_lines(plan, lang)),
        f"<h2>{e(t('response.plan.map.heading', lang))}</h2>",
        f'<img alt="{e(t("response.plan.map.heading", lang))}"'
        f' src="data:image/png;base64,{image}">',
        f'<p class="note">{e(t("response.plan.map.note", lang))}</p>',
        f"<h2>{e(t('response.plan.coverage.heading', lang))}</h2>",
    ]
    if plan.coverage_run_id is None:
        parts.append(f"<p>{e(t('response.plan.coverage.none', lang))}</p>")
    else:
        parts += [
            f"<p>{e(_coverage_caption(plan, lang))}</p>",
            _html_table(_coverage_rows(plan, lang)),
        ]
    parts.append(f"<h2>{e(t('response.plan.routes.heading', lang))}</h2>")
    if not plan.evacuations:
        parts.append(f"<p>{e(t('response.plan.routes.none', lang))}</p>")
    else:
        parts += [
            f"<p>{e(t('response.plan.routes.caption', lang))}</p>",
            _html_table(_route_rows(plan, lang)),
        ]
    parts.append(f"<h2>{e(t('response.plan.checklists.heading', lang))}</h2>")
    for hazard in plan.hazards or ["other"]:
        items = "".join(f"<li>{e(i)}</li>" for i in plan_.checklist(hazard, lang))
        parts.append(
            f'<h3>{e(taxonomy.label("hazard", hazard, lang))}</h3><ul class="check">{items}</ul>'
        )
    parts += [
        f"<h2>{e(t('response.plan.escalation.heading', lang))}</h2>",
        _html_table(_escalation_rows(lang)),
        f'<p class="note">{e(t("response.plan.privacy_note", lang))}</p>',
        f'<p class="note">{e(ATTRIBUTION)}. {e(t("response.plan.approximate_note", lang))}</p>',
        "</body></html>",
    ]
    return "\n".join(parts)


# -- storing ------------------------------------------------------------------------------------


def publish_plan(
    engine: Engine,
    community: Community,
    lang: str,
    *,
    coverage_run_id: int | None = None,
    evacuation_run_ids: list[int] | None = None,
) -> PublishedPlan:
    """Assemble, print and store the community's next plan version.

    Parameters
    ----------
    engine : Engine
        Acting as the reader's role.
    community : Community
    lang : {"ro", "hu", "en"}
    coverage_run_id, evacuation_run_ids : optional
        The stored runs to print (default: the newest of each; see
        :func:`geo.planning.response.plan.assemble_plan`).

    Returns
    -------
    PublishedPlan
    """
    plan = plan_.assemble_plan(
        engine, community, coverage_run_id=coverage_run_id, evacuation_run_ids=evacuation_run_ids
    )
    params = plan_.plan_params(plan, lang)
    run_id = plan_.start_plan_run(engine, plan, lang)
    try:
        folder = runs.run_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        pdf = folder / f"plan-{community.slug}-v{plan.version}-{lang}.pdf"
        pdf.write_bytes(plan_pdf(plan, lang))
        html = folder / f"plan-{community.slug}-v{plan.version}-{lang}.html"
        html.write_text(plan_html(plan, lang), encoding="utf-8")
    except BaseException as error:
        runs.fail_run(engine, run_id, error, params=params)
        raise
    counts = {
        "routes": sum(len(e.routes) for e in plan.evacuations),
        "responders": len(plan.responders),
        "zones": len(plan.zones),
    }
    runs.finish_run(
        engine, run_id, params=params, input_counts=counts, outputs={"pdf": pdf, "html": html}
    )
    return PublishedPlan(run_id, plan.version, pdf, html)
