"""Every public entry point of the library carries a numpy-style docstring (issue 9, item 9).

No database: the test imports the modules and reads their functions' signatures and docstrings.
A public function or public method (name without a leading underscore, defined in the module that
is walked, not imported into it) must have a docstring; when it takes parameters other than
``self``/``cls`` the docstring needs a ``Parameters`` section underlined with dashes, and when its
return annotation is not ``None`` a ``Returns`` (or ``Yields``) section.  Properties, dunder
methods and the typer command functions of ``*/cli.py`` (their help text is the docstring's first
line and the options' ``help=``) are out of scope; so are the trivial one-liners in ``ALLOWED``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import types

# Packages are walked recursively; plain modules are checked on their own.
ROOTS = (
    "geo.analysis",
    "geo.network",
    "geo.ingest",
    "geo.workshops",
    "geo.communities",
    "geo.export",
    "geo.runs",
    "geo.results",
    "geo.crs",
    "geo.views",
    "geo.incidents",
    "geo.lifecycle",
    "geo.privacy",
    "geo.maps",
)

# Qualified name -> why it needs no Parameters/Returns sections (a docstring is still required).
ALLOWED: dict[str, str] = {}


def _modules() -> list[types.ModuleType]:
    """Import every module under ``ROOTS`` (packages recursively)."""
    found: dict[str, types.ModuleType] = {}
    for root in ROOTS:
        module = importlib.import_module(root)
        found[module.__name__] = module
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=root + "."):
                found[info.name] = importlib.import_module(info.name)
    return [found[name] for name in sorted(found)]


def _typer_commands(module: types.ModuleType) -> set[int]:
    """Ids of the functions registered as typer commands or callbacks in a ``cli`` module."""
    if not module.__name__.endswith(".cli"):
        return set()
    import typer

    ids: set[int] = set()
    for value in vars(module).values():
        if isinstance(value, typer.Typer):
            ids.update(id(c.callback) for c in value.registered_commands if c.callback)
            if value.registered_callback and value.registered_callback.callback:
                ids.add(id(value.registered_callback.callback))
    return ids


def _entry_points(module: types.ModuleType):
    """Yield ``(qualified name, function)`` for the module's public functions and methods."""
    commands = _typer_commands(module)
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            if id(obj) not in commands:
                yield f"{module.__name__}.{name}", obj
        elif inspect.isclass(obj):
            for attr, member in sorted(vars(obj).items()):
                if attr.startswith("_") or isinstance(member, property):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) and member.__module__ == module.__name__:
                    yield f"{module.__name__}.{name}.{attr}", member


def _section(doc: str, title: str) -> bool:
    """Whether ``doc`` has a numpy-style section ``title`` underlined with dashes."""
    return re.search(rf"^\s*{title}\s*\n\s*-{{3,}}\s*$", doc, re.MULTILINE) is not None


def _takes_parameters(func) -> bool:
    """Whether ``func`` takes any parameter besides ``self``/``cls``."""
    params = list(inspect.signature(func).parameters)
    return bool([p for p in params if p not in ("self", "cls")])


def _returns_something(func) -> bool:
    """Whether ``func``'s return annotation is present and not ``None``."""
    annotation = inspect.signature(func).return_annotation
    if annotation is inspect.Signature.empty:
        return False
    return annotation not in (None, "None", type(None))


def _problems(qualname: str, func) -> list[str]:
    """What ``func``'s docstring lacks, as short labels."""
    doc = inspect.getdoc(func)
    if not doc:
        return ["no docstring"]
    if qualname in ALLOWED:
        return []
    problems = []
    if _takes_parameters(func) and not _section(doc, "Parameters"):
        problems.append("no Parameters")
    if _returns_something(func) and not (_section(doc, "Returns") or _section(doc, "Yields")):
        problems.append("no Returns")
    return problems


def test_walk_finds_the_packages():
    names = {m.__name__ for m in _modules()}
    assert {"geo.analysis.hotspots", "geo.maps.draw", "geo.communities.load"} <= names


def test_section_detection_needs_the_dashes():
    assert _section("Summary.\n\nParameters\n----------\nx : int\n", "Parameters")
    assert not _section("Summary.\n\nParameters: x is an int.\n", "Parameters")


def test_every_public_entry_point_has_a_numpy_docstring():
    offenders = []
    for module in _modules():
        for qualname, func in _entry_points(module):
            problems = _problems(qualname, func)
            if problems:
                offenders.append(f"{qualname}: {', '.join(problems)}")
    assert not offenders, f"{len(offenders)} entry points lack numpy docstrings:\n" + "\n".join(
        offenders
    )


def test_allow_list_names_real_functions():
    known = {q for m in _modules() for q, _ in _entry_points(m)}
    assert set(ALLOWED) <= known, set(ALLOWED) - known
