"""Attacks by another local user of the machine (issue 8, route 4).

An unprivileged OS account (``harta-attacker``, created here) tries what worked against the
trust cluster: connect as the superuser over TCP and over the unix socket without a password,
list the data folder, read the password file and an export.  Every attempt must be refused.
The attacker runs as a real other account (``runuser``), so only root can run these; elsewhere
they are skipped with the reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from geo.db.local import SUPERUSER, LocalCluster, pg_bin_dir
from tests.browser import free_port
from tests.conftest import ROOT, TEST_DATA_DIR

ATTACKER = "harta-attacker"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to create and act as a second OS account"
)


@pytest.fixture(scope="module")
def attacker() -> str:
    """An unprivileged system account with no home and no shell."""
    try:
        pwd.getpwnam(ATTACKER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER],
            check=True,
        )
    return ATTACKER


def as_attacker(*cmd: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` as the attacker, with no PG* variables (no password at hand)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    return subprocess.run(
        [shutil.which("runuser") or "/usr/sbin/runuser", "-u", ATTACKER, "--", *cmd],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd="/",
    )


@pytest.fixture(scope="module")
def cluster(attacker: str):
    """A cluster of our own (never the shared test server), in a folder others may traverse,
    so that only the cluster's own protections stand in the attacker's way."""
    server = LocalCluster(TEST_DATA_DIR / f"attack-{free_port()}", free_port())
    server.start()
    server.psql("CREATE TABLE incidents_probe AS SELECT 'domestic_violence' AS category")
    yield server
    server.destroy()


@pytest.mark.parametrize("user", [SUPERUSER, "postgres"])
def test_attacker_cannot_connect_over_tcp_without_the_password(cluster, user):
    psql = str(pg_bin_dir() / "psql")
    query = "SELECT category FROM incidents_probe"
    done = as_attacker(psql, "-w", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", user,
                       "-d", "postgres", "-tAc", query)  # fmt: skip
    assert done.returncode != 0
    assert "domestic_violence" not in done.stdout
    assert "password" in done.stderr  # refused for want of a password, not by accident


@pytest.mark.parametrize("user", [SUPERUSER, "postgres"])
def test_attacker_cannot_connect_over_the_socket(cluster, user):
    psql = str(pg_bin_dir() / "psql")
    done = as_attacker(psql, "-w", "-h", str(cluster.socket_dir), "-p", str(cluster.port),
                       "-U", user, "-d", "postgres", "-tAc", "SELECT 1")  # fmt: skip
    assert done.returncode != 0
    assert "Permission denied" in done.stderr or "password" in done.stderr
    assert stat.S_IMODE(cluster.socket_dir.stat().st_mode) == 0o700


def test_attacker_cannot_read_the_password_file_or_the_cluster(cluster):
    assert cluster.password_file.exists()
    done = as_attacker("cat", str(cluster.password_file))
    assert done.returncode != 0 and "Permission denied" in done.stderr
    assert cluster.password() not in done.stdout
    done = as_attacker("ls", str(cluster.directory))
    assert done.returncode != 0 and "Permission denied" in done.stderr


def _write_outputs_script(data_dir: Path) -> str:
    """Python run as Harta would: make_private(), then outputs written by the libraries."""
    return f"""
import numpy as np, geopandas as gpd, rasterio, shutil
from pathlib import Path
from rasterio.transform import from_origin
from shapely.geometry import Point
from geo.files import make_private
data = Path({str(data_dir)!r})
make_private(data)
out = data / "outputs" / "run-1"
out.mkdir(parents=True)
frame = gpd.GeoDataFrame({{"category": ["domestic_violence"]}},
                         geometry=[Point(23.63, 46.79)], crs="EPSG:4326")
frame.to_file(out / "incidents.gpkg", driver="GPKG")
frame.drop(columns="geometry").to_csv(out / "incidents.csv")
with rasterio.open(out / "density.tif", "w", driver="GTiff", height=2, width=2, count=1,
                   dtype="float32", crs="EPSG:3844",
                   transform=from_origin(0, 0, 1, 1)) as tif:
    tif.write(np.ones((1, 2, 2), dtype="float32"))
"""


@pytest.fixture
def data_dir():
    # Made the way an older Harta left it: 0755 under a folder everyone may traverse.
    folder = Path(tempfile.mkdtemp(prefix="attack-data-", dir=TEST_DATA_DIR)) / "harta"
    folder.mkdir()
    os.chmod(folder.parent, 0o755)
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder.parent, ignore_errors=True)


def test_harta_command_closes_a_loose_data_folder(attacker, data_dir):
    old_export = data_dir / "outputs" / "old-export.csv"
    old_export.parent.mkdir()
    old_export.write_text("lat,lon\n46.79,23.63\n")
    os.chmod(old_export.parent, 0o755)
    os.chmod(old_export, 0o644)
    assert as_attacker("ls", str(data_dir)).returncode == 0  # the old state: open to all
    env = {**os.environ, "HARTA_DATA_DIR": str(data_dir), "HARTA_PG_PORT": str(free_port())}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(ROOT / ".venv/bin/harta"), "db", "status"], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o007 == 0
    listing = as_attacker("ls", str(data_dir))
    assert listing.returncode != 0 and "Permission denied" in listing.stderr
    read = as_attacker("cat", str(old_export))
    assert read.returncode != 0 and "46.79" not in read.stdout


def test_outputs_written_by_the_libraries_are_0600_and_unreadable(attacker, data_dir):
    done = subprocess.run([sys.executable, "-c", _write_outputs_script(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = data_dir / "outputs" / "run-1"
    written = sorted(p for p in run.iterdir())
    assert {p.name for p in written} >= {"incidents.gpkg", "incidents.csv", "density.tif"}
    for path in [data_dir / "outputs", run, *written]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    # Even with the folders opened up, the files themselves refuse the attacker.
    for folder in (data_dir, data_dir / "outputs", run):
        os.chmod(folder, 0o755)
    for path in written:
        read = as_attacker("cat", str(path))
        assert read.returncode != 0 and "Permission denied" in read.stderr, path
