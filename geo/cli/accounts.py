"""``harta user`` and ``--as USER``: accounts, and commands acting as one."""

from __future__ import annotations

import os
import sys

import typer

from geo.cli.base import (
    _engine,
    _lang,
    _load_community,
    console,
    err,
    user_app,
)
from geo.i18n import t

# --- acting as an account -------------------------------------------------------------------
# Commands that read or write incident rows act as a named account under row-level security,
# never as the database owner: ``--as USER`` signs in (lockout applies) and the command runs on
# ``role_engine(url, user.role, user_id=user.id)``.  The password comes from a hidden prompt,
# ``--password-stdin`` or HARTA_PASSWORD (for scripts), never from the command line.

AS_HELP = "Act as this Harta account (its role and communities); asks for its password."
PASSWORD_STDIN_HELP = "Read the account's password from stdin (else HARTA_PASSWORD, else a prompt)."


def _account_password(username: str, password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    from_env = os.environ.get("HARTA_PASSWORD")
    if from_env:
        return from_env
    return typer.prompt(t("export.cli.password_for", _lang(), user=username), hide_input=True)


def acting_engine(as_user: str | None, password_stdin: bool = False):  # noqa: ANN201
    """The engine a command acts on, and the account (None when nobody signed in).

    Parameters
    ----------
    as_user : str or None
        Username from ``--as``; without it the command acts as the ``public`` role.
    password_stdin : bool
        Read the password from standard input.

    Returns
    -------
    (Engine, geo.accounts.User or None)

    Raises
    ------
    typer.Exit
        Code 1 when the password is wrong, the account unknown, inactive or locked (one
        message for all, as on the sign-in page).
    """
    from geo.db.engine import database_url
    from geo.db.security import role_engine

    url = database_url()
    if as_user is None:
        return role_engine(url, "public"), None
    from geo.accounts import authenticate

    password = _account_password(as_user, password_stdin)
    result = authenticate(_engine(), as_user, password)
    if not result.ok or result.user is None:
        err.print(f"[red]{t(result.message_key, _lang())}[/red]")
        raise typer.Exit(1)
    user = result.user
    return role_engine(url, user.role, user_id=user.id), user


# --- accounts -----------------------------------------------------------------------------
# Run as the schema owner (the CLI is trusted, like migrations); passwords are read from a
# hidden prompt with confirmation or from standard input, never from the command line (where
# they would land in the shell history and the process list).


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt(
        t("app.cli.password_prompt", _lang()),
        hide_input=True,
        confirmation_prompt=t("app.cli.password_repeat", _lang()),
    )


def _account_error(error) -> None:  # noqa: ANN001
    err.print(error.message(_lang()))
    raise typer.Exit(1)


def _community_ids(engine, slugs: list[str]) -> list[int]:  # noqa: ANN001
    return [_load_community(engine, slug).id for slug in slugs]


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(
        ..., "--role", help="public, community, mediator, police, planner, admin"
    ),
    community: list[str] = typer.Option([], "--community", help="Community slug (repeatable)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Create an account."""
    from geo.accounts import AccountError, create_user

    engine = _engine()
    ids = _community_ids(engine, community)
    password = _read_password(password_stdin)
    try:
        user = create_user(engine, username, password, role, ids)
    except AccountError as error:
        _account_error(error)
    console.print(t("app.cli.user_added", _lang(), user=user.username, role=user.role))


@user_app.command("list")
def user_list() -> None:
    """List accounts (never passwords)."""
    from geo.accounts import list_users

    engine = _engine()
    from sqlalchemy import text

    with engine.connect() as conn:
        slugs = dict(conn.execute(text("SELECT id, slug FROM communities")).all())
    for user in list_users(engine):
        state = t("app.cli.user_active" if user.active else "app.cli.user_inactive", _lang())
        locked = " 🔒" if user.locked_until is not None else ""
        scope = ",".join(slugs.get(c, str(c)) for c in user.communities) or "-"
        console.print(f"{user.username}\t{user.role}\t{scope}\t{state}{locked}", markup=False)


@user_app.command("passwd")
def user_passwd(
    username: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Set a new password (also unlocks the account)."""
    from geo.accounts import AccountError, set_password

    password = _read_password(password_stdin)
    try:
        set_password(_engine(), username, password)
    except AccountError as error:
        _account_error(error)
    console.print(t("app.cli.password_set", _lang(), user=username.strip().lower()))


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """Disable an account (kept for the record)."""
    from geo.accounts import AccountError, deactivate

    try:
        deactivate(_engine(), username)
    except AccountError as error:
        _account_error(error)
    console.print(t("app.cli.user_deactivated", _lang(), user=username.strip().lower()))
