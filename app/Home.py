"""Harta's Streamlit entry point: shared pickers, then the chosen page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.i18n import t

HERE = Path(__file__).parent

st.set_page_config(page_title="Harta", page_icon="🗺️", layout="wide")

lang = st.session_state.get("lang", "ro")
pages = [
    st.Page(HERE / "pages" / "home.py", title=t("app.nav.home", lang), icon="🏠", default=True),
    st.Page(HERE / "pages" / "map.py", title=t("app.nav.map", lang), icon="🗺️", url_path="map"),
]
st.navigation(pages).run()
