"""Spatial analysis of incidents: Gi* hot spots, emerging trends, kernel density and the
comparison of community-perceived risk zones with recorded hot spots; stored hot spot runs.

One calling convention (spopt-like): build an analysis from data and a
:class:`~geo.communities.Community` (or an area and a metric ``crs``), then ``.solve()`` --
:class:`~geo.analysis.hotspots.HotspotAnalysis`, :class:`~geo.analysis.trends.EmergingHotspots`,
:class:`~geo.analysis.density.KernelDensity`, :class:`~geo.analysis.compare.PerceivedVsRecorded`.
Every result has the shape of :mod:`geo.results` (``params``, ``too_few``, ``message(lang)``)
and holds its tables as GeoDataFrames in EPSG:4326 (rasters stay metric).  The hexagon grids
are :mod:`geo.hexgrid`; runs are stored through :mod:`geo.runs`.
"""
