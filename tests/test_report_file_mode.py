"""Review of issue 6: `pbl report --html FILE` writes the page with the mode its help states."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result

Pbl = Callable[..., Result]


def test_page_is_0644_whatever_the_umask(pbl: Pbl, db_url: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    old = os.umask(0o077)
    try:
        result = pbl("report", "--html", str(page), "--no-record", "--database-url", db_url)
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    assert stat.S_IMODE(page.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no partial left behind


def _snapshots(db_url: str) -> int:
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM pbl_report_snapshots").fetchone()
    assert row is not None
    return int(row[0])


def test_a_refused_destination_records_nothing_and_leaves_nothing(
    pbl: Pbl, db_url: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = tmp_path / "adir"
    target.mkdir()
    before = _snapshots(db_url)
    for path, says in ((fifo, "is a FIFO"), (target, "is a directory")):
        result = pbl("report", "--html", str(path), "--database-url", db_url)
        assert result.code == 2 and says in result.err, result.err
    assert _snapshots(db_url) == before  # checked before anything was collected or recorded
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "fifo"]  # no partial file
    assert list(target.iterdir()) == []


def test_only_an_earlier_report_is_replaced_without_force(
    pbl: Pbl, db_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"active": "k1", "keys": {}}\n')
    keys.chmod(0o600)
    refused = pbl("report", "--html", str(keys), "--no-record", "--database-url", db_url)
    assert refused.code == 2 and "--force" in refused.err, refused.err
    assert keys.read_text() == '{"active": "k1", "keys": {}}\n'
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600

    page = tmp_path / "report.html"
    first = pbl("report", "--html", str(page), "--no-record", "--database-url", db_url)
    assert first.code == 0, first.err
    again = pbl("report", "--html", str(page), "--no-record", "--database-url", db_url)
    assert again.code == 0, again.err  # its own earlier page: replaced

    forced = pbl("report", "--html", str(keys), "--no-record", "--force", "--database-url", db_url)
    assert forced.code == 0, forced.err
    assert "<!DOCTYPE html>" in keys.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json", "report.html"]


def test_write_file_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    import pytest

    from pbl_db.errors import ConfigError
    from pbl_db.files import write_file, write_private

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a FIFO"):
        write_private(fifo, "secret")
    with pytest.raises(ConfigError, match="is a directory"):
        write_file(tmp_path, "page", mode=0o644)
    with pytest.raises(ConfigError, match="no such file"):
        write_private(tmp_path / "nope" / "x", "secret")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["fifo"]
