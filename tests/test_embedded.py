"""pbl local over the pgserver wheel, and the embedded default target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import run_pbl

pytest.importorskip("pgserver", reason="the embedded extra (pgserver) is not installed")


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
