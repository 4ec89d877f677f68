"""One shape for every refusal a person reads: :class:`HartaError` with ``message(lang)``.

Each module subclasses :class:`HartaError` for its own kind of refusal (``ImportFailed``,
``ExportRefused``, ``WorkshopError`` …) so callers can still catch the kind they handle, but pages
and the CLI never branch on the type to find the text: ``error.message(lang)`` always gives it,
in the reader's language, from the i18n catalogue (``key`` and ``params``).
"""

from __future__ import annotations

from geo.i18n import DEFAULT_LANGUAGE, t


class HartaError(Exception):
    """A translatable refusal.

    Parameters
    ----------
    key : str
        i18n key of the reason (e.g. ``ingest.error.unreadable``).
    **params
        Values for the message's placeholders.

    Attributes
    ----------
    key : str
    params : dict
    """

    def __init__(self, key: str, /, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(t(key, "en", **params))

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The reason in ``lang`` (``ro``, ``hu`` or ``en``).

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return t(self.key, lang, **self.params)
