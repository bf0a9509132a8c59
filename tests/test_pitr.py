"""Point-in-time recovery on a real local cluster: insert A, note the time, insert B, restore to
that time: A is there, B is not."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pbl_db.backup.pitr import archive_command, archive_dir_of, check_control_file
from pbl_db.backup.tools import postgres_bindirs, tool_version
from pbl_db.errors import OperationFailed
from tests.support.postgres import PgServer, local_cluster

pytestmark = pytest.mark.matrix


@pytest.fixture
def cluster(pg_server: PgServer) -> Iterator[PgServer]:
    """A cluster of its own: enabling archiving needs a restart."""
    if pg_server.bindir is None:
        pytest.skip("PITR tests need local PostgreSQL binaries (not PBL_TEST_DATABASE_URL)")
    with local_cluster(pg_server.bindir) as server:
        yield server


def wait_archived(conn: psycopg.Connection, segment: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        row = conn.execute(
            "SELECT last_archived_wal, failed_count FROM pg_stat_archiver"
        ).fetchone()
        assert row is not None
        if row[0] and row[0] >= segment:
            return
        assert time.monotonic() < deadline, f"segment {segment} never archived: {row}"
        time.sleep(0.1)


def test_archive_command_never_overwrites(tmp_path: Path) -> None:
    archive = tmp_path / "arch ive"
    archive.mkdir()
    wal = tmp_path / "000000010000000000000001"
    wal.write_bytes(b"segment one")
    command = archive_command(str(archive)).replace("%p", str(wal)).replace("%f", wal.name)
    run = lambda: os.system(command)  # noqa: E731, S605  (the server runs it through a shell too)
    assert run() == 0 and (archive / wal.name).read_bytes() == b"segment one"
    assert run() == 0  # an identical retry succeeds
    wal.write_bytes(b"another segment one")
    assert run() != 0  # a different file with the same name is refused
    assert (archive / wal.name).read_bytes() == b"segment one"
    assert archive_dir_of(archive_command(str(archive))) == str(archive)


def test_archive_dir_must_be_absolute_and_percent_safe() -> None:
    from pbl_db.errors import ConfigError

    with pytest.raises(ConfigError, match="relative"):
        archive_command("archive")
    command = archive_command("/srv/wal 100%")
    assert "100%%" in command and archive_dir_of(command) == "/srv/wal 100%"
    for root in ("/", "//", "/./", "/tmp/..", "/srv/../"):
        with pytest.raises(ConfigError, match="root directory"):
            archive_command(root)


def test_bad_paths_are_refused_before_the_server_is_touched(pbl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No server at all: every refusal comes before connecting, and creates nothing."""
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    nowhere = "postgresql://u@127.0.0.1:1/x"
    for dest in (afile, afile / "bb"):
        result = pbl("pitr", "base-backup", "--dest", str(dest), "--database-url", nowhere)
        assert result.code == 2 and "--dest" in result.err and "not a directory" in result.err
    enable = pbl("pitr", "enable", "--archive-dir", "/", "--database-url", nowhere)
    assert enable.code == 2 and "root directory" in enable.err
    restore = pbl(
        "pitr", "restore", "--target-time", "2026-11-26 14:05:00+00",
        "--data-dir", str(tmp_path / "restored"), "--dest", str(afile),
    )  # fmt: skip
    assert restore.code == 2 and "is not a directory" in restore.err
    assert afile.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.slow
def test_restore_to_a_point_in_time(
    cluster: PgServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pbl,
    request: pytest.FixtureRequest,
) -> None:
    # the server's OS user must reach these: pytest's own tmp_path is private to root
    shared = Path(tempfile.mkdtemp(prefix="pbl-pitr-"))
    shared.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    archive, bases, restored = shared / "archive", shared / "bases", shared / "restored"
    monkeypatch.setenv("DATABASE_URL", cluster.admin_url)
    enabled = pbl("pitr", "enable", "--archive-dir", str(archive), "--json")
    assert enabled.code == 0, enabled.err
    changes = {c["name"]: c for c in json.loads(enabled.out)}
    assert changes["archive_mode"]["needs_restart"] is True
    assert "archive_command" in changes and not changes["archive_command"]["needs_restart"]
    cluster.pg_ctl("restart")

    state = json.loads(pbl("pitr", "status", "--json").out)
    assert state["archive_mode"] == "on" and state["archive_dir"] == str(archive)

    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger (note text)")
    base = pbl("pitr", "base-backup", "--dest", str(bases), "--json")
    assert base.code == 0, base.err
    meta = json.loads(base.out)
    assert meta["verified"] is True
    # WAL is checked only by a pg_verifybackup of the server's own major
    major = cluster.version // 10000
    exact = any(tool_version(d / "pg_verifybackup") == major for d in postgres_bindirs())
    assert meta["wal_verified"] is exact

    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        conn.execute("INSERT INTO ledger VALUES ('A')")
        moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        conn.execute("INSERT INTO ledger VALUES ('B')")
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]  # type: ignore[index]
        wait_archived(conn, segment)

    naive = pbl(
        "pitr",
        "restore",
        "--target-time",
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        "--data-dir",
        str(restored),
        "--dest",
        str(bases),
    )
    assert naive.code == 2 and "time zone" in naive.err

    result = pbl(
        "pitr",
        "restore",
        "--target-time",
        moment.isoformat(sep=" "),
        "--data-dir",
        str(restored),
        "--dest",
        str(bases),
        "--start",
        "--json",
    )
    assert result.code == 0, result.err
    port = json.loads(result.out)["port"]
    try:
        url = make_conninfo(cluster.admin_url, port=port)
        with psycopg.connect(url) as conn:
            notes = [r[0] for r in conn.execute("SELECT note FROM ledger ORDER BY note")]
            assert notes == ["A"]
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
    finally:
        restored_server = PgServer(
            cluster.admin_url, cluster.version, "restored", cluster.bindir, restored, cluster.run_as
        )
        restored_server.pg_ctl("-m", "immediate", "stop")

    early = pbl(
        "pitr",
        "restore",
        "--target-time",
        "2000-01-01 00:00:00+00",
        "--data-dir",
        str(tmp_path / "early"),
        "--dest",
        str(bases),
    )
    assert early.code == 2 and "no base backup" in early.err


def test_control_file_is_checked_against_the_manifest(
    cluster: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pbl
) -> None:
    """What pbl checks itself when only a newer pg_verifybackup, which cannot read this
    major's pg_control, is at hand."""
    monkeypatch.setenv("DATABASE_URL", cluster.admin_url)
    base = pbl("pitr", "base-backup", "--dest", str(tmp_path / "bases"), "--json")
    assert base.code == 0, base.err
    data = Path(json.loads(base.out)["path"]) / "data"
    check_control_file(data)
    control = data / "global" / "pg_control"
    raw = bytearray(control.read_bytes())
    raw[16] ^= 0x01
    control.write_bytes(bytes(raw))
    with pytest.raises(OperationFailed, match="pg_control does not match backup_manifest"):
        check_control_file(data)
