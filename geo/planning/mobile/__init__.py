"""The Mobile Unit's route planning (issue 13): school runs, services and accompaniment.

Modules, lowest first:

``inputs``
    Stops and vehicles from CSV/GeoJSON, with the importers' row-level errors.
``model``
    The day's routing problem: nodes, vehicles, the drive network's travel-time matrix.
``solver``
    OR-Tools routing: time windows, seats, shifts, pick-up and delivery, droppable stops.
``diagnose``
    Why each dropped stop was dropped, in words a coordinator understands.
``plan``
    The plan: itineraries, ``plan.json``, CSV, GPX, comparison of two plans.
``directions``
    Turn-by-turn steps with street names, for the driver sheet.
``mapview``
    Folium maps of the stops and of the routes (the page's).
``weekly``
    A week of plans for stops that recur on some days.
``store``
    Plans in the run store (``analysis_runs``, kind ``mobile_plan``) and ``mobile_plans``
    (row security: the stops are people's homes).
``cli``
    ``harta routes plan``.
"""
