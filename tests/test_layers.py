"""The layering of ``geo`` as a checked contract (import-linter, ``[tool.importlinter]`` in
pyproject.toml).

* **Layers**: ``cli`` > ``reports``/``planning`` > ``analysis``, ``workshops``, ``incidents``,
  ``ingest`` (and export, lifecycle, demo, runs, accounts) > ``maps``, ``privacy``, ``views`` >
  ``network`` > ``communities`` > ``db`` > ``settings``, ``i18n``, ``crs``, ``roles``,
  ``errors`` and the other leaves.  A lower layer never imports a higher one, directly or
  through any chain.  The contract is exhaustive: a new module of ``geo`` must be given a layer.
* **No Streamlit**: nothing in ``geo`` imports streamlit, streamlit_folium or the app's modules.
* **No cycles** between the sibling modules of ``geo`` or of any of its packages.

Pure: reads source files only, no database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ("layers", "no-streamlit", "acyclic")


@pytest.mark.parametrize("contract", CONTRACTS)
def test_import_contract_is_kept(contract: str, capsys, monkeypatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    code = lint_imports(
        config_filename=str(ROOT / "pyproject.toml"),
        limit_to_contracts=(contract,),
        no_cache=True,
        no_logo=True,
    )
    report = capsys.readouterr().out
    assert code == 0, report


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_of_geo_mentions_streamlit_even_lazily() -> None:
    """import-linter sees imports inside functions too; this second check, on the syntax tree,
    also covers files it might skip (migrations, scripts under ``geo``)."""
    offenders = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "geo").rglob("*.py")
        if _imported_roots(path)
        & {"streamlit", "streamlit_folium", "harta_ui", "harta_db", "harta_pickers", "map_frame"}
    }
    assert offenders == set()


def test_communities_are_resolved_by_slug_only_in_geo_communities() -> None:
    """One loader: outside :mod:`geo.communities` nothing runs ``... FROM communities WHERE
    slug`` (it takes a :class:`geo.communities.Community`, or calls ``Community.load``)."""
    offenders = sorted(
        str(path.relative_to(ROOT))
        for folder in ("geo", "app", "scripts", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if (ROOT / "geo" / "communities") not in path.parents
        and path.name != "test_layers.py"
        and "from communities where slug" in path.read_text(encoding="utf-8").lower()
    )
    assert offenders == []


def test_only_geo_crs_builds_transformers_or_guesses_utm_zones() -> None:
    """The CRS convention has one home: projections go through :func:`geo.crs.transformer`
    (built once per pair) and a CRS nobody configured through :func:`geo.crs.utm_crs`."""
    patterns = ("Transformer.from_crs", "Transformer.from_proj", "estimate_utm_crs")
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {pattern}"
        for path in (ROOT / "geo").rglob("*.py")
        if path != ROOT / "geo" / "crs.py"
        for pattern in patterns
        if pattern in path.read_text(encoding="utf-8")
    )
    assert offenders == []
