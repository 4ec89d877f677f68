"""The app's database handles: the owner's and the role engines (cached per database URL,
role and account), the community list behind the pickers, and what a page does when the
database is away.  Split from :mod:`harta_ui`, which re-exports these names."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from geo import views
from geo.communities import Community
from geo.i18n import t


def db_down(error: BaseException) -> bool:
    """Whether ``error`` means "the database is not there" (refused, dropped, shutting down),
    as opposed to a refused query (permission denied is a bug or an attack, not an outage)."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _database_url() -> str:
    from geo.db.engine import database_url

    return database_url()


@st.cache_resource(show_spinner=False)
def owner_engine(url: str) -> Engine:
    """The owner's engine: only for the password check (``authenticate`` switches to
    ``harta_auth`` itself) and single sign-on lookups."""
    from geo.db.engine import get_engine

    return get_engine(url)


@st.cache_resource(show_spinner=False)
def _role_engine(url: str, role: str, user_id: int | None = None) -> Engine:
    from geo.db.security import role_engine

    if user_id is None:
        return role_engine(url, role)
    # One small pool per signed-in account: the database reads ``harta.user_id`` per connection.
    return role_engine(url, role, user_id, pool_size=2, max_overflow=3)


def role_engine(role: str, user_id: int | None = None) -> Engine:
    """The cached engine acting as ``role`` (and account ``user_id``) on the app's database."""
    return _role_engine(_database_url(), role, user_id)


@st.cache_data(ttl=60, show_spinner=False)
def _communities(url: str) -> list[tuple[int, str, str, int | None]]:
    frame = views.communities(_role_engine(url, "public"))
    ids = dict(zip(frame["slug"], frame["id"], strict=True))
    return [
        (int(row.id), row.slug, row.name, ids.get(row.parent_slug))
        for row in frame.itertuples(index=False)
    ]


@st.cache_resource(ttl=60, show_spinner=False)
def _community(url: str, slug: str) -> Community:
    # Read-only and frozen: safe to share between sessions.
    return Community.load(_role_engine(url, "public"), slug)


def reset_engines() -> None:
    """Forget the cached engines and communities (after the database went away); the next
    page load connects afresh."""
    _role_engine.clear()
    owner_engine.clear()
    _communities.clear()


def database_unavailable(lang: str) -> None:
    """Tell the person the database is away (the next rerun tries again) and stop the page."""
    reset_engines()
    st.error(t("app.db_unavailable", lang))
    if st.button(t("app.db_retry", lang), key="db_retry"):
        st.rerun()
    st.stop()
