"""Roles and what each may do: the one vocabulary of Harta's permissions.

A person acts in one role.  The database enforces every permission (migrations 0002-0006: group
roles ``harta_<role>``, grants, row security, SECURITY DEFINER functions); this module names the
same permissions for the code that must *decide what to offer* (which pages, which buttons, which
analysis scope) so that no module keeps its own list of role names.  Changing a permission here
without a migration that changes the database does not widen access: the database refuses.

The role an action was taken in is read from the connection (``harta.role``, set by
:mod:`geo.db.security`), never passed as a second argument beside it.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["public", "community", "mediator", "police", "planner", "admin"]

#: Every role a person can act in (``public``: nobody signed in).
ROLES: tuple[Role, ...] = ("public", "community", "mediator", "police", "planner", "admin")
#: Roles an account can be given (``public`` is nobody signed in).
ACCOUNT_ROLES: tuple[Role, ...] = ("community", "mediator", "police", "planner", "admin")
#: The operator: the database owner acting through the CLI (migrations, bootstrap, backups).
SYSTEM = "system"

#: Named permissions -> the roles that hold them.
PERMISSIONS: dict[str, frozenset[str]] = {
    # incidents
    "incidents.read_exact": frozenset({"police", "mediator"}),
    "incidents.read_sensitive": frozenset({"police"}),
    "incidents.read_narrative": frozenset({"police", "mediator"}),
    "incidents.record": frozenset({"police", "mediator", "admin"}),
    "incidents.import": frozenset({"police", "mediator", "admin"}),
    "incidents.withdraw": frozenset({"police", "mediator"}),
    # workshops
    "workshops.draw": frozenset({"community", "mediator", "admin"}),
    "workshops.view": frozenset({"community", "mediator", "planner", "admin"}),
    # accounts and communities
    "accounts.manage": frozenset({"admin"}),
    "communities.edit": frozenset({"admin"}),
}

#: Roles whose accounts are limited to their communities (admin and public are not).
SCOPED_ROLES = frozenset({"community", "mediator", "police", "planner"})


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`ROLES`.

    Parameters
    ----------
    role : str

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For anything else, so a typo can never widen access.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    return role  # type: ignore[return-value]


def may(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission``.

    Parameters
    ----------
    role : str
        One of :data:`ROLES`.
    permission : str
        A key of :data:`PERMISSIONS`.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        For an unknown role; ``KeyError`` for an unknown permission.
    """
    check_role(role)
    return role in PERMISSIONS[permission]


def holders(permission: str) -> frozenset[str]:
    """The roles that hold ``permission`` (for UI decisions such as which pages to list)."""
    return PERMISSIONS[permission]


def analysis_scope(role: str) -> Literal["all", "exact", "aggregated"]:
    """Which incidents a role's analyses are computed from.

    ``all``: every incident (police); ``exact``: exact points of non-sensitive incidents
    (mediators); ``aggregated``: only the published counts (everyone else).
    """
    if may(role, "incidents.read_sensitive"):
        return "all"
    if may(role, "incidents.read_exact"):
        return "exact"
    return "aggregated"
