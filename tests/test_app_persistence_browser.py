"""Choices that stick, in the real app in Chromium (issue 11, items 1 and 8).

The language and the community live in the session and in the address
(``?lang=hu&community=dallas``): the language picked once names every page's menu and title,
after a page change and after a reload; a shared address opens in its language and community.
The incident form is empty again after an incident is recorded (no duplicate from a second
click), and the projector folds the sidebar for itself only.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from sqlalchemy import create_engine, text

from geo.i18n import LANGUAGES, catalogue, t
from tests.browser import browser_page, running_app, wait_idle
from tests.conftest import ROOT, open_page, sign_in_browser

pytestmark = pytest.mark.browser

#: The language picker's label (the same in every language).
LANGUAGE_LABEL = "Limba · Nyelv"


def nav_titles(lang: str) -> set[str]:
    """Every menu title of ``lang`` (the app.nav.* keys of its catalogue)."""
    return {v for k, v in catalogue(lang).items() if k.startswith("app.nav.")}


def menu_labels(page) -> list[str]:  # noqa: ANN001
    """The menu entries as the browser shows them (without the icon's ligature name)."""
    links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    links.first.wait_for(timeout=60000)
    return [link.locator("span").last.inner_text().strip() for link in links.all()]


def pick(page, label: str, option: str) -> None:  # noqa: ANN001
    """Choose ``option`` in the sidebar select box whose label contains ``label``."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
    box.filter(has=page.get_by_text(label, exact=False)).first.click()
    page.locator('[role="option"]').filter(
        has_text=re.compile(f"^{re.escape(option)}$")
    ).first.click()
    page.wait_for_timeout(800)
    wait_idle(page)


def picked(page, label: str) -> str:  # noqa: ANN001
    """The value a sidebar select box shows."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
    combo = box.filter(has=page.get_by_text(label, exact=False)).first
    return combo.locator('input[role="combobox"]').input_value().strip()


def title(page) -> str:  # noqa: ANN001
    page.wait_for_selector("h1", timeout=90000)
    return page.locator("h1").first.inner_text().strip()


def wait_title(page, expected: str) -> None:  # noqa: ANN001
    """Wait until the page's title reads ``expected`` (the previous page's may linger)."""
    page.locator("h1").filter(has_text=re.compile(f"^{re.escape(expected)}$")).first.wait_for(
        timeout=90000
    )


#: Each page's title key (pages whose title is data, like the projector's, are left out).
TITLES = {
    "home": "app.home.title",
    "map": "app.map.title",
    "workshop": "workshop.title",
    "incidents": "incidents.form.title",
    "hotspots": "incidents.hotspots.title",
    "account": "account.title",
}


def menu_paths(page) -> list[str]:  # noqa: ANN001
    links = page.locator('[data-testid="stSidebarNav"] a[data-testid="stSidebarNavLink"]')
    return [urlparse(link.get_attribute("href")).path.strip("/") for link in links.all()]


def assert_in(page, lang: str) -> None:  # noqa: ANN001
    """The menu, the language picker and the address are all in ``lang``."""
    labels = menu_labels(page)
    assert labels and set(labels) <= nav_titles(lang), (lang, labels)
    assert picked(page, LANGUAGE_LABEL) == LANGUAGES[lang]
    assert f"lang={lang}" in page.url


def test_magyar_chosen_on_home_holds_on_every_page_and_after_a_reload(loaded_db_url):
    with running_app(loaded_db_url) as base, browser_page() as page:
        page.goto(f"{base}/")
        assert title(page) == t("app.home.title", "ro")
        assert set(menu_labels(page)) <= nav_titles("ro")
        pick(page, LANGUAGE_LABEL, LANGUAGES["hu"])
        assert title(page) == t("app.home.title", "hu")
        assert_in(page, "hu")
        paths = menu_paths(page)
        assert {"", "map", "incidents", "account", "projector"} <= set(paths)
        for path in [p for p in paths if p] + [""]:
            open_page(page, path)
            wait_idle(page)
            if (path or "home") in TITLES:
                wait_title(page, t(TITLES[path or "home"], "hu"))
            if path == "projector":  # folds the sidebar away (see the last test): unfold
                page.locator('[data-testid="stExpandSidebarButton"]').click()
            assert_in(page, "hu")
        # A reload is a new Streamlit session: the address alone brings Magyar back.
        open_page(page, "map")
        wait_title(page, t("app.map.title", "hu"))
        page.reload()
        wait_title(page, t("app.map.title", "hu"))
        wait_idle(page)
        assert_in(page, "hu")
        open_page(page, "account")
        wait_title(page, t("account.title", "hu"))
        assert_in(page, "hu")


def test_a_shared_address_opens_in_its_language_and_community(loaded_db_url):
    with running_app(loaded_db_url) as base, browser_page() as page:
        page.goto(f"{base}/?lang=en&community=dallas")
        assert title(page) == t("app.home.title", "en")
        page.locator("h3").filter(has_text="Dallas").first.wait_for(timeout=60000)
        community = t("app.community", "en")
        assert picked(page, community) == "· Dallas"
        assert_in(page, "en")
        # The community follows to the next page, and one picked there comes back home.
        open_page(page, "map")
        wait_idle(page)
        assert picked(page, community) == "· Dallas"
        assert "community=dallas" in page.url
        pick(page, community, "· Rampa (the landfill)")
        assert "community=rampa" in page.url
        open_page(page, "")  # Home: the default page, at "/"
        page.locator("h3").filter(has_text="Rampa (the landfill)").first.wait_for(timeout=60000)
        # In Romanian the settlement is named in Romanian, not "(the landfill)".
        pick(page, LANGUAGE_LABEL, LANGUAGES["ro"])
        page.locator("h3").filter(has_text="Rampa (groapa de gunoi)").first.wait_for(timeout=60000)
        assert "landfill" not in page.locator('[data-testid="stSidebar"]').inner_text()
        # A community the address names but nobody has falls back to the default one.
        page.goto(f"{base}/?lang=hu&community=no-such-place")
        assert title(page) == t("app.home.title", "hu")
        wait_idle(page)
        assert "community=pata-rat" in page.url


def _incident_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM incidents WHERE NOT is_demo")).scalar_one()
    engine.dispose()
    return count


def test_the_incident_form_is_empty_after_recording(loaded_db_url, users):
    lang = "ro"
    before = _incident_count(loaded_db_url)
    with running_app(loaded_db_url) as base, browser_page() as page:
        sign_in_browser(page, base, "police", lang=lang)
        open_page(page, "incidents")
        wait_idle(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text(t("incidents.form.location.named", lang), exact=True).click()
        wait_idle(page)
        narrative = main.get_by_label(t("incidents.form.narrative", lang), exact=True)
        narrative.fill("A test description")
        narrative.blur()
        wait_idle(page)
        save = main.get_by_role("button", name=t("incidents.form.save", lang), exact=True)
        assert save.is_enabled()
        save.click()
        page.get_by_text(
            re.compile(re.escape(t("incidents.form.saved", lang, id="")[:20]))
        ).first.wait_for(timeout=60000)
        wait_idle(page)
        assert _incident_count(loaded_db_url) == before + 1
        # The form starts again: the description is empty, the location choice is back to
        # the map with nothing picked, so the button cannot record the same incident again.
        assert (
            main.get_by_label(t("incidents.form.narrative", lang), exact=True).input_value() == ""
        )
        save = main.get_by_role("button", name=t("incidents.form.save", lang), exact=True)
        assert save.is_disabled()
        save.click(force=True)
        page.wait_for_timeout(1500)
        wait_idle(page)
        assert _incident_count(loaded_db_url) == before + 1


def _sidebar_expanded(page) -> bool:  # noqa: ANN001
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.wait_for(state="attached", timeout=60000)
    page.wait_for_timeout(800)
    return sidebar.get_attribute("data-collapsed") == "false"


def test_the_projector_folds_the_sidebar_for_itself_only(loaded_db_url):
    with running_app(loaded_db_url) as base, browser_page() as page:
        page.goto(f"{base}/")
        wait_title(page, t("app.home.title", "ro"))
        assert _sidebar_expanded(page)
        open_page(page, "projector")
        wait_idle(page)
        assert not _sidebar_expanded(page)
        # Back to the previous page without touching the sidebar: it is open again.
        for _ in range(3):  # the address may hold the projector twice (with and without ?lang=)
            page.go_back()
            page.wait_for_timeout(1500)
            if urlparse(page.url).path == "/":
                break
        wait_title(page, t("app.home.title", "ro"))
        wait_idle(page)
        assert _sidebar_expanded(page)
        # Unfolded by hand on the projector, it stays open on the next page of the menu.
        open_page(page, "projector")
        wait_idle(page)
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        assert _sidebar_expanded(page)
        open_page(page, "map")
        wait_title(page, t("app.map.title", "ro"))
        assert _sidebar_expanded(page)


SCREENSHOTS_DOCS = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1400, 900), "tablet": (800, 1280)}
#: Pages photographed signed in as the administrator: (menu path, title key).
SHOT_PAGES = (
    ("", "app.home.title"),
    ("incidents", "incidents.form.title"),
    ("account", "account.title"),
    ("admin", "account.admin.title"),
)


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_home_incidents_account_and_admin(loaded_db_url, users, size):
    """docs/screenshots/{home,incidents,incidents_file,account,account_signed_in,admin}_<lang>_
    <size>.png, and what they must show: the page in its language, the uploader's words in it
    (no "Upload"/"per file"), and on Romanian pages the landfill named in Romanian."""
    with running_app(loaded_db_url) as base, browser_page(SIZES[size]) as page:
        for lang in LANGUAGES:  # signed out: the sign-in form, with its note on reloading
            page.goto(f"{base}/account?lang={lang}")
            wait_title(page, t("account.title", lang))
            wait_idle(page)
            page.get_by_text(t("app.signin.reload", lang)).first.wait_for(timeout=60000)
            page.screenshot(path=str(SCREENSHOTS_DOCS / f"account_{lang}_{size}.png"))
        sign_in_browser(page, base, "admin", lang="ro")  # a fresh address: the default, ro
        for lang in LANGUAGES:
            pick(page, LANGUAGE_LABEL, LANGUAGES[lang])
            for path, key in SHOT_PAGES:
                open_page(page, path)
                wait_title(page, t(key, lang))
                wait_idle(page)
                page.wait_for_timeout(1500)  # let the map frame draw
                name = path or "home"
                if path == "account":
                    name = "account_signed_in"
                page.screenshot(
                    path=str(SCREENSHOTS_DOCS / f"{name}_{lang}_{size}.png"), full_page=True
                )
                if lang == "ro":
                    assert "landfill" not in page.inner_text("body")
                if path == "incidents":
                    main = page.locator('[data-testid="stMain"]')
                    main.get_by_text(t("incidents.form.tab_file", lang), exact=True).click()
                    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
                    zone.wait_for(timeout=30000)
                    shown = zone.evaluate(UPLOADER_WORDS)
                    assert t("app.upload.button", lang) in shown
                    if lang != "en":
                        assert "Upload" not in shown and "per file" not in shown
                    page.screenshot(
                        path=str(SCREENSHOTS_DOCS / f"incidents_file_{lang}_{size}.png"),
                        full_page=True,
                    )


#: The words a person sees in an uploader: its text with each element's CSS ``content``
#: (::after) in place of what a zero font size hides.
UPLOADER_WORDS = """zone => {
  const words = [];
  for (const el of zone.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (own.trim() && parseFloat(getComputedStyle(el).fontSize) > 0) words.push(own.trim());
    const after = getComputedStyle(el, '::after').content;
    if (after && after !== 'none' && after !== 'normal') words.push(after.replace(/^"|"$/g, ''));
  }
  return words.join(' | ');
}"""
