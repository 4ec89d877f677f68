"""One result shape for every analysis: ``params``, ``too_few`` and ``message(lang)``.

Every analysis of Harta (hot spots, emerging hot spots, kernel density, perceived vs recorded,
and the planning models to come) is called the same way, after spopt: build it from data, then
``.solve()``; the result holds its tables as GeoDataFrames and carries

``params``
    everything needed to reproduce it (sizes, CRS, confidence, the inference method chosen …);
``too_few``
    True when the data were too thin for the analysis to mean anything -- then nothing was
    classified and ``message(lang)`` says why, in the reader's language.  Too little data is an
    outcome, not an error: a page shows the message where the map would be.

A page or a run store therefore handles any result without knowing which analysis made it.
This module sits at the bottom of the layers (it imports only :mod:`geo.i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from geo.i18n import DEFAULT_LANGUAGE, t


@runtime_checkable
class AnalysisResult(Protocol):
    """What every analysis result offers (see the module docstring)."""

    params: dict[str, Any]
    too_few: bool

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str | None:
        """Why the analysis was not run, in ``lang``; None when it was.

        Parameters
        ----------
        lang : str
            Language code (``"ro"``, ``"hu"`` or ``"en"``).

        Returns
        -------
        str or None
            The translated reason, or None when the analysis ran.
        """
        ...


@dataclass(kw_only=True)
class Result:
    """Base of the analysis results: the fields of :class:`AnalysisResult`, ready to inherit.

    Parameters
    ----------
    params : dict
        Settings of the analysis, enough to reproduce it.
    too_few : bool
        True when the analysis was not run for lack of data.
    message_key : str, optional
        i18n key of the reason (set exactly when ``too_few``).
    message_params : dict
        Values of the message's placeholders.
    """

    params: dict[str, Any] = field(default_factory=dict)
    too_few: bool = False
    message_key: str | None = None
    message_params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str | None:
        """Plain-language explanation of why the analysis was not run, or None.

        Parameters
        ----------
        lang : str
            ``ro``, ``hu`` or ``en``.

        Returns
        -------
        str or None
        """
        if self.message_key is None:
            return None
        return t(self.message_key, lang, **self.message_params)

    @property
    def method(self) -> str | None:
        """How the result's p-values were computed (``params["method"]``), None if not run."""
        return self.params.get("method")


def not_run(key: str, **message_params: Any) -> dict[str, Any]:
    """Keyword arguments of a result that was not run, for ``SomeResult(..., **not_run(...))``.

    Parameters
    ----------
    key : str
        i18n key of the reason.
    **message_params
        Its placeholders.

    Returns
    -------
    dict
        ``too_few``, ``message_key`` and ``message_params``.
    """
    return {"too_few": True, "message_key": key, "message_params": dict(message_params)}
