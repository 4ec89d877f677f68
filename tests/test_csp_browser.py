"""Issue 8, route 3: stored XSS through a community name, and the Content-Security-Policy.

As ``harta_admin`` (who may not read incidents) the community, a facility and a settlement are
renamed to script and Markdown payloads and a workshop mark gets one as its note; police open
the Map and Home, a mediator the Workshop and Projector, in Chromium.  No payload runs in any
frame, no request leaves localhost (the Markdown image included), and the names are shown as
typed.  Then the policy itself is attacked: markup with an event handler and an injected
``<script>`` are put straight into the map frame and the app's page (as a name that escaped the
escaping would be) and nothing runs.  Every response of the app carries the headers.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.error
import urllib.request

import pytest
from shapely.geometry import Polygon
from sqlalchemy import text

from geo import workshops as ws
from geo.communities.model import Community
from geo.db.security import connect_as, role_engine
from tests.browser import SCREENSHOTS, browser_page, map_frame, running_app
from tests.conftest import account_id, open_page, sign_in_browser, unfold_sidebar

pytestmark = pytest.mark.browser

ONERROR = '<img src=x onerror="window.__pwned=1">'
BREAKOUT = "</script><script>window.__pwned=1</script>"
MD_IMAGE = "![x](http://198.51.100.1/p.png)"
HOSTILE = f"{ONERROR}{BREAKOUT}{MD_IMAGE}"
X, Y = 23.6893, 46.7737  # inside Pata Rât


def _rename_as_admin(engine) -> None:  # noqa: ANN001
    """What a hostile (or compromised) administrator can do without reading any incident."""
    admin = account_id(engine, "admin")
    with connect_as(engine, "admin", admin) as conn:
        cid = Community.load(conn, "pata-rat").id
        conn.execute(
            text("UPDATE communities SET name = :n WHERE id = :c"), {"n": HOSTILE, "c": cid}
        )
        conn.execute(
            text("UPDATE communities SET name = :n WHERE parent_id = :c"),
            {"n": "S " + ONERROR, "c": cid},
        )
        conn.execute(
            text(
                "INSERT INTO facilities (community_id, kind, name, source, is_demo,"
                " created_by_role, geom) VALUES (:c, 'school', :n, 'import', false, 'admin',"
                " ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            {"c": cid, "n": "F " + HOSTILE, "x": X + 0.0005, "y": Y - 0.0005},
        )


def _hostile_mark(engine) -> None:  # noqa: ANN001
    mediator = role_engine(engine.url.render_as_string(hide_password=False), "mediator")
    session = ws.open_session(
        mediator,
        Community.load(engine, "pata-rat"),
        held_on=dt.date.today(),
        language="en",
        participants=5,
    )
    x, y = X, Y
    square = Polygon([(x, y), (x + 0.001, y), (x + 0.001, y + 0.0007), (x, y + 0.0007)])
    ws.save_mark(
        mediator,
        session.id,
        square,
        ws.mark_attributes("flooding", 3, note="N " + ONERROR),
    )


def _assert_nothing_ran(page) -> str:  # noqa: ANN001
    """No frame set ``window.__pwned``; the visible text of every frame."""
    texts = []
    for frame in page.frames:
        try:
            pwned = frame.evaluate("typeof window.__pwned")
            texts.append(frame.evaluate("document.body ? document.body.innerText : ''"))
        except Exception:  # noqa: BLE001 - a frame navigating away has nothing to evaluate
            continue
        assert pwned == "undefined", frame.url
    return "\n".join(texts)


#: Streamlit's front end turns the Material icon of the page a tab opens on into a favicon URL
#: on fonts.gstatic.com, before the app's own (emoji) favicon replaces it.  The policy blocks it
#: (nothing leaves the machine; ``page.blocked_requests`` stays empty): known, harmless, and the
#: only violation tolerated here.
STREAMLIT_FAVICON = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/"


def _csp_violations(console: list[str]) -> list[str]:
    return [m for m in console if "Content Security Policy" in m and STREAMLIT_FAVICON not in m]


def test_hostile_names_are_text_everywhere_and_never_run(loaded_db_url, loaded_engine, users):
    _rename_as_admin(loaded_engine)
    _hostile_mark(loaded_engine)
    with running_app(loaded_db_url) as base, browser_page() as page:
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        sign_in_browser(page, base, "police", lang="ro")

        open_page(page, "map")
        frame = map_frame(page)
        page.wait_for_timeout(1500)
        # The layer control lists the community's name (Leaflet inserts names as HTML).
        layers = frame.evaluate(
            "() => [...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
            ".map(l => l.innerText).join('\\n')"
        )
        assert HOSTILE in layers
        assert frame.query_selector(".leaflet-control-layers img") is None
        # The frame carries its own policy, with no 'unsafe-inline' for scripts.
        meta = frame.evaluate(
            "() => [...document.querySelectorAll('meta[http-equiv=\"Content-Security-Policy\"]')]"
            ".map(m => m.content)"
        )
        assert meta and all(
            "'unsafe-inline'" not in p.split("script-src")[1].split(";")[0] for p in meta
        )
        for element in frame.query_selector_all(".leaflet-marker-icon, path.leaflet-interactive")[
            :20
        ]:
            try:
                element.hover(timeout=1500)
                element.click(timeout=1500)
            except Exception:  # noqa: BLE001 - covered by another shape
                continue
        page.wait_for_timeout(1000)
        _assert_nothing_ran(page)

        # Home is the default page: the first entry of the menu (keeps the signed-in session).
        page.locator('[data-testid="stSidebarNav"] a').first.click()
        page.wait_for_timeout(500)
        page.wait_for_selector("h1", timeout=90000)
        page.get_by_text(HOSTILE, exact=False).first.wait_for(timeout=30000)
        shown = _assert_nothing_ran(page)
        assert HOSTILE in shown  # the subheader, as typed: no image, no link
        assert page.locator("main img").count() == 0

        sign_in_browser(page, base, "mediator")
        for path in ("workshop", "projector"):
            open_page(page, path)
            map_frame(page)
            page.wait_for_timeout(2000)
            shown = _assert_nothing_ran(page)
            if path == "projector":
                assert HOSTILE in shown  # the title names the community
        assert not page.blocked_requests, page.blocked_requests
        assert _csp_violations(console) == [], console


def test_policy_stops_what_escaping_missed(loaded_db_url, users):
    """Defence in depth: markup with a handler and an injected script put straight into the map
    frame (where Leaflet would have inserted an unescaped name) and into the app's page."""
    inject = """() => {
        const box = document.querySelector('.leaflet-control-layers-overlays') || document.body;
        const span = document.createElement('span');
        span.innerHTML = '<img src="data:," onerror="window.__pwned=1">'
            + '<svg onload="window.__pwned=2"></svg>';
        box.appendChild(span);
        const s = document.createElement('script');
        s.textContent = 'window.__pwned = 3';
        document.body.appendChild(s);
        return true;
    }"""
    with running_app(loaded_db_url) as base, browser_page() as page:
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.goto(f"{base}/map")
        frame = map_frame(page)
        page.wait_for_timeout(1000)
        assert frame.evaluate(inject)
        assert page.evaluate(inject)
        page.wait_for_timeout(1500)
        assert frame.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("typeof window.__pwned") == "undefined"
        # ...and it was the policy that refused them.
        assert len(_csp_violations(console)) >= 2, console
        # The map itself still works under the policy: layers drawn, tooltips open.
        assert frame.query_selector("path.leaflet-interactive") is not None


