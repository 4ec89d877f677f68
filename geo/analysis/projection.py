"""Moved to :mod:`geo.hexgrid.projection` (below privacy and analysis); kept for old imports."""

from geo.hexgrid.projection import *  # noqa: F403
