"""Mappings and the profiles that keep them: which column is which field, which written value
is which code, which value every row without one gets.

A :class:`Mapping` is built from the CLI's ``--field``/``--value``/``--set`` options
(:func:`parse_options`) or loaded from a saved profile (``data/import_profiles/<name>.json``,
:func:`load_profile`); :mod:`geo.ingest.mapping` applies it to a file.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from geo.ingest.report import ImportFailed
from geo.settings import PROJECT_ROOT

#: Where saved mapping profiles live, one JSON file each.
PROFILES_DIR = PROJECT_ROOT / "data" / "import_profiles"


@dataclass
class Mapping:
    """Columns → fields, values → codes, and values for rows that have none.

    Attributes
    ----------
    fields : dict
        Field (or ``time`` for a separate time column) to the source column header, as
        written in the file.
    values : dict
        Field to ``{written value: code}``; written values match ignoring case and diacritics.
    defaults : dict
        Field to the value of every row whose cell is blank (or that has no such column).
    name : str or None
        Profile name, when loaded from one.
    layer : str or None
        Layer the profile was made for.
    """

    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    layer: str | None = None

    def merged(self, other: Mapping | None) -> Mapping:
        """This mapping with ``other``'s entries on top (command-line options over a profile).

        Parameters
        ----------
        other : Mapping or None
            The mapping that wins; None returns this one unchanged.

        Returns
        -------
        Mapping
            A new mapping; value tables are merged per field.
        """
        if other is None:
            return self
        values = {k: dict(v) for k, v in self.values.items()}
        for fld, table in other.values.items():
            values.setdefault(fld, {}).update(table)
        return Mapping(
            {**self.fields, **other.fields},
            values,
            {**self.defaults, **other.defaults},
            other.name or self.name,
            other.layer or self.layer,
        )

    def to_dict(self) -> dict:
        """JSON-ready form (what a profile file holds).

        Returns
        -------
        dict
            ``name``, ``layer``, ``fields``, ``values`` and ``set``.
        """
        return {
            "name": self.name,
            "layer": self.layer,
            "fields": self.fields,
            "values": self.values,
            "set": self.defaults,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Mapping:
        """The mapping a profile file (or :meth:`to_dict`) describes.

        Parameters
        ----------
        data : dict
            ``name``, ``layer``, ``fields``, ``values`` and ``set`` (all optional).

        Returns
        -------
        Mapping
            Keys and values turned into strings.
        """
        return cls(
            fields={str(k): str(v) for k, v in (data.get("fields") or {}).items()},
            values={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in (data.get("values") or {}).items()
            },
            defaults={str(k): str(v) for k, v in (data.get("set") or {}).items()},
            name=data.get("name"),
            layer=data.get("layer"),
        )


def parse_options(
    fields: list[str] | None = None,
    values: list[str] | None = None,
    sets: list[str] | None = None,
) -> Mapping:
    """Build a mapping from ``--field TARGET=SOURCE``, ``--value FIELD:TEXT=CODE`` and
    ``--set FIELD=VALUE`` options.

    Parameters
    ----------
    fields, values, sets : list of str
        The options as given (quotes already removed by the shell).

    Returns
    -------
    Mapping

    Raises
    ------
    ImportFailed
        ``ingest.error.bad_option`` naming the option that has no ``=`` (or no ``:``).
    """
    mapping = Mapping()
    for option in fields or []:
        target, source = _split(option, "=", "--field")
        mapping.fields[target] = source
    for option in values or []:
        left, code = _split(option, "=", "--value", last=True)
        fld, text = _split(left, ":", "--value")
        mapping.values.setdefault(fld, {})[text] = code
    for option in sets or []:
        fld, value = _split(option, "=", "--set")
        mapping.defaults[fld] = value
    return mapping


def _split(option: str, sep: str, name: str, last: bool = False) -> tuple[str, str]:
    head, found, tail = option.rpartition(sep) if last else option.partition(sep)
    if not found or not head.strip() or not tail.strip():
        raise ImportFailed("ingest.error.bad_option", option=f"{name} {option}")
    return head.strip().strip("\"'"), tail.strip().strip("\"'")


# --- profiles ---------------------------------------------------------------------------------


def list_profiles(directory: Path = PROFILES_DIR) -> list[str]:
    """Names of the saved profiles.

    Parameters
    ----------
    directory : pathlib.Path
        Folder of ``<name>.json`` profiles; a missing folder gives no profiles.

    Returns
    -------
    list of str
    """
    return sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []


def load_profile(name: str | Path, directory: Path = PROFILES_DIR) -> Mapping:
    """The saved profile ``name`` (a name under ``data/import_profiles`` or a path).

    Parameters
    ----------
    name : str or Path
    directory : Path
        Where named profiles are kept.

    Returns
    -------
    Mapping

    Raises
    ------
    ImportFailed
        ``ingest.error.unknown_profile`` (with the known names) or unreadable JSON.
    """
    path = Path(name)
    if not path.suffix:
        path = directory / f"{_safe_name(str(name))}.json"
    if not path.is_file():
        raise ImportFailed(
            "ingest.error.unknown_profile",
            profile=str(name),
            profiles=", ".join(list_profiles(directory)) or "-",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFailed("ingest.error.bad_profile", profile=path.name, reason=str(exc)) from exc
    mapping = Mapping.from_dict(data)
    mapping.name = mapping.name or path.stem
    return mapping


def save_profile(mapping: Mapping, name: str, directory: Path = PROFILES_DIR) -> Path:
    """Keep ``mapping`` as the profile ``name`` (overwriting one of that name).

    Parameters
    ----------
    mapping : Mapping
    name : str
        Letters, digits, ``-`` and ``_`` (anything else becomes ``_``).
    directory : Path

    Returns
    -------
    Path
        The file written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    mapping = dataclasses.replace(mapping, name=_safe_name(name))
    path = directory / f"{mapping.name}.json"
    path.write_text(json.dumps(mapping.to_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def _safe_name(name: str) -> str:
    # A profile name never becomes a path outside the profiles folder.
    return re.sub(r"[^0-9A-Za-z_-]+", "_", name).strip("_") or "profile"
