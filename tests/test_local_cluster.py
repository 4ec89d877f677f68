"""The embedded cluster Harta manages under its data folder."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geo.cli import app
from geo.db.local import LocalCluster
from tests.browser import free_port


def test_cluster_starts_twice_without_harm_and_stops():
    # Under .test-data, not /tmp of root: the postgres user must be able to traverse the path.
    from tests.conftest import TEST_DATA_DIR

    folder = TEST_DATA_DIR / f"cluster-{free_port()}"
    port = free_port()
    cluster = LocalCluster(folder, port)
    try:
        cluster.start()
        cluster.start()  # a second start is a no-op, not an error
        assert cluster.is_running()
        engine = create_engine(cluster.url())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT postgis_lib_version()")).scalar_one().startswith("3")
        engine.dispose()

        cluster.stop()
        assert not cluster.is_running()
    finally:
        cluster.destroy()
    assert not folder.exists()


def test_db_status_names_an_external_server_without_its_password(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://harta:s3cret@db.example:5432/harta")
    monkeypatch.setenv("HARTA_LANGUAGE", "en")
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert "db.example" in result.stdout
    assert "s3cret" not in result.stdout


def test_db_status_reports_the_embedded_cluster(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HARTA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HARTA_PG_PORT", "54999")
    monkeypatch.setenv("HARTA_LANGUAGE", "en")
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert "not running" in result.stdout and "54999" in result.stdout


def test_cluster_asked_for_under_an_unreachable_folder_is_kept_where_postgres_can_reach(tmp_path):
    import os
    import stat

    if os.geteuid() != 0:
        import pytest

        pytest.skip("only root hands the server to the postgres user")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    cluster = LocalCluster(locked / "pg", free_port())
    assert not str(cluster.directory).startswith(str(locked))
    parents = [cluster.directory.parent, *cluster.directory.parent.parents]
    assert all(p.stat().st_mode & stat.S_IXOTH for p in parents if p.exists())
    try:
        cluster.start()
        assert cluster.psql("SELECT 1").strip() == "1"
    finally:
        cluster.destroy()
