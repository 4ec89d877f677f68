"""Communities: the :class:`Community` object every layer is handed, and communities as data.

A community is a folder of files (:mod:`geo.communities.source` reads ``community.json``,
:mod:`geo.communities.files` the boundary, stops and places) loaded into PostGIS in one step
(:mod:`geo.communities.load`, writing through :mod:`geo.communities.store`).  Pages and commands
load the community **once** (:meth:`Community.load`) and pass the object down;
:func:`list_communities` lists them all (:mod:`geo.communities.query`).

Which rows belong to a community is the database's rule ``harta_member_rows`` (migration 0007):
rows of the community, its settlements and its parent that lie within :data:`AREA_TOLERANCE_M`
of its area.
"""

from geo.communities.files import read_boundary, read_places_file, read_stops_file
from geo.communities.load import (
    STOP_BUFFER_M,
    STREET_BUFFER_M,
    AddResult,
    add_community,
    add_community_from_source,
    bootstrap,
)
from geo.communities.model import AREA_TOLERANCE_M, Community, UnknownCommunity
from geo.communities.query import list_communities
from geo.communities.source import (
    BUNDLED_DIR,
    CONFIG_FILE,
    DEFAULT_TIMEZONES,
    KINDS,
    CommunityDataError,
    CommunitySource,
    bundled_sources,
    find_source,
    slugify,
)
from geo.communities.store import stop_row_hash

__all__ = [
    "AREA_TOLERANCE_M",
    "BUNDLED_DIR",
    "CONFIG_FILE",
    "DEFAULT_TIMEZONES",
    "KINDS",
    "STOP_BUFFER_M",
    "STREET_BUFFER_M",
    "AddResult",
    "Community",
    "CommunityDataError",
    "CommunitySource",
    "UnknownCommunity",
    "add_community",
    "add_community_from_source",
    "bootstrap",
    "bundled_sources",
    "find_source",
    "list_communities",
    "read_boundary",
    "read_places_file",
    "read_stops_file",
    "slugify",
    "stop_row_hash",
]
