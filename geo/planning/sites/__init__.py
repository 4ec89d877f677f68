"""Candidate social-housing sites for families leaving Pata Rât (issue 14).

Modules, lowest first:

``criteria``     the criteria as data (``data/sites/criteria.json``) and weights files;
``mcda``         weighted sum, TOPSIS (Hwang & Yoon), AHP weights and consistency ratio;
``inputs``       the layers the criteria read (destinations, hazards, rasters, settlements);
``compute``      criteria values computed from data (network times, distances, rasters);
``transit``      scheduled time to the city centre from a GTFS feed;
``exclusions``   hard exclusions, each with its reason;
``robustness``   Monte Carlo weights; two weight sets side by side;
``selection``    the best set of k sites that keeps a minimum distance apart;
``surface``      the suitability GeoTIFF over the community's area;
``rank``         the run (build from data, ``.solve()``, stored as kind ``housing_sites``);
``cli``          ``harta sites rank`` (typer app ``sites_app``).
"""
