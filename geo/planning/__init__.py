"""Planning capabilities: the response network (:mod:`geo.planning.response`) and the others.

The "planning" layer: it may import analysis, workshops, incidents, maps, privacy, communities,
network and runs, never reports or the CLI.
"""
