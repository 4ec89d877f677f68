"""What every page shares: the database, and the language, community and role pickers.

Pages stay thin: they read the :class:`Context` returned by :func:`context` and call ``geo``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from geo import views
from geo.i18n import LANGUAGES, t
from geo.settings import get_settings

ROLES = ("public", "community", "mediator", "police", "planner", "admin")


@dataclass(frozen=True)
class Context:
    lang: str
    community: str
    role: str
    engine: Engine
    online: bool

    def t(self, key: str, **params: object) -> str:
        return t(key, self.lang, **params)


def _database_url() -> str:
    from geo.db.engine import database_url

    return database_url()


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    from geo.db.engine import get_engine

    return get_engine(url)


@st.cache_data(ttl=60, show_spinner=False)
def _communities(url: str) -> list[tuple[str, str, str | None]]:
    frame = views.communities(_engine(url))
    return list(frame[["slug", "name", "parent_slug"]].itertuples(index=False, name=None))


def _language_picker() -> str:
    settings = get_settings()
    default = st.session_state.get("lang", settings.language)
    codes = list(LANGUAGES)
    lang = st.sidebar.selectbox(
        # Readable whatever the current language is, and with no emoji font too.
        "🌐 Limba · Nyelv · Language",
        codes,
        index=codes.index(default) if default in codes else 0,
        format_func=LANGUAGES.__getitem__,
        key="lang",
    )
    return lang


def context() -> Context:
    """Draw the shared sidebar pickers and return what the page needs.

    Stops the page with a clear, translated message when the database cannot be reached; the
    next rerun tries again, so the app recovers by itself when the database returns.
    """
    lang = _language_picker()
    url = _database_url()
    try:
        communities = _communities(url)
    except OperationalError:
        _engine.clear()
        st.error(t("app.db_unavailable", lang))
        st.stop()
    if not communities:
        st.warning(t("app.no_communities", lang))
        st.stop()
    slugs = [slug for slug, _, _ in communities]
    names = {slug: (name if parent is None else f"· {name}") for slug, name, parent in communities}
    default = st.session_state.get("community", get_settings().community)
    community = st.sidebar.selectbox(
        t("app.community", lang),
        slugs,
        index=slugs.index(default) if default in slugs else 0,
        format_func=names.__getitem__,
        key="community",
    )
    role = st.sidebar.selectbox(
        t("app.role", lang),
        ROLES,
        format_func=lambda r: t(f"app.roles.{r}", lang),
        key="role",
        help=t("app.role_placeholder_help", lang),
    )
    st.sidebar.caption(t("app.attribution", lang))
    return Context(lang, community, role, _engine(url), get_settings().online)
