"""The ``harta`` group itself: one language per run, the sub-command groups, shared helpers."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from typer import rich_utils
from typer.core import TyperGroup

from geo.i18n import LANGUAGES, language_of_run, localise_commands, t
from geo.network.cli import network_app
from geo.settings import get_settings

#: Appended to the help of commands that run as the database owner.
OPERATOR = (
    " Operator command: needs the cluster owner's credentials (DATABASE_URL, or the embedded"
    " cluster's password file)."
)
#: typer's own words in ``--help`` (panel titles), per run.
_RICH_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "app.cli.panel.arguments",
    "OPTIONS_PANEL_TITLE": "app.cli.panel.options",
    "COMMANDS_PANEL_TITLE": "app.cli.panel.commands",
}


def _localise_help_options(command, text: str) -> None:  # noqa: ANN001
    """Give ``--help`` of ``command`` and every sub-command the help ``text`` (typer's click
    creates that option on demand, with English words)."""
    original = command.get_help_option

    def help_option(ctx):  # noqa: ANN001, ANN202
        option = original(ctx)
        if option is not None:
            option.help = text
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _localise_help_options(sub, text)


class LocalisedGroup(TyperGroup):
    """The ``harta`` group: one language per run, ``--help`` included.

    Before click parses anything, the run's language is read from ``--lang`` or
    ``HARTA_LANGUAGE`` (:func:`geo.i18n.language_of_run`); it is put in ``HARTA_LANGUAGE`` for
    the run (every command, here or in a sub-package's ``cli.py``, reads
    ``get_settings().language``) and the help texts of the whole command tree are replaced by
    the catalogue's (:func:`geo.i18n.localise_commands`).  Both are undone when the run ends.
    """

    def main(self, args=None, *rest, **extra):  # noqa: ANN001, ANN002, ANN003, ANN201
        """Run the command line in its one language (see the class)."""
        argv = list(sys.argv[1:] if args is None else args)
        previous = os.environ.get("HARTA_LANGUAGE")
        lang = language_of_run(argv, previous)
        words = {name: getattr(rich_utils, name) for name in _RICH_WORDS}
        os.environ["HARTA_LANGUAGE"] = lang
        for name, key in _RICH_WORDS.items():
            setattr(rich_utils, name, t(key, lang))
        localise_commands(self, lang)
        _localise_help_options(self, t("app.cli.word.help", lang))
        try:
            return super().main(argv, *rest, **extra)
        finally:
            for name, word in words.items():
                setattr(rich_utils, name, word)
            if previous is None:
                os.environ.pop("HARTA_LANGUAGE", None)
            else:
                os.environ["HARTA_LANGUAGE"] = previous


app = typer.Typer(
    cls=LocalisedGroup, help="Harta: risk mapping and safety planning.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The database: embedded cluster or DATABASE_URL." + OPERATOR, no_args_is_help=True
)
community_app = typer.Typer(help="Communities: Pata Rât, settlements, partners." + OPERATOR)
demo_app = typer.Typer(help="Synthetic demo layers, clearly labelled as demo." + OPERATOR)
user_app = typer.Typer(
    help="Accounts: add, list, change password, deactivate." + OPERATOR, no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(community_app, name="community")
app.add_typer(demo_app, name="demo")
app.add_typer(network_app, name="network")

console = Console()
err = Console(stderr=True)


@app.callback()
def _private_files(
    lang: str | None = typer.Option(
        None, "--lang", help="Language of this run: ro, hu or en (default: HARTA_LANGUAGE)."
    ),
) -> None:
    # LocalisedGroup.main already applied --lang; here it is only checked.
    if lang is not None and lang not in LANGUAGES:
        raise typer.BadParameter(", ".join(LANGUAGES), param_hint="--lang")
    from geo.files import make_private

    make_private()  # every file any command writes is 0600, the data folder 0700 (geo/files.py)


def _lang() -> str:
    return get_settings().language


def _engine():
    from geo.db.engine import get_engine

    return get_engine()


def _load_community(engine, slug: str):  # noqa: ANN001, ANN202
    """The community with ``slug``, loaded once for the command; exits 1 when there is none."""
    from geo.communities import Community, UnknownCommunity

    try:
        return Community.load(engine, slug)
    except UnknownCommunity:
        err.print(t("app.cli.unknown_community", _lang(), slug=slug))
        raise typer.Exit(1) from None
