"""How the offline basemap looks: colours, line widths per zoom, label sizes.

Colours follow the usual OpenStreetMap "Carto" conventions (people know them from the online
map): motorway/trunk red-orange, primary orange, secondary yellow, minor streets white with a
grey casing; woods and grass in light greens; the railway grey with white dashes.
"""

from __future__ import annotations

BACKGROUND = (242, 239, 233)  # #f2efe9, the same as styles/layers.json "basemap.background"

LANDCOVER_COLOURS: dict[str, tuple[int, int, int]] = {
    "grass": (218, 236, 196),
    "tree": (173, 209, 158),
}
LANDFILL_FILL = (203, 190, 170)
LANDFILL_EDGE = (140, 120, 95)

#: ``class -> (fill colour, casing colour)``.
STREET_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "motorway": ((232, 146, 162), (190, 80, 100)),
    "trunk": ((249, 178, 156), (200, 110, 80)),
    "primary": ((252, 214, 164), (175, 130, 70)),
    "secondary": ((247, 250, 191), (150, 150, 90)),
    "tertiary": ((255, 255, 255), (160, 160, 160)),
    "residential": ((255, 255, 255), (175, 175, 175)),
    "unclassified": ((255, 255, 255), (175, 175, 175)),
    "living_street": ((237, 237, 237), (175, 175, 175)),
    "service": ((255, 255, 255), (190, 190, 190)),
}

#: Line width (pixels, fill only) of a street class at zoom 15; other zooms scale from it.
WIDTH_Z15: dict[str, float] = {
    "motorway": 9.0,
    "trunk": 9.0,
    "primary": 8.0,
    "secondary": 7.0,
    "tertiary": 6.0,
    "residential": 4.5,
    "unclassified": 4.5,
    "living_street": 4.0,
    "service": 2.5,
}

#: Lowest zoom at which a class is drawn at all / its name is written along it.
MIN_ZOOM: dict[str, int] = {
    "motorway": 8,
    "trunk": 8,
    "primary": 9,
    "secondary": 10,
    "tertiary": 11,
    "residential": 12,
    "unclassified": 12,
    "living_street": 13,
    "service": 14,
}
NAME_ZOOM: dict[str, int] = {
    "motorway": 13,
    "trunk": 13,
    "primary": 14,
    "secondary": 14,
    "tertiary": 15,
    "residential": 15,
    "unclassified": 15,
    "living_street": 16,
    "service": 17,
}

#: Zoom ranges of place names: neighbourhoods (city-wide orientation) and settlements.
NEIGHBOURHOOD_ZOOMS = range(12, 17)
SETTLEMENT_ZOOMS = range(12, 20)

TEXT = (40, 40, 40)
HALO = (255, 255, 255)
NEIGHBOURHOOD_TEXT = (95, 85, 110)
SETTLEMENT_TEXT = (20, 20, 20)
RAIL_COLOURS_DARK = (110, 110, 110)


def street_width(cls: str, zoom: int) -> float:
    """Fill width in pixels of a street of class ``cls`` at ``zoom``.

    Parameters
    ----------
    cls : str
        Street class (``primary`` ...).
    zoom : int
        Tile zoom.

    Returns
    -------
    float
        Pixels; streets grow 1.6x per zoom level above 15 and shrink below it, never under 0.6.
    """
    base = WIDTH_Z15.get(cls, 3.0)
    return max(0.6, base * (1.6 ** (zoom - 15)) if zoom > 15 else base * (0.55 ** (15 - zoom)))


def label_size(cls: str, zoom: int) -> int:
    """Font size (pixels) of a street name.

    Parameters
    ----------
    cls : str
        Street class.
    zoom : int
        Tile zoom.

    Returns
    -------
    int
    """
    major = cls in ("motorway", "trunk", "primary", "secondary")
    return (12 if major else 11) + (1 if zoom >= 17 else 0)
