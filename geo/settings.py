"""One settings object for Harta, read from the environment.

Variables
---------
HARTA_DATA_DIR
    Folder for everything Harta writes: the embedded PostGIS cluster, graph caches, analysis
    outputs.  Default ``<project>/.harta-data``.  Created or tightened to 0700 (as root 0710,
    group ``postgres``, so the server can reach its cluster inside) by
    :func:`geo.files.make_private`, which also makes every file Harta writes 0600.  The
    cluster's superuser password is in ``<data dir>/pg/superuser.password`` (0600).  As root
    a cluster the ``postgres`` user cannot reach (e.g. under ``/root``) moves to
    ``/var/tmp/harta-clusters``.
DATABASE_URL
    ``postgresql+psycopg://user:pass@host:port/db`` of an existing PostGIS server.  When set, no
    embedded cluster is started.  Never printed: ``harta db status`` masks the password.
HARTA_PG_PORT
    TCP port of the embedded cluster on localhost (default 54329).
HARTA_LANGUAGE, HARTA_COMMUNITY
    Defaults for the app's language and community pickers.
HARTA_ADDRESS
    Interface the app listens on (default ``localhost``; ``0.0.0.0`` for a workshop network).
HARTA_ONLINE
    ``1`` allows OSM tiles in the browser and explicit online OSM refreshes.  Default ``0``:
    no code path reaches the internet.
HARTA_RETENTION_DAYS
    Incidents that occurred longer ago than this are deleted by ``harta purge`` (run it from
    cron).  Default 1825 (five years); agree the period with the partner organisations.
HARTA_MAX_UPLOAD_MB
    Largest file the app accepts in an upload (passed to Streamlit as
    ``--server.maxUploadSize`` and checked again by every upload path).  Default 20.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_SOURCES_DIR = PROJECT_ROOT / "data"
STYLES_DIR = PROJECT_ROOT / "styles"
#: Vendored Leaflet/jQuery/Bootstrap files (scripts/vendor_assets.sh); Streamlit serves this
#: folder at /app/static/vendor.  geo.maps reads it from here, never from app/ itself.
VENDOR_DIR = PROJECT_ROOT / "app" / "static" / "vendor"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Resolved configuration.  Build it with :func:`get_settings`."""

    data_dir: Path
    database_url: str | None = None
    pg_port: int = 54329
    language: str = "ro"
    community: str = "pata-rat"
    online: bool = False
    #: Counts below this are suppressed in every aggregated (non-exact) view.
    suppression_threshold: int = 5
    #: ``harta purge`` deletes incidents older than this many days.
    retention_days: int = 1825
    #: Largest upload accepted by the app, MB.
    max_upload_mb: int = 20
    #: Interface the app listens on: localhost by default; 0.0.0.0 lets tablets in the room in.
    address: str = "localhost"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def cluster_dir(self) -> Path:
        """Where the embedded PostgreSQL cluster lives."""
        return self.data_dir / "pg"

    @property
    def cache_dir(self) -> Path:
        """Graph caches and other derived files that can be rebuilt."""
        return self.data_dir / "cache"

    @property
    def communities_dir(self) -> Path:
        """Source files of communities added with ``harta community add``."""
        return self.data_dir / "communities"

    @property
    def outputs_dir(self) -> Path:
        """Analysis outputs (GeoTIFFs, exports)."""
        return self.data_dir / "outputs"


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed).

    Returns
    -------
    Settings
        From ``HARTA_*`` variables and ``DATABASE_URL``, with the defaults above.
    """
    env = os.environ
    data_dir = Path(env.get("HARTA_DATA_DIR") or PROJECT_ROOT / ".harta-data").resolve()
    return Settings(
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or None,
        pg_port=int(env.get("HARTA_PG_PORT", "54329")),
        language=env.get("HARTA_LANGUAGE", "ro"),
        community=env.get("HARTA_COMMUNITY", "pata-rat"),
        online=_flag(env.get("HARTA_ONLINE")),
        suppression_threshold=int(env.get("HARTA_SUPPRESSION_THRESHOLD", "5")),
        retention_days=int(env.get("HARTA_RETENTION_DAYS", "1825")),
        max_upload_mb=int(env.get("HARTA_MAX_UPLOAD_MB", "20")),
        address=env.get("HARTA_ADDRESS", "localhost"),
    )
