"""Moved to :mod:`geo.hexgrid.grid` (below privacy and analysis); kept for old imports."""

from geo.hexgrid.grid import *  # noqa: F403
