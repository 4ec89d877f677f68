"""The refusal raised for a community file or field that cannot be used."""

from __future__ import annotations

from geo.errors import HartaError


class CommunityDataError(HartaError, ValueError):
    """A community file or field that cannot be used.

    Parameters
    ----------
    detail : str
        What is wrong, naming the file and the field (``str(error)`` is the detail alone, so
        logs and tests read it as before; :meth:`message` adds a translated preamble).
    """

    def __init__(self, detail: str) -> None:
        super().__init__("communities.error.data", detail=detail)
        self.args = (detail,)

    def __str__(self) -> str:
        return str(self.params["detail"])
