"""Translations for every string a person reads.

Catalogues live in ``geo/locales/<lang>/<domain>.json``; each file maps keys of the form
``"<domain>.<name>"`` to a message with ``str.format`` placeholders.  Splitting catalogues by
domain (``app``, ``ingest``, ``analysis`` …) lets each part of Harta own its strings.

Labels of taxonomy codes (hazards, incident types, facility kinds) are not here: they sit next to
their code in ``styles/taxonomy.json`` and are read through :mod:`geo.taxonomy`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).with_name("locales")

#: Languages with complete catalogues, in the order the language picker shows them.
LANGUAGES: dict[str, str] = {"ro": "Română", "hu": "Magyar", "en": "English"}
DEFAULT_LANGUAGE = "ro"
#: Language used when a key is missing from the requested catalogue.
FALLBACK_LANGUAGE = "en"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Return every message of one language, merged over its domain files.

    Parameters
    ----------
    lang : str
        A language code, e.g. ``"ro"``.

    Returns
    -------
    dict
        Key to message.  Empty if the language has no catalogue.
    """
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / lang
    if not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.json")):
        with path.open(encoding="utf-8") as fh:
            entries = json.load(fh)
        duplicated = merged.keys() & entries.keys()
        if duplicated:
            raise ValueError(f"{path}: keys defined twice: {sorted(duplicated)}")
        merged.update(entries)
    return merged


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """Translate ``key`` into ``lang`` and fill in ``params``.

    Falls back to English, then to the key itself, so a missing translation is visible but never
    breaks a page.

    Parameters
    ----------
    key : str
        Message key, e.g. ``"app.map.title"``.
    lang : str
        Language code.
    **params
        Values for the message's ``{placeholders}``.

    Returns
    -------
    str
        The translated message.
    """
    message = catalogue(lang).get(key) or catalogue(FALLBACK_LANGUAGE).get(key) or key
    if params:
        try:
            return message.format(**params)
        except (KeyError, IndexError, ValueError):
            return message
    return message


def community_name(slug: str, name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A community's name as ``lang`` writes it.

    Names come from the data (``data/communities/*/community.json``, or whoever added the
    community), in one language; a name that needs translating ("Rampa (the landfill)") has a
    catalogue entry ``app.community_name.<slug>``.  Every other name is shown as it is.

    Parameters
    ----------
    slug : str
        The community's slug.
    name : str
        Its name as stored.
    lang : str
        Language code.

    Returns
    -------
    str
    """
    key = f"app.community_name.{slug}"
    return catalogue(lang).get(key) or catalogue(FALLBACK_LANGUAGE).get(key) or name


def missing_keys(lang: str) -> set[str]:
    """Keys present in the fallback catalogue but absent from ``lang``'s."""
    return set(catalogue(FALLBACK_LANGUAGE)) - set(catalogue(lang))


#: Babel locale of each language (decimal comma and digit grouping for ro and hu).
LOCALES: dict[str, str] = {"ro": "ro_RO", "hu": "hu_HU", "en": "en_GB"}


def number(value: float | int | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """Format a number as people who read ``lang`` write it ("28,9" in ro and hu, "28.9" in en).

    Parameters
    ----------
    value : float, int or None
        The number; None (or NaN) gives an en dash.
    lang : str
        ro, hu or en.
    decimals : int
        Digits after the decimal separator, always shown (so a column of figures lines up).

    Returns
    -------
    str
    """
    from babel.numbers import format_decimal

    try:  # NaN is the only value unequal to itself; pandas' NA refuses to be a bool
        missing = value is None or bool(value != value)
    except TypeError:
        missing = True
    if missing:
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALES.get(lang, LOCALES["en"]))


def date(value: object, lang: str = DEFAULT_LANGUAGE, *, with_time: bool = False) -> str:
    """Format a date (or a timezone-aware datetime, in its own zone) the way ``lang`` writes it.

    Parameters
    ----------
    value : datetime.date or datetime.datetime
    lang : str
        ro, hu or en.
    with_time : bool
        Add hours and minutes (datetimes only).

    Returns
    -------
    str
        e.g. "1 dec. 2026" (ro), "2026. dec. 1." (hu), "1 Dec 2026" (en).
    """
    from babel.dates import format_date, format_time

    locale = LOCALES.get(lang, LOCALES["en"])
    day = format_date(value, format="medium", locale=locale)
    if with_time and hasattr(value, "hour"):
        return f"{day} {format_time(value, format='short', tzinfo=value.tzinfo, locale=locale)}"
    return day


#: Catalogue key prefixes of the command line's help: ``app.cli.help.<command path>`` for a
#: command's description (``app.cli.help`` for the top), ``app.cli.option.<path>.<option>``
#: or ``app.cli.option.<option>`` for an option's help.
HELP_KEY = "app.cli.help"
OPTION_KEY = "app.cli.option"


def language_of_run(args: list[str], default: str | None = None) -> str:
    """The one language of a command-line run: ``--lang X`` (or ``--lang=X``) anywhere before
    ``--``, else ``default`` (``HARTA_LANGUAGE``), else :data:`DEFAULT_LANGUAGE`.

    Parameters
    ----------
    args : list of str
        The command line after the program name.
    default : str, optional
        The configured language.

    Returns
    -------
    str
        A code of :data:`LANGUAGES` (an unknown one falls back to the default).
    """
    chosen = default
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            chosen = args[i + 1]
        elif arg.startswith("--lang="):
            chosen = arg.split("=", 1)[1]
    if chosen in LANGUAGES:
        return chosen
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def localise_commands(command: object, lang: str, path: str = "") -> int:
    """Put ``lang``'s help texts on a click command tree (typer builds one per run).

    Each command's description comes from ``app.cli.help.<path>`` (``db.status``, ``import``
    …) and each option's from ``app.cli.option.<path>.<name>`` or ``app.cli.option.<name>``
    where the catalogue has them; the rest
    keep the English written in the code.  Works on any object shaped like click's
    ``Command``/``Group`` (``help``, ``short_help``, ``params``, ``commands``), so this module
    needs no click.

    Parameters
    ----------
    command : click.Command
        The root of the tree.
    lang : str
        Language code.
    path : str
        Dotted path of ``command`` (empty for the root).

    Returns
    -------
    int
        How many texts were replaced.
    """
    texts = catalogue(lang)
    replaced = 0
    key = f"{HELP_KEY}.{path}" if path else HELP_KEY
    if key in texts:
        command.help = texts[key]
        command.short_help = None
        replaced += 1
    for param in getattr(command, "params", ()):
        # A command's own wording of an option first, then the option's usual one.
        option = texts.get(f"{OPTION_KEY}.{path}.{param.name}") or texts.get(
            f"{OPTION_KEY}.{param.name}"
        )
        if option and getattr(param, "help", None) is not None:
            param.help = option
            replaced += 1
    for name, sub in getattr(command, "commands", {}).items():
        replaced += localise_commands(sub, lang, f"{path}.{name}" if path else name)
    return replaced
