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
from harta_ui import current_role, database_unavailable, db_down

SCREENS_DIR = Path(__file__).parent / "screens"

#: (file in screens/, title key, icon, url path) in menu order.
PAGES = (
    ("home.py", "app.nav.home", "🏠", "home"),
    ("map.py", "app.nav.map", "🗺️", "map"),
    ("workshop.py", "app.nav.workshop", "✏️", "workshop"),
    ("projector.py", "app.nav.projector", "📽️", "projector"),
    ("incidents.py", "app.nav.incidents", "📋", "incidents"),
    ("hotspots.py", "app.nav.hotspots", "🔥", "hotspots"),
    ("response.py", "app.nav.response", "🚑", "response"),
    ("mobile_unit.py", "app.nav.mobile_unit", "🚐", "mobile-unit"),
    ("housing.py", "app.nav.housing", "🏘️", "housing"),
    ("account.py", "app.nav.account", "👤", "account"),
    ("admin.py", "app.nav.admin", "⚙️", "admin"),
)
#: Pages listed only to these roles (the page checks the role again).
ONLY_FOR = {"admin.py": {"admin"}}

st.set_page_config(page_title="Harta", page_icon="🗺️", layout="wide")
make_private()  # every file the app writes is 0600, the data folder 0700 (geo/files.py)

lang = st.session_state.get("lang", "ro")
role = current_role()  # also ends a timed-out session before any page runs
pages = [
    st.Page(SCREENS_DIR / file, title=t(key, lang), icon=icon, url_path=path, default=i == 0)
    for i, (file, key, icon, path) in enumerate(PAGES)
    if (SCREENS_DIR / file).exists() and role in ONLY_FOR.get(file, {role})
]
try:
    st.navigation(pages).run()
except DBAPIError as error:
    if not db_down(error):
        raise
    # Any query of any page: one clear message instead of a traceback; the next rerun (or the
    # retry button) tries again, so the app recovers as soon as the database is back.
    database_unavailable(st.session_state.get("lang", lang))
