"""The safety plan (geo.planning.response.plan, geo.reports.safety_plan): built from stored runs,
printed in ro/hu/en, versioned, tied to its runs, and holding no incident and no focal point's
house -- read back from the PDF's own text (pymupdf) and the HTML, not from the code's data."""

from __future__ import annotations

import re

import pymupdf
import pytest
from shapely.geometry import Point

from geo import crs as crs_
from geo import runs
from geo.communities.model import Community
from geo.db.security import role_engine
from geo.i18n import t
from geo.planning.response import coverage, plan, responders
from geo.planning.response import evacuation as evac
from geo.reports import safety_plan
from tests.factories import insert_incident

pytestmark = pytest.mark.db

INCIDENT = (23.691234, 46.774567)  # inside Dallas / Rampa, an exact point that must never print
HOME = (23.689871, 46.775213)  # a focal person's house in Dallas (not a cell centre)


@pytest.fixture
def setting(loaded_engine, loaded_db_url, users):
    """Pata Rât with a focal point's house, an ambulance, an incident, and a planner's stored
    evacuation and coverage runs."""
    community = Community.load(loaded_engine, "pata-rat")
    responders.place_responder(
        loaded_engine, community, "community_focal_point", HOME, name="Casa doamnei Maria"
    )
    responders.place_responder(loaded_engine, community, "ambulance", (23.6805, 46.7800))
    insert_incident(loaded_engine, community.id, "domestic_violence", *INCIDENT)
    insert_incident(loaded_engine, community.id, "fire", INCIDENT[0] + 0.0003, INCIDENT[1])
    planner = role_engine(loaded_db_url, "planner", users["planner"].id)
    fire = evac.run_evacuation(planner, community, "landfill_fire_smoke")
    flood = evac.run_evacuation(planner, community, "flooding")
    cover_id, _ = coverage.run_coverage(planner, community, minutes=8)
    return {
        "community": community,
        "planner": planner,
        "evacuation": [fire.id, flood.id],
        "coverage": cover_id,
        "url": loaded_db_url,
        "users": users,
    }


def _pdf_text(path) -> str:
    with pymupdf.open(path) as doc:
        text = "\n".join(page.get_text() for page in doc)
    return re.sub(r"\s+", " ", text)


def _coordinates(text: str) -> set[str]:
    """Every decimal number with 4+ decimals that looks like a Pata Rât lon or lat."""
    return set(re.findall(r"2[34][.,]\d{4,}|46[.,]\d{4,}", text))


def test_plan_is_printed_in_each_language_with_its_runs_and_checklists(setting):
    for version, lang in enumerate(("ro", "hu", "en"), 1):
        _check_printed(setting, lang, version)


def _check_printed(setting, lang: str, version: int) -> None:
    community = setting["community"]
    published = safety_plan.publish_plan(setting["planner"], community, lang)
    text = _pdf_text(published.pdf)
    html = published.html.read_text(encoding="utf-8")
    for key in (
        "response.plan.map.heading",
        "response.plan.coverage.heading",
        "response.plan.routes.heading",
        "response.plan.checklists.heading",
        "response.plan.escalation.heading",
    ):
        assert t(key, lang) in text, key
    assert t("response.plan.title", lang, community=community.name) in text
    for item in (
        plan.checklist("landfill_fire_smoke", lang)[:3] + plan.checklist("flooding", lang)[:2]
    ):
        assert item in text
    assert plan.escalation(lang)[1]["who"] in text
    # Tied to the runs it came from: their ids in the document and in the plan's run record.
    fire_id, flood_id = setting["evacuation"]
    for run_id in (setting["coverage"], fire_id, flood_id):
        assert f"#{run_id}" in text and f"#{run_id}" in html
    stored = runs.get_run(setting["planner"], published.run_id)
    assert stored.kind == plan.KIND and stored.scope == "aggregated"
    assert stored.params["sources"] == {
        "coverage": setting["coverage"],
        "evacuation": [fire_id, flood_id],
    }
    assert stored.params["version"] == published.version == version
    assert stored.params["lang"] == lang
    assert set(stored.outputs) == {"pdf", "html"}
    # Never an exact incident or the focal person's house or name.
    for found in (text, html):
        assert not _coordinates(found)
        assert "Maria" not in found


