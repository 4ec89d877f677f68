"""Plain texts in a folium map are not compiled as Jinja templates.

When folium renders a map, every element's rendered script, header and HTML is wrapped in a
new ``branca.element.Element(text)``, whose constructor compiles ``text`` as a Jinja template
(``jinja2.Template(text)``) -- the map's GeoJSON included.  These texts hold no Jinja syntax
(they are the *output* of templates), so compiling them only lexes kilobytes to megabytes of
JSON to give the same text back; and each map is rendered several times (once on a copy to hash
its script for the frame's CSP, twice by ``streamlit_folium``).  At 100,000 incidents this was
a sixth of a police Hotspots page's server time (py-spy).

:func:`plain_text_templates` makes ``branca.element``'s ``Template`` return, for a text with no
Jinja delimiter, a :class:`PlainText` that renders to exactly what Jinja would render (line
breaks normalised to ``\\n``, one trailing line break dropped: Jinja's defaults); any text with
a delimiter still becomes a real ``jinja2.Template``.  ``tests/test_map_templates.py`` checks
the equivalence against Jinja on adversarial texts and on whole maps.
"""

from __future__ import annotations

import re
from typing import Any

import branca.element
import jinja2

#: What starts Jinja syntax in the default environment (block, variable, comment); line
#: statements and line comments are off by default.
_DELIMITERS = ("{%", "{{", "{#")
#: Jinja's own line-break pattern (jinja2.lexer.newline_re).
_NEWLINE = re.compile(r"(\r\n|\r|\n)")


class PlainText:
    """A template of plain text: renders to the text as Jinja's defaults would.

    Parameters
    ----------
    source : str
        Text with none of Jinja's delimiters.
    """

    def __init__(self, source: str) -> None:
        lines = _NEWLINE.split(source)[::2]
        if lines[-1] == "":  # keep_trailing_newline is False by default
            del lines[-1]
        self._text = "\n".join(lines)

    def render(self, *args: Any, **kwargs: Any) -> str:
        """The text, whatever the context.

        Parameters
        ----------
        *args, **kwargs
            The template context (``this``, ``kwargs`` …); a plain text uses none of it.

        Returns
        -------
        str
            What ``jinja2.Template(source).render(...)`` returns for this text.
        """
        return self._text


def _template(source: str) -> PlainText | jinja2.Template:
    """A :class:`PlainText` for text without Jinja syntax, else ``jinja2.Template(source)``."""
    if isinstance(source, str) and not any(d in source for d in _DELIMITERS):
        return PlainText(source)
    return jinja2.Template(source)


def plain_text_templates() -> None:
    """Make ``branca.element.Element(text)`` skip Jinja for plain text (module docstring).

    Idempotent; affects only how elements built from a text compile it (classes keep their
    own compiled templates).
    """
    branca.element.Template = _template
