"""Hexagon grids: the cells both the published counts (:mod:`geo.privacy`) and the analyses
(:mod:`geo.analysis`) are counted in.

Below privacy and analysis in the layers (it imports only :mod:`geo.crs`), so that privacy never
imports analysis.  ``hexmath`` is the arithmetic on arrays (axial coordinates, corners,
lookups, points to cells), ``projection`` the interpolated projection lattice, ``grid`` the grids
as arrays (:class:`~geo.hexgrid.grid.HexCells`, cached per area) and GeoDataFrames.
Every public name of ``grid`` (which re-exports ``hexmath``'s) is importable from here.
"""

from geo.hexgrid.grid import *  # noqa: F403 -- the package's public names
from geo.hexgrid.grid import HexCells, Orientation, hex_cells, hex_grid  # noqa: F401
