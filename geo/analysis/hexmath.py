"""Moved to :mod:`geo.hexgrid.hexmath` (below privacy and analysis); kept for old imports."""

from geo.hexgrid.hexmath import *  # noqa: F403
