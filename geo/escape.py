"""Escaping of user-supplied text for the contexts it is shown in: HTML and Markdown.

Community names, place and street names from imported files, workshop notes, usernames: any
string that came from a person or a file is untrusted.  Leaflet inserts layer names, tooltips and
popups as HTML; Streamlit renders ``st.markdown``/``st.subheader``/``st.caption`` text as
Markdown (links and images included, so an image link makes every viewer's browser fetch an
outside address).  Every such string passes through one of these functions at the point where it
enters HTML or Markdown -- never earlier (it would be double-escaped) and never "once at import".
"""

from __future__ import annotations

import html as _html
import re

# Characters with a meaning in CommonMark/GitHub-flavoured Markdown (and Streamlit's extensions:
# ``:color[...]``, ``:material/icon:`` and ``$`` for LaTeX).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=&\"'])")


def html(value: object) -> str:
    """``value`` as text safe inside HTML element content and quoted attribute values.

    Parameters
    ----------
    value : object
        Any value; ``None`` becomes the empty string.

    Returns
    -------
    str
        ``&``, ``<``, ``>``, ``"`` and ``'`` replaced by character references.
    """
    return "" if value is None else _html.escape(str(value), quote=True)


def markdown(value: object) -> str:
    """``value`` as literal text inside Streamlit Markdown (no links, images, HTML or styling).

    Parameters
    ----------
    value : object
        Any value; ``None`` becomes the empty string.

    Returns
    -------
    str
        Every Markdown-significant character backslash-escaped and line breaks folded to spaces,
        so the text renders exactly as typed and cannot start a heading, list or block.
    """
    if value is None:
        return ""
    text = " ".join(str(value).splitlines())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