def test_versions_count_up_per_community(setting):
    community = setting["community"]
    first = safety_plan.publish_plan(setting["planner"], community, "ro")
    second = safety_plan.publish_plan(setting["planner"], community, "hu")
    assert (first.version, second.version) == (1, 2)
    text = _pdf_text(second.pdf)
    assert "2. változat" in text


def test_a_plan_never_holds_the_focal_persons_house(setting):
    """Attack: the planner's plan map and layers draw the home only as its published cell."""
    assembled = plan.assemble_plan(setting["planner"], setting["community"])
    homes = assembled.responders[assembled.responders["at_home"].astype(bool)]
    assert len(homes) == 1
    community = setting["community"]
    house = community.to_metric_geometry(Point(HOME))
    drawn = community.to_metric_geometry(homes.geometry.iloc[0])
    assert drawn.distance(house) > 20  # the cell centre, not the house
    forward = crs_.transformer(crs_.STORAGE, crs_.to_crs(32634))
    x, y = forward.transform(*HOME)
    centre = ((x // 250) * 250 + 125, (y // 250) * 250 + 125)  # independent: the 250 m cell
    assert drawn.distance(Point(centre)) < 0.5
    assert homes["name"].isna().all()


def test_an_exact_coverage_run_is_refused(setting):
    """Attack: a mediator's coverage run used the house itself (scope ``exact``); its times could
    be worked back to the house, so a plan anyone may get refuses it, and the default ignores it."""
    community = setting["community"]
    mediator = role_engine(setting["url"], "mediator", setting["users"]["mediator"].id)
    exact_id, _ = coverage.run_coverage(mediator, community, minutes=8)
    assert runs.get_run(mediator, exact_id).scope == "exact"
    with pytest.raises(plan.PlanError) as refused:
        plan.assemble_plan(mediator, community, coverage_run_id=exact_id, evacuation_run_ids=[])
    assert str(exact_id) in refused.value.message("hu")
    coverage_id, _ = plan.latest_runs(mediator, community)
    assert coverage_id == setting["coverage"]  # the planner's aggregated run, not the newer one


def test_a_run_of_another_kind_or_community_is_refused(setting, loaded_engine):
    community = setting["community"]
    dallas = Community.load(loaded_engine, "dallas")
    with pytest.raises(plan.PlanError):
        plan.assemble_plan(setting["planner"], community, evacuation_run_ids=[setting["coverage"]])
    with pytest.raises(plan.PlanError):
        plan.assemble_plan(setting["planner"], dallas, evacuation_run_ids=setting["evacuation"][:1])


def test_no_route_is_said_plainly_in_the_plan(setting, tmp_path):
    community = setting["community"]
    far = tmp_path / "far.geojson"
    # The only assembly point lies inside the landfill fire: no route for anyone.
    far.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x",'
        '"name_en":"Inside"},"geometry":{"type":"Point","coordinates":[23.6919,46.7716]}}]}'
    )
    run = evac.run_evacuation(
        setting["planner"], community, "landfill_fire_smoke", assembly_file=far
    )
    assert not run.result.routes["reachable"].any()
    published = safety_plan.publish_plan(
        setting["planner"], community, "en", coverage_run_id=None, evacuation_run_ids=[run.id]
    )
    text = _pdf_text(published.pdf)
    assert (
        "No evacuation route exists from Cantonului" in text or "No evacuation route exists" in text
    )


def test_plan_command_prints_the_next_version(setting, tmp_path):
    from typer.testing import CliRunner

    from geo.reports.safety_plan_cli import plan_app

    out = tmp_path / "plan.pdf"
    env = {"DATABASE_URL": setting["url"], "HARTA_LANGUAGE": "en"}
    args = ["plan", "--community", "pata-rat", "--lang", "hu", "--out", str(out)]
    result = CliRunner().invoke(plan_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "1. változatú terv" in result.output
    text = _pdf_text(out)
    assert t("response.plan.escalation.heading", "hu") in text
    assert f"#{setting['coverage']}" in text  # the planner's aggregated coverage run
    assert out.with_suffix(".html").is_file()
