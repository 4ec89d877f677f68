"""The emergency-response network of a community (issue 12, items 3-5).

``responders``
    Kinds, weekly hours, capabilities; reading through the database's privacy function
    (homes as published cells), placing by hand, importing OSM.
``demand``
    Demand places: settlements, households, workshop risk zones, published incident cells.
``coverage``
    :class:`CoverageModel` -> ``.solve()`` -> :class:`CoverageResult`: nearest and second
    nearest responder per kind at an hour, coverage and backup coverage, gaps; runs
    ``response_coverage``.
``locate``
    :class:`LocateModel` (spopt MCLP / p-median, PuLP CBC) -> ``.solve()`` ->
    :class:`LocateResult`: new community focal points and what each gains; runs
    ``response_locate``.
``cli``
    ``harta coverage`` and ``harta locate`` (a typer app the lead registers).
"""
