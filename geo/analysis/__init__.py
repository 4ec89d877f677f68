"""Spatial analysis of incidents: hex grids, kernel density, Gi* hotspots, emerging trends and
the comparison of community-perceived risk zones with recorded hotspots.

Pure library code: no database, no user interface.  Every function that measures something takes
a metric CRS and projects internally; results come back in EPSG:4326 (rasters stay metric).
"""
