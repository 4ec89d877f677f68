"""Start Streamlit with Harta's security headers on every HTTP response.

Streamlit has no setting for response headers.  Its server (Starlette under uvicorn since
Streamlit 1.5x) builds its middleware stack in
``streamlit.web.server.starlette.starlette_app.create_streamlit_middleware``; this launcher wraps
that function so the stack starts with :class:`geo.csp.SecurityHeaders`, then hands the command
line to Streamlit's own CLI.  ``harta serve`` and the browser tests start the app through here
(``geo.cli.streamlit_command``)::

    python app/serve.py run app/Home.py --server.port 8501 ...
"""

from __future__ import annotations

import sys
from pathlib import Path

from geo import csp
from geo.maps.tiles.cache import TileRoute
from geo.settings import get_settings
from geo.websessions import SessionRoute


def index_script_hashes() -> list[str]:
    """Hash sources of the inline scripts in Streamlit's own ``index.html``.

    Returns
    -------
    list of str
        One ``'sha256-…'`` per inline script (computed from the installed Streamlit, so an
        upgrade that changes them keeps working).
    """
    import streamlit

    index = Path(streamlit.__file__).parent / "static" / "index.html"
    return [csp.script_hash(s) for s in csp.inline_scripts(index.read_text(encoding="utf-8"))]


def install_security_headers(*, online: bool) -> None:
    """Make every Streamlit server started in this process send :func:`geo.csp.headers_for`.

    Parameters
    ----------
    online : bool
        ``HARTA_ONLINE``: the policies allow OSM tile images.

    Raises
    ------
    RuntimeError
        If the installed Streamlit no longer builds its middleware where this expects (an
        upgrade): serving without the policy would be silent, so refuse.
    """
    from starlette.middleware import Middleware

    try:
        from streamlit.web.server.starlette import starlette_app
    except ImportError as error:  # pragma: no cover - depends on the Streamlit version
        raise RuntimeError("Streamlit's Starlette server was not found") from error
    original = getattr(starlette_app, "create_streamlit_middleware", None)
    if original is None or getattr(original, "_harta", False):
        if original is None:
            raise RuntimeError("streamlit changed: create_streamlit_middleware is gone")
        return
    hashes = index_script_hashes()

    def create_streamlit_middleware() -> list:
        # First in the list = outermost: it sees every response, errors included.
        return [
            Middleware(csp.SecurityHeaders, online=online, script_hashes=hashes),
            Middleware(TileRoute),  # the offline basemap's tiles, same origin (geo.maps.tiles)
            Middleware(SessionRoute),  # the sign-in cookie (geo.websessions)
            *original(),
        ]

    create_streamlit_middleware._harta = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_middleware = create_streamlit_middleware


def main(argv: list[str]) -> None:
    """Install the headers and run Streamlit's command line with ``argv``."""
    install_security_headers(online=get_settings().online)
    from preload import start as start_preload
    from streamlit.web import cli

    start_preload()  # the pages' imports and caches, warmed in the background (app/preload.py)
    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
