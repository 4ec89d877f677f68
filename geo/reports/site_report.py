"""The printable housing-site report (PDF, ro/hu/en): the ranking, then one page per site.

Page 1: the run (community, method, date), the weights as used, the ranked table with the
probabilities of ranking first and in the top three (Monte Carlo), the chosen dispersed set, the
criteria that did not score and why, and the data caveats.  Then one page per site: its facts,
exclusion reasons if any, and a chart of every scored criterion (matplotlib, embedded as PNG)
showing where the site stands among all the candidates (0 = the worst candidate, 1 = the best),
with its raw value and unit.  Every text goes through :func:`geo.i18n.t`; fonts are Harta's
(:mod:`geo.reports.pdf`), so Romanian and Hungarian letters print.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from fpdf.enums import XPos, YPos  # noqa: E402

from geo.i18n import number, t  # noqa: E402
from geo.reports.pdf import ATTRIBUTION, FONT, draw_table, new_pdf  # noqa: E402

if TYPE_CHECKING:
    from geo.communities.model import Community
    from geo.planning.sites.criteria import CriteriaSet
    from geo.planning.sites.rank import SiteRankingResult

CAVEATS = (
    "sites.report.caveat_landfill",
    "sites.report.caveat_schools",
    "sites.report.caveat_proxy",
    "sites.report.caveat_demo",
)


def _fmt(value: float, lang: str, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return number(float(value), lang, decimals)


def value_text(value: float, unit: str, lang: str) -> str:
    """A raw criterion value with its unit as a reader expects it (shares as per cent).

    Parameters
    ----------
    value : float
    unit : str
    lang : str

    Returns
    -------
    str
    """
    if unit == "share":
        return "–" if not np.isfinite(value) else f"{_fmt(100 * value, lang, 0)} %"
    if unit == "count":
        return _fmt(value, lang, 0)
    return f"{_fmt(value, lang, 0 if unit in ('m', 'EUR') else 1)} {unit}"


def criteria_chart(
    result: SiteRankingResult, criteria: CriteriaSet, site_index: int, lang: str
) -> io.BytesIO:
    """PNG bar chart of one site's standing on every scored criterion.

    Parameters
    ----------
    result : SiteRankingResult
    criteria : CriteriaSet
    site_index : int
        Row of ``result.sites``.
    lang : str

    Returns
    -------
    io.BytesIO
        PNG bytes.
    """
    codes = list(result.used)
    table = result.sites
    labels, standing, raw = [], [], []
    for code in codes:
        c = criteria.get(code)
        col = table[code].to_numpy(float)
        value = col[site_index]
        lo, hi = np.nanmin(col), np.nanmax(col)
        if not np.isfinite(value):
            s = 0.0
        elif hi == lo:
            s = 1.0
        else:
            s = (value - lo) / (hi - lo) if c.benefit else (hi - value) / (hi - lo)
        labels.append(c.label(lang))
        standing.append(s)
        raw.append(value_text(value, c.unit, lang))
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(codes) + 1.0), dpi=150)
    y = np.arange(len(codes))[::-1]
    ax.barh(y, standing, color=["#2b8cbe" if s >= 0.5 else "#f0a830" for s in standing])
    for yy, s, text in zip(y, standing, raw, strict=True):
        ax.text(s + 0.01, yy, text, va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlim(0, 1.25)
    ax.set_xticks([0, 0.5, 1.0])
    ax.set_xlabel(t("sites.report.chart_axis", lang), fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    buffer.seek(0)
    return buffer


def site_report_pdf(
    result: SiteRankingResult,
    criteria: CriteriaSet,
    community: Community,
    path: str | Path,
    lang: str = "ro",
    *,
    when: dt.datetime | None = None,
) -> Path:
    """Write the report (see the module docstring).

    Parameters
    ----------
    result : SiteRankingResult
    criteria : CriteriaSet
    community : Community
    path : str or Path
    lang : str
    when : datetime, optional
        The run's time (default now).

    Returns
    -------
    Path
    """
    pdf = new_pdf("A4")
    _summary_page(pdf, result, criteria, community, lang, when or dt.datetime.now(dt.UTC))
    for i in result.ranked().index:
        _site_page(pdf, result, criteria, i, lang)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    return out


def _heading(pdf, text: str, size: float = 14) -> None:  # noqa: ANN001
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _para(pdf, text: str, size: float = 8) -> None:  # noqa: ANN001
    pdf.set_font(FONT, "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _summary_page(pdf, result, criteria, community, lang, when) -> None:  # noqa: ANN001
    pdf.add_page()
    _heading(pdf, t("sites.report.title", lang, community=community.name))
    method = result.params.get("method", "topsis")
    _para(
        pdf,
        t(
            "sites.report.subtitle",
            lang,
            method=t(f"sites.method.{method}", lang),
            date=when.strftime("%Y-%m-%d %H:%M UTC"),
        ),
    )
    if result.too_few:
        _para(pdf, result.message(lang) or "", 10)
    pdf.ln(2)
    rows = [
        [
            t("sites.report.rank", lang),
            t("sites.report.site", lang),
            t("sites.report.score", lang),
            t("sites.report.p_first", lang),
            t("sites.report.p_top3", lang),
            t("sites.report.chosen", lang),
            t("sites.report.excluded", lang),
        ]
    ]
    reasons = {
        i: "; ".join(e.message(lang) for e in found) for i, found in enumerate(result.exclusions)
    }
    for i, row in result.ranked().iterrows():
        rows.append(
            [
                str(int(row["rank"])) if row["rank"] else "–",
                f"{row['site_id']} · {row['name']}",
                _fmt(row["score"], lang, 3),
                _fmt(row["p_first"], lang, 2),
                _fmt(row["p_top3"], lang, 2),
                t("sites.report.yes", lang) if row["chosen"] else "",
                reasons.get(i, ""),
            ]
        )
    draw_table(pdf, rows, (12, 62, 18, 18, 18, 16, 133))
    pdf.ln(2)
    if result.selection is not None and result.selection.feasible:
        _para(
            pdf,
            t(
                "sites.report.selection",
                lang,
                k=len(result.selection.chosen),
                gap=_fmt(result.selection.min_gap_m, lang, 0),
                rule=_fmt(result.params.get("min_distance_m"), lang, 0),
            ),
        )
    weights = [
        [
            t("sites.report.criterion", lang),
            t("sites.report.direction", lang),
            t("sites.report.weight", lang),
        ]
    ]
    for code, used in result.used.items():
        weights.append(
            [
                criteria.get(code).label(lang),
                t(f"sites.direction.{used['direction']}", lang),
                _fmt(used["weight"], lang, 3),
            ]
        )
    pdf.ln(1)
    draw_table(pdf, weights, (150, 30, 25))
    pdf.ln(1)
    dropped = [
        f"{criteria.get(c).label(lang)}: {t(key, lang)}" for c, key in result.dropped.items()
    ]
    if dropped:
        _para(pdf, t("sites.report.not_scored", lang) + " " + " · ".join(dropped), 7)
    for key in CAVEATS:
        _para(pdf, "• " + t(key, lang), 7)
    _para(pdf, ATTRIBUTION + ". ESA WorldCover 2020 (CC BY 4.0). " + t("sites.report.ctp", lang), 6)


def _site_page(pdf, result, criteria, i: int, lang: str) -> None:  # noqa: ANN001
    row = result.sites.loc[i]
    pdf.add_page()
    _heading(pdf, f"{row['site_id']} · {row['name']}", 13)
    facts = t(
        "sites.report.facts",
        lang,
        area=_fmt(row["area_m2"], lang, 0),
        ownership=row["ownership"] or "–",
        capacity=_fmt(row["capacity"], lang, 0),
        cost=_fmt(row["cost_eur"], lang, 0),
    )
    _para(pdf, facts, 9)
    if row.get("is_demo"):
        _para(pdf, t("sites.report.demo_site", lang), 8)
    if row["excluded"]:
        pdf.set_text_color(170, 0, 0)
        _para(
            pdf,
            t("sites.report.excluded_because", lang)
            + " "
            + "; ".join(e.message(lang) for e in result.exclusions[i]),
            9,
        )
        pdf.set_text_color(0, 0, 0)
    else:
        _para(
            pdf,
            t(
                "sites.report.standing",
                lang,
                rank=int(row["rank"]),
                score=_fmt(row["score"], lang, 3),
                p_first=_fmt(row["p_first"], lang, 2),
                p_top3=_fmt(row["p_top3"], lang, 2),
            ),
            9,
        )
    if result.used:
        pdf.ln(2)
        chart = criteria_chart(result, criteria, i, lang)
        ratio = (0.42 * len(result.used) + 1.0) / 9.0  # the figure's height / width
        width = min(250.0, 150.0 / ratio)
        pdf.image(chart, x=15, w=width, h=width * ratio)
        _para(pdf, t("sites.report.chart_caption", lang), 7)
