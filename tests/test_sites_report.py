"""Housing sites: the printable site report (PDF) in ro, hu and en."""

from __future__ import annotations

from pathlib import Path

import fitz  # pymupdf
import pytest

from geo import crs as crs_
from geo.communities import read_boundary
from geo.communities.model import Community
from geo.i18n import t
from geo.planning.sites.inputs import DEMO_SITES_FILE, read_sites
from geo.planning.sites.rank import SiteRanking
from geo.reports.site_report import site_report_pdf

PATA_RAT = Path(__file__).resolve().parents[1] / "data" / "communities" / "pata-rat"


@pytest.fixture(scope="module")
def solved():
    community = Community(
        id=1, slug="pata-rat", name="Pata Rât", kind="community", parent_id=None,
        parent_slug=None, settlement_ids=(), timezone="Europe/Bucharest",
        crs=crs_.to_crs(32634), geometry=read_boundary(PATA_RAT / "boundary.geojson"),
        source_dir=str(PATA_RAT),
    )  # fmt: skip
    ranking = SiteRanking.from_data(community, read_sites(DEMO_SITES_FILE, community), draws=100)
    return community, ranking, ranking.solve()


@pytest.mark.parametrize("lang", ["ro", "hu", "en"])
def test_report_has_a_summary_and_a_page_per_site_in_the_language(solved, tmp_path, lang):
    community, ranking, result = solved
    path = site_report_pdf(result, ranking.criteria, community, tmp_path / f"r_{lang}.pdf", lang)
    doc = fitz.open(path)
    assert doc.page_count == 1 + len(result.sites)
    first = doc[0].get_text()
    assert t("sites.report.title", lang, community="Pata Rât") in first.replace("\n", " ")
    text = " ".join(page.get_text() for page in doc).replace("\n", " ")
    for row in result.sites.itertuples():
        assert row.name in text
    # The excluded parcel's page says why, in the reader's language.
    excluded = result.sites[result.sites["excluded"]]
    assert len(excluded) == 1
    reason = ranking.exclusions[excluded.index[0]][0].message(lang)
    assert reason in text
    # One chart image per site page.
    assert all(len(doc[i].get_images()) == 1 for i in range(1, doc.page_count))
