"""The refusals of workshops: every one a :class:`geo.errors.HartaError` (``message(lang)``).

Callers catch :class:`WorkshopError` (or the narrower :class:`SessionError`, :class:`MarkError`)
and show ``error.message(lang)``; the ``key`` is a ``workshop.error.*`` i18n key.
"""

from __future__ import annotations

from geo.errors import HartaError


class WorkshopError(HartaError, ValueError):
    """A workshop refusal with a translatable message (``workshop.error.*``).

    Parameters
    ----------
    key : str
        Translation key.
    **params
        Values for the message's placeholders.
    """


class SessionError(WorkshopError):
    """A session that cannot be opened, found or written to."""


class MarkError(WorkshopError):
    """A mark that cannot be saved, changed or deleted."""