def _pick_language(page, name: str) -> None:  # noqa: ANN001
    unfold_sidebar(page)
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
    box.filter(has=page.get_by_text("Limba · Nyelv", exact=False)).first.click()
    page.locator('[role="option"]').filter(has_text=re.compile(f"^{name}$")).first.click()
    page.wait_for_timeout(1500)


def _headers(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}
    except urllib.error.HTTPError as error:  # an error page needs the headers as much
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def test_every_response_carries_the_security_headers(loaded_db_url):
    with running_app(loaded_db_url) as base:
        for path in (
            "/",
            "/map",
            "/_stcore/health",
            "/app/static/vendor/leaflet/leaflet.js",
            "/component/streamlit_folium.st_folium/index.html",
            "/no-such-page/../../etc/passwd",
        ):
            status, headers = _headers(base + path)
            policy = headers["content-security-policy"]
            assert "frame-ancestors 'self'" in policy, path
            assert "object-src 'none'" in policy, path
            assert "img-src 'self' data: blob:;" in policy, path  # no outside host offline
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            if not path.startswith("/component/"):
                script = policy.split("script-src")[1].split(";")[0]
                assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, path


def test_screenshots_of_the_map_with_a_hostile_community_name(loaded_db_url, loaded_engine, users):
    """Desktop and 800x1280, in Hungarian: the name is shown as typed, nothing else happens."""
    _rename_as_admin(loaded_engine)
    for size, name in (((1400, 950), "desktop"), ((800, 1280), "800x1280")):
        with running_app(loaded_db_url) as base, browser_page(viewport=size) as page:
            sign_in_browser(page, base, "police", lang="ro")
            open_page(page, "map")
            map_frame(page)
            _pick_language(page, "Magyar")
            page.get_by_text("Nyelv", exact=False).first.wait_for(timeout=30000)
            page.wait_for_timeout(3000)
            frame = map_frame(page)
            # Open the layer list (where Leaflet inserts the community's name as HTML).
            frame.evaluate(
                "() => document.querySelector('.leaflet-control-layers')"
                ".classList.add('leaflet-control-layers-expanded')"
            )
            page.wait_for_timeout(1200)
            _assert_nothing_ran(page)
            page.screenshot(path=str(SCREENSHOTS / f"xss_map_hostile_name_{name}.png"))
            assert not page.blocked_requests
