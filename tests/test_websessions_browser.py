"""A reload keeps the sign-in, in Debian Chromium against the real app (issue 11, item 1).

Signed in as police, a reload (a new Streamlit session) is still police on the same page, in the
language and community of the address; the cookie is ``HttpOnly`` (the page's script cannot read
it) and ``SameSite=Strict``; its token never appears in an address, the page or the server's log.
Signed out, a reload is public -- even when the old cookie is put back into the browser.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from geo import websessions
from geo.i18n import t
from tests.browser import ROOT, SCREENSHOTS, browser_page, running_app, wait_idle
from tests.conftest import open_page, sign_in_browser

pytestmark = pytest.mark.browser

SHOTS = ROOT / "docs" / "screenshots"
TABLET = {"width": 800, "height": 1280}


def _session_cookie(page) -> dict | None:  # noqa: ANN001
    found = [c for c in page.context.cookies() if c["name"] == websessions.COOKIE]
    return found[0] if found else None


def _wait_cookie(page, present: bool) -> dict | None:  # noqa: ANN001
    for _ in range(60):
        cookie = _session_cookie(page)
        if (cookie is not None and cookie["value"] != "") == present:
            return cookie
        page.wait_for_timeout(500)
    raise AssertionError(f"the session cookie did not {'appear' if present else 'go'}")


def _signed_in_as_police(page, lang: str) -> bool:  # noqa: ANN001
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(t("account.sign_out", lang), exact=True).first.wait_for(timeout=60000)
    return t("app.roles.police", lang) in sidebar.inner_text()


def _public(page, lang: str) -> bool:  # noqa: ANN001
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(t("account.sidebar.public", lang)).first.wait_for(timeout=60000)
    return sidebar.get_by_text(t("account.sign_out", lang), exact=True).count() == 0


def test_a_reload_keeps_the_sign_in_and_sign_out_ends_it(loaded_db_url, users):
    with running_app(loaded_db_url) as base, browser_page() as page:
        addresses: list[str] = []
        page.on("request", lambda request: addresses.append(request.url))
        sign_in_browser(page, base, "police", lang="ro")
        cookie = _wait_cookie(page, present=True)
        # Handed over by an invisible same-origin image (no script, the CSP's img-src 'self').
        handoff = page.locator(f'img[src^="{websessions.SET_PATH}?n="]')
        assert handoff.count() == 1 and not handoff.first.is_visible()
        page.screenshot(path=str(SCREENSHOTS / "websession_handoff_ro.png"))
        token = cookie["value"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert websessions.COOKIE not in page.evaluate("document.cookie")

        # A new Streamlit session on another page, in English, on Dallas: police there.
        page.goto(f"{base}/incidents?lang=en&community=dallas")
        wait_idle(page)
        assert _signed_in_as_police(page, "en")
        page.get_by_role("heading", name=t("incidents.form.title", "en")).first.wait_for()
        page.reload()  # ... and again: same page, language, community and account
        wait_idle(page)
        assert _signed_in_as_police(page, "en")
        page.get_by_role("heading", name=t("incidents.form.title", "en")).first.wait_for()
        url = urlparse(page.url)
        assert url.path == "/incidents" and "lang=en" in url.query
        assert "community=dallas" in url.query
        open_page(page, "account")
        wait_idle(page)
        page.screenshot(path=str(SHOTS / "account_resumed_en_desktop.png"), full_page=True)
        page.set_viewport_size(TABLET)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SHOTS / "account_resumed_en_tablet.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 950})

        # The token travelled only in the cookie: never in an address, the page or the log.
        assert not [a for a in addresses if token in a]
        assert token not in page.content()
        log = ROOT / ".test-data" / f"streamlit-{urlparse(base).port}.log"
        assert token not in log.read_text(encoding="utf-8", errors="replace")
        assert "harta-session/set?n=" not in log.read_text(encoding="utf-8", errors="replace")

        page.locator('[data-testid="stSidebar"]').get_by_role(
            "button", name=t("account.sign_out", "en")
        ).click()
        wait_idle(page)
        assert _public(page, "en")
        _wait_cookie(page, present=False)
        page.reload()
        wait_idle(page)
        assert _public(page, "en")

        # The signed-out token put back (a copied cookie): revoked, so still public.
        page.context.add_cookies([{**cookie, "value": token, "expires": cookie["expires"] or -1}])
        page.reload()
        wait_idle(page)
        assert _public(page, "en")
        assert not page.blocked_requests
