"""The language and community pickers and the address that carries them
(``?lang=hu&community=dallas``), and the uploader's texts in the page's language.  Split from
:mod:`harta_ui`, which draws them in :func:`harta_ui.context` and re-exports these names."""

from __future__ import annotations

import streamlit as st

from geo.i18n import DEFAULT_LANGUAGE, LANGUAGES, community_name, t
from geo.settings import get_settings

#: Session-state keys of the chosen language and community.  Plain values, not widget keys:
#: Streamlit forgets a page's widget state when another page opens, so the pickers write here
#: (``on_change``) and every page reads from here.
LANG_KEY = "lang"
COMMUNITY_KEY = "community"
#: The pickers' own widget keys.
_LANG_WIDGET = "_harta_lang_picker"
_COMMUNITY_WIDGET = "_harta_community_picker"
#: Query parameters that carry the choices in the address (``?lang=hu&community=dallas``): a
#: reload, a bookmark or a shared link opens with them.  Never anything secret.
URL_LANG = "lang"
URL_COMMUNITY = "community"


def _url_param(name: str) -> str | None:
    try:
        value = st.query_params.get(name)
    except Exception:  # noqa: BLE001 - no script context (bare import)
        return None
    return value if isinstance(value, str) else None


def chosen_language() -> str:
    """The session's language: the one picked in this session, else the address's ``?lang=``,
    else ``HARTA_LANGUAGE``.  Remembered in the session, so every page opens in it.

    Returns
    -------
    str
        A code of :data:`geo.i18n.LANGUAGES`.
    """
    remembered = st.session_state.get(LANG_KEY)
    if remembered in LANGUAGES:
        return remembered
    for candidate in (_url_param(URL_LANG), get_settings().language, DEFAULT_LANGUAGE):
        if candidate in LANGUAGES:
            st.session_state[LANG_KEY] = candidate
            return candidate
    raise AssertionError("DEFAULT_LANGUAGE is not in LANGUAGES")  # pragma: no cover


def _remember(widget_key: str, key: str) -> None:
    # on_change runs before the rerun, so Home.py's menu titles already use the new choice.
    st.session_state[key] = st.session_state[widget_key]


def _show_choice(widget_key: str, value: str) -> None:
    """Make a picker show ``value``: drop a widget value left over from another page."""
    if widget_key in st.session_state and st.session_state[widget_key] != value:
        del st.session_state[widget_key]


def _language_picker() -> str:
    lang = chosen_language()
    codes = list(LANGUAGES)
    _show_choice(_LANG_WIDGET, lang)
    st.sidebar.selectbox(
        # Readable whatever the current language is, and with no emoji font too.
        ":material/language: Limba · Nyelv · Language",
        codes,
        index=codes.index(lang),
        format_func=LANGUAGES.__getitem__,
        key=_LANG_WIDGET,
        on_change=_remember,
        args=(_LANG_WIDGET, LANG_KEY),
    )
    return st.session_state[LANG_KEY]


def _chosen_community(slugs: list[str]) -> str:
    """The community picked in this session, else the address's ``?community=``, else
    ``HARTA_COMMUNITY``, else the first one this role may see."""
    remembered = st.session_state.get(COMMUNITY_KEY)
    for candidate in (remembered, _url_param(URL_COMMUNITY), get_settings().community):
        if candidate in slugs:
            st.session_state[COMMUNITY_KEY] = candidate
            return candidate
    st.session_state[COMMUNITY_KEY] = slugs[0]
    return slugs[0]


def _community_picker(communities: list[tuple[int, str, str, int | None]], lang: str) -> str:
    slugs = [slug for _, slug, _, _ in communities]
    # Settlements are indented under their parent; names in the page's language where the
    # catalogue has one ("Rampa (groapa de gunoi)"), else as the data spells them.
    names = {
        slug: ("" if parent is None else "· ") + community_name(slug, name, lang)
        for _, slug, name, parent in communities
    }
    slug = _chosen_community(slugs)
    _show_choice(_COMMUNITY_WIDGET, slug)
    st.sidebar.selectbox(
        t("app.community", lang),
        slugs,
        index=slugs.index(slug),
        format_func=names.__getitem__,
        key=_COMMUNITY_WIDGET,
        on_change=_remember,
        args=(_COMMUNITY_WIDGET, COMMUNITY_KEY),
    )
    return st.session_state[COMMUNITY_KEY]


def _sync_address(lang: str, slug: str) -> None:
    """Write the choices into the address bar (``?lang=..&community=..``), so a reload or a
    shared link opens the same way.  Only these two public values ever go there."""
    try:
        params = st.query_params
        if params.get(URL_LANG) != lang:
            params[URL_LANG] = lang
        if params.get(URL_COMMUNITY) != slug:
            params[URL_COMMUNITY] = slug
    except Exception:  # noqa: BLE001 - no browser behind the run (bare script)
        pass


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and line breaks escaped)."""
    escaped = "".join(c if c.isalnum() or c in " .,;:()·–-" else f"\\{ord(c):06x}" for c in text)
    return f'"{escaped}"'


def _uploader_texts(lang: str) -> None:
    """Streamlit's file uploader in the page's language.

    ``st.file_uploader`` has no locale: its button ("Upload"), size note ("20MB per file") and
    drop hint are English words drawn by Streamlit's frontend.  This style sheet hides those
    words and draws the catalogue's instead (CSS ``content``: text only, no markup), on every
    uploader of the page.  The file types stay listed in each uploader's own caption."""
    zone = '[data-testid="stFileUploaderDropzone"]'
    limit = t("app.upload.limit", lang, limit=get_settings().max_upload_mb)
    rules = (
        f'{zone} button [data-testid="stMarkdownContainer"] p{{font-size:0}}'
        f'{zone} button [data-testid="stMarkdownContainer"] p::after'
        f"{{content:{_css_string(t('app.upload.button', lang))};font-size:.875rem}}"
        f'[data-testid="stFileUploaderDropzoneInstructions"] span{{font-size:0}}'
        f'[data-testid="stFileUploaderDropzoneInstructions"] span::after'
        f"{{content:{_css_string(limit)};font-size:.875rem}}"
        f"{zone} > div:not([data-testid]) span{{font-size:0}}"
        f"{zone} > div:not([data-testid]) span::after"
        f"{{content:{_css_string(t('app.upload.drop', lang))};font-size:1rem}}"
    )
    st.sidebar.html(f"<style>{rules}</style>")
