"""Content-Security-Policy for the app and its map frames.

Escaping (:mod:`geo.escape`) is the first defence against a hostile community, place or street
name; the policy is the second: even if a string escaped the escaping and an
``<img onerror=...>`` reached a page, the browser refuses to run it.

Two policies:

* :func:`app_policy` -- sent as an HTTP header on every response of the Streamlit server (the
  launcher ``app/serve.py`` installs :class:`SecurityHeaders`).  Scripts only from the app itself
  plus the hashes of the inline scripts of Streamlit's own ``index.html``; images and connections
  only to the app (and ``data:``), frames only from the app, and the app may only be framed by
  itself.
* :func:`frame_policy` -- written as ``<meta http-equiv>`` into every map frame Harta generates,
  with the sha256 hash of each inline script computed *after* rendering, and no
  ``'unsafe-inline'`` for scripts: an event-handler attribute that someone smuggled into a
  layer name, tooltip or popup never runs.  Streamlit components (the st_folium frame) are served
  under ``/component/``: there the header cannot know the map's script, so it allows inline
  scripts and the map's own meta policy (both are enforced: the stricter wins) names the one
  script that may run.

``HARTA_ONLINE=1`` adds the OpenStreetMap tile host to ``img-src``; nothing else ever leaves.
This module imports neither Streamlit nor folium.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

#: Tile host the browser may load images from when HARTA_ONLINE=1 (styles/layers.json).
OSM_TILE_HOST = "https://tile.openstreetmap.org"

#: Headers sent with every response besides the policy.
EXTRA_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "SAMEORIGIN"),
)

_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


def script_hash(source: str) -> str:
    """The CSP hash source (``'sha256-…'``) of one inline script's text.

    Parameters
    ----------
    source : str
        The script's text exactly as the browser sees it; line ends are normalised the way the
        HTML parser does (CRLF and CR become LF).

    Returns
    -------
    str
        ``'sha256-<base64>'``, quotes included, ready to go into ``script-src``.
    """
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def inline_scripts(page: str) -> list[str]:
    """The texts of the inline ``<script>`` elements (no ``src``) of an HTML page."""
    return [
        body
        for attrs, body in _INLINE_SCRIPT.findall(page)
        if not re.search(r"\bsrc\s*=", attrs, re.IGNORECASE)
    ]


def _join(directives: dict[str, Iterable[str]]) -> str:
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


def _images(online: bool) -> list[str]:
    return ["'self'", "data:", "blob:"] + ([OSM_TILE_HOST] if online else [])


def app_policy(*, online: bool, script_hashes: Iterable[str] = ()) -> str:
    """The policy header of the Streamlit app's pages.

    Parameters
    ----------
    online : bool
        ``HARTA_ONLINE``: allow OSM tile images.
    script_hashes : iterable of str
        Hash sources of the inline scripts of Streamlit's ``index.html``.

    Returns
    -------
    str
        The ``Content-Security-Policy`` header value.
    """
    return _join(
        {
            "default-src": ["'self'"],
            "script-src": ["'self'", *script_hashes],
            # Streamlit's components set inline styles (emotion); CSS cannot run script.
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": _images(online),
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "media-src": ["'self'", "data:", "blob:"],
            "worker-src": ["'self'", "blob:"],
            "frame-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'self'"],
        }
    )


def component_policy(*, online: bool) -> str:
    """The header policy of Streamlit component frames (``/component/...``).

    The st_folium frame builds its map script at run time; the header cannot know its hash, so
    it allows inline scripts here and the map's own ``<meta>`` policy (:func:`frame_policy`,
    enforced as well) allows exactly that one script and no event-handler attributes.
    """
    return _join(
        {
            "default-src": ["'self'"],
            "script-src": ["'self'", "'unsafe-inline'"],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": _images(online),
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'self'"],
        }
    )


def frame_policy(script_hashes: Iterable[str], *, online: bool) -> str:
    """The policy of one map frame: vendored assets and the exact inline scripts, nothing else.

    Parameters
    ----------
    script_hashes : iterable of str
        Hash sources (:func:`script_hash`) of every inline script the frame runs.
    online : bool
        ``HARTA_ONLINE``: allow OSM tile images.

    Returns
    -------
    str
        A policy for ``<meta http-equiv="Content-Security-Policy">`` (no ``'unsafe-inline'``
        for scripts, so inline event handlers and injected ``<script>`` never run).
    """
    return _join(
        {
            "default-src": ["'none'"],
            "script-src": ["'self'", *dict.fromkeys(script_hashes)],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": _images(online),
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
        }
    )


def meta_tag(policy: str) -> str:
    """``<meta http-equiv="Content-Security-Policy" content="...">`` for ``policy``."""
    # Single quotes stay as they are (readable; the attribute is double-quoted).
    content = _html.escape(policy, quote=False).replace('"', "&quot;")
    return f'<meta http-equiv="Content-Security-Policy" content="{content}">'


def with_meta_policy(page: str, *, online: bool) -> str:
    """A rendered standalone HTML page with a meta policy naming its own inline scripts.

    Parameters
    ----------
    page : str
        A whole HTML document (folium's ``get_root().render()``).
    online : bool
        ``HARTA_ONLINE``: allow OSM tile images.

    Returns
    -------
    str
        The page with the policy as the first element of ``<head>`` (so it covers every script
        that follows).
    """
    policy = frame_policy([script_hash(s) for s in inline_scripts(page)], online=online)
    tag = meta_tag(policy)
    head = re.search(r"<head\b[^>]*>", page, re.IGNORECASE)
    if head is None:
        return tag + page
    return page[: head.end()] + tag + page[head.end() :]


def headers_for(
    path: str, *, online: bool, script_hashes: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """Security headers for one response of the app server.

    Parameters
    ----------
    path : str
        The request path (``/component/...`` gets :func:`component_policy`).
    online : bool
        ``HARTA_ONLINE``.
    script_hashes : iterable of str
        Hashes of Streamlit's ``index.html`` inline scripts.

    Returns
    -------
    list of (str, str)
        Header names and values.
    """
    if path.startswith("/component/"):
        policy = component_policy(online=online)
    else:
        policy = app_policy(online=online, script_hashes=script_hashes)
    return [("Content-Security-Policy", policy), *EXTRA_HEADERS]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class SecurityHeaders:
    """Pure ASGI middleware: adds :func:`headers_for` to every HTTP response.

    Headers the inner app already set under the same names are replaced, so the policy is the
    one defined here.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], *, online: bool,
                 script_hashes: Iterable[str] = ()) -> None:  # fmt: skip
        self.app = app
        self.online = online
        self.script_hashes = tuple(script_hashes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in headers_for(
                scope.get("path", "/"), online=self.online, script_hashes=self.script_hashes
            )
        ]
        names = {k for k, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
