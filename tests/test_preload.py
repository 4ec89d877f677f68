"""A fresh server warms itself in the background (issue 11 item 11: the first Hotspots visit of a
server took 6.6-9.9 s against 2.3-2.9 s warm), without breaking what a page run must do itself.

Attacks: the preload must never import a module that declares a Streamlit component (outside a
page run the component is not registered, and every map frame of the server answers 404 -- the
first version of the preload did exactly that); the basemap source must be built once however many
tile threads ask for it at once (each first tile built it again, under the GIL, beside the page).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
sys.path.insert(0, str(APP))

import preload  # noqa: E402


def _imported_modules(path: Path) -> set[str]:
    """Every module a page imports at its top (an independent reading: ast.walk, not the
    preload's own parser)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.col_offset == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import) and node.col_offset == 0:
            out.update(alias.name for alias in node.names)
    return out - {"__future__"}


def test_every_page_import_is_listed_hotspots_and_map_first():
    listed = preload.page_imports()
    modules = [m for m, _ in listed]
    for page in (APP / "screens").glob("*.py"):
        assert _imported_modules(page) <= set(modules), page.name
    # Hotspots' own imports come before anything only the Map page imports.
    assert modules.index("geo.analysis") < modules.index("geo.analysis.map_data")
    assert ("geo.analysis", ("places", "runs")) in listed


def test_the_app_s_own_modules_and_streamlit_packages_are_never_warmed():
    assert not preload.warmable("harta_ui")
    assert not preload.warmable("map_frame")
    assert not preload.warmable("workshop_ui.common")
    assert not preload.warmable("streamlit")
    assert not preload.warmable("streamlit_folium")
    assert preload.warmable("geo.analysis.runs") and preload.warmable("folium")


def test_warming_a_fresh_interpreter_imports_the_analysis_and_no_component(tmp_path):
    """In a new interpreter (as a server starts): everything warmed, nothing failed, and not
    one module that declares a Streamlit component or belongs to the app."""
    probe = (
        "import json, sys; sys.path.insert(0, 'app'); import preload;"
        " times = preload.warm(log=lambda line: print(line, file=sys.stderr));"
        " print(json.dumps({'times': times, 'modules': sorted(sys.modules)}))"
    )
    env = {**os.environ, "HARTA_DATA_DIR": str(tmp_path), "HARTA_ONLINE": "0"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["times"]["failed"] == 0, done.stderr[-3000:]
    modules = set(result["modules"])
    # What the first Hotspots visit paid for: the analysis stack and scipy's statistics.
    assert {"geo.analysis.runs", "geo.analysis.places", "geo.maps.analysis"} <= modules
    assert {"scipy.stats", "folium"} <= modules
    # Never a component module, never the app's own.
    assert not {m for m in modules if m.split(".")[0] == "streamlit_folium"}
    assert not {"harta_ui", "map_frame", "import_wizard"} & modules
    # The basemap source was built into this server's data folder (offline maps).
    assert list(tmp_path.glob("cache/basemap/v*/source.pickle"))


def test_the_basemap_source_is_built_once_for_many_tile_threads(tmp_path, monkeypatch):
    from geo.maps.tiles import source

    monkeypatch.setattr(source, "cache_root", lambda: tmp_path)
    builds = []
    real = source.build_source

    def counted():
        builds.append(threading.get_ident())
        return real()

    monkeypatch.setattr(source, "build_source", counted)
    source.load_source.cache_clear()
    errors, results = [], []
    start = threading.Barrier(8)

    def tile_thread():
        start.wait()
        try:
            results.append(source.load_source())
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=tile_thread) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        source.load_source.cache_clear()
    assert not errors
    assert len(builds) == 1 and len(results) == 8
    assert all(r.extent == results[0].extent for r in results)


@pytest.mark.browser
@pytest.mark.db
def test_a_served_app_warms_itself_and_still_draws_its_maps(loaded_db_url):
    """End to end: the server logs a warm-up with nothing failed, and the Map and Hotspots pages
    still draw their maps (the component was registered by the page run, not the preload)."""
    from tests.browser import browser_page, map_frame, running_app, wait_idle

    with running_app(loaded_db_url) as base:
        with browser_page((1400, 900)) as page:
            for path in ("hotspots", "map"):
                page.goto(f"{base}/{path}")
                page.wait_for_selector("h1", timeout=120_000)
                wait_idle(page, 120_000)
                assert map_frame(page, 120_000) is not None  # Leaflet drew vector layers
        port = base.rsplit(":", 1)[1]
        log = (ROOT / ".test-data" / f"streamlit-{port}.log").read_text(errors="replace")
    assert "harta preload: warmed in" in log and ", 0 failed)" in log
