"""Harta's Streamlit entry point: the page list, then the chosen page.

A page is listed when its file exists, so each capability adds its page without editing this
file's logic.  Titles go through the translation layer.  The page files live in ``screens/``, not
``pages/``: Streamlit treats a ``pages/`` folder as its older multipage mode and would list every
file a second time, untranslated.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy.exc import DBAPIError

from geo.files import make_private
from geo.i18n import t
from harta_ui import chosen_language, current_role, database_unavailable, db_down

SCREENS_DIR = Path(__file__).parent / "screens"

#: (file in screens/, title key, icon, url path) in menu order.  Icons are Streamlit's bundled
#: Material Symbols: emoji show as empty boxes on machines without an emoji font.
PAGES = (
    ("home.py", "app.nav.home", ":material/home:", "home"),
    ("map.py", "app.nav.map", ":material/map:", "map"),
    ("workshop.py", "app.nav.workshop", ":material/draw:", "workshop"),
    ("projector.py", "app.nav.projector", ":material/co_present:", "projector"),
    ("incidents.py", "app.nav.incidents", ":material/assignment:", "incidents"),
    ("hotspots.py", "app.nav.hotspots", ":material/local_fire_department:", "hotspots"),
    ("response.py", "app.nav.response", ":material/emergency:", "response"),
    ("mobile_unit.py", "app.nav.mobile_unit", ":material/airport_shuttle:", "mobile-unit"),
    ("housing.py", "app.nav.housing", ":material/holiday_village:", "housing"),
    ("account.py", "app.nav.account", ":material/person:", "account"),
    ("admin.py", "app.nav.admin", ":material/settings:", "admin"),
)
#: Pages listed only to these roles (the page checks the role again).
ONLY_FOR = {"admin.py": {"admin"}}
#: Pages that open with the sidebar folded away (the projector's map takes the whole screen).
#: Every other page says "auto" again, so the fold does not follow the person to later pages.
SIDEBAR_COLLAPSED = {"projector"}

make_private()  # every file the app writes is 0600, the data folder 0700 (geo/files.py)

# The language picked on any page (or given as ?lang= in the address) names the menu too.
lang = chosen_language()
role = current_role()  # also ends a timed-out session before any page runs
pages = [
    st.Page(SCREENS_DIR / file, title=t(key, lang), icon=icon, url_path=path, default=i == 0)
    for i, (file, key, icon, path) in enumerate(PAGES)
    if (SCREENS_DIR / file).exists() and role in ONLY_FOR.get(file, {role})
]
page = st.navigation(pages)
st.set_page_config(
    page_title=f"{page.title} · Harta",
    # An emoji, not a Material icon: Streamlit fetches a Material favicon from fonts.gstatic.com,
    # which the Content-Security-Policy blocks (the app never reaches the internet).
    page_icon="🗺️",
    layout="wide",
    initial_sidebar_state="collapsed" if page.url_path in SIDEBAR_COLLAPSED else "auto",
)
try:
    page.run()
except DBAPIError as error:
    if not db_down(error):
        raise
    # Any query of any page: one clear message instead of a traceback; the next rerun (or the
    # retry button) tries again, so the app recovers as soon as the database is back.
    database_unavailable(chosen_language())
