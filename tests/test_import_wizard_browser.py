"""The import wizard in the real app, in Chromium: a police export uploaded on the Incidents
page is previewed, mapped by its saved profile, checked, and imported with the right local
times; screenshots of the wizard, desktop and 800x1280, in Romanian and Hungarian."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from geo.i18n import t
from tests.browser import SCREENSHOTS, browser_page, running_app
from tests.conftest import open_page, sign_in_browser
from tests.test_workshop_browser import LANGUAGE_NAMES, pick

pytestmark = pytest.mark.browser

POLICE_CSV = (
    "\ufeffNr. dosar;Data;Ora;Tip eveniment;Gravitate;Latitudine;Longitudine;Observații\r\n"
    "W-1;14.03.2025;21:30;Violență în familie;mare;46,7712345;23,6912345;Sesizare 112\r\n"
    "W-2;15.03.2025;08.05;Scandal în curte;medie;46,7718;23,6921;\r\n"
)


def _upload(page, tmp_path, lang: str) -> None:
    path = tmp_path / "registru_politie.csv"
    path.write_text(POLICE_CSV, encoding="utf-8")
    page.get_by_text(t("incidents.form.tab_file", lang), exact=True).first.click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    page.get_by_text(t("ingest.wizard.step_check", lang), exact=True).first.wait_for(timeout=60000)


def _choose_profile(page, lang: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(t("ingest.wizard.profile", lang), exact=True)
    )
    box.first.click()
    page.keyboard.type("politia_cluj")
    page.keyboard.press("Enter")
    page.wait_for_timeout(2500)


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_wizard_imports_a_police_export_with_its_profile(
    loaded_db_url, loaded_engine, users, tmp_path, lang
):
    with running_app(loaded_db_url) as base, browser_page() as page:
        sign_in_browser(page, base, "police")
        open_page(page, "incidents")
        if lang != "ro":
            pick(page, "Limba · Nyelv", LANGUAGE_NAMES[lang], exact=False)
            page.wait_for_timeout(1500)
        _upload(page, tmp_path, lang)
        # Without a profile "Tip eveniment" is recognised, "Scandal în curte" is not known:
        # the values step offers a picker with a suggestion.
        page.get_by_text(t("ingest.wizard.step_values", lang), exact=True).first.wait_for(
            timeout=30000
        )
        _shoot(page, t("ingest.wizard.step_check", lang), f"import_wizard_check_{lang}")
        _choose_profile(page, lang)
        page.get_by_text(t("ingest.wizard.checked", lang, valid=1, read=2)).first.wait_for(
            timeout=30000
        )
        # The profile does not know "Scandal în curte": pick its code in the values step.
        value_box = page.locator('[data-testid="stSelectbox"]').filter(
            has=page.get_by_text("Scandal în curte", exact=False)
        )
        value_box.first.click()
        page.keyboard.type(_label("conflict_dispute", lang))
        page.keyboard.press("Enter")
        label = t("ingest.wizard.leave_value", lang)
        page.get_by_text(t("ingest.wizard.checked", lang, valid=2, read=2)).first.wait_for(
            timeout=30000
        )
        assert label  # the "leave as it is" option exists in this language
        _shoot(page, t("ingest.wizard.step_preview", lang), f"import_wizard_preview_{lang}")
        _shoot(page, t("ingest.wizard.step_values", lang), f"import_wizard_values_{lang}")
        page.set_viewport_size({"width": 800, "height": 1280})
        page.wait_for_timeout(800)
        _shoot(page, t("ingest.wizard.step_preview", lang), f"import_wizard_{lang}_800x1280")
        _shoot(page, t("ingest.wizard.step_check", lang), f"import_wizard_check_{lang}_800x1280")
        page.get_by_role("button", name=t("ingest.wizard.import", lang), exact=True).click()
        page.get_by_text(t("ingest.wizard.done", lang, written=2)).first.wait_for(timeout=60000)
    with loaded_engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT external_ref, type_code, occurred_at FROM incidents"
                " WHERE external_ref LIKE 'W-%' ORDER BY external_ref"
            )
        ).all()
    local = ZoneInfo("Europe/Bucharest")
    assert [(r[0], r[1], r[2].astimezone(local).strftime("%d.%m %H:%M")) for r in stored] == [
        ("W-1", "domestic_violence", "14.03 21:30"),
        ("W-2", "conflict_dispute", "15.03 08:05"),
    ]


def _shoot(page, heading: str, name: str) -> None:
    """Scroll ``heading`` to the top of the app's scrolling main area, then a screenshot."""
    page.get_by_text(heading, exact=True).first.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(600)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _label(code: str, lang: str) -> str:
    from geo import taxonomy

    return taxonomy.label("incident_type", code, lang)
