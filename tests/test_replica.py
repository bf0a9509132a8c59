"""pbl replica and standbys: a real primary and a real streaming standby on loopback.

The primary is a cluster of its own (the session server holds every test's databases, too much
to copy); `pbl replica create` makes the standby, which the tests then use as a DBA would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pbl_db.migrate.engine import Migrator
from tests.conftest import ROOT, Result
from tests.support.postgres import PgServer, local_cluster

pytestmark = pytest.mark.matrix

DB = "bpl_replica"
SQL = ROOT / "sql"


@dataclass
class Pair:
    primary: PgServer
    primary_url: str  # DB on the primary
    standby_url: str  # DB on the standby
    standby_dir: Path
    port: int
    created: dict  # type: ignore[type-arg]  # pbl replica create --json


def caught_up(pair: Pair) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    with psycopg.connect(pair.primary_url, autocommit=True) as conn:
        # insert, not write, position: with synchronous_commit off a commit may not be written yet
        lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 60
    with psycopg.connect(pair.standby_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s) >= 0", (lsn,)
            ).fetchone()
            if row and row[0]:
                return
            assert time.monotonic() < deadline, "the standby did not catch up in 60 s"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def pair(pg_server: PgServer) -> Iterator[Pair]:
    if pg_server.bindir is None:
        pytest.skip("standby tests need local PostgreSQL binaries (not PBL_TEST_DATABASE_URL)")
    from pbl_db.cli import main

    with local_cluster(pg_server.bindir) as primary:
        with psycopg.connect(primary.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB}")
        primary_url = primary.url_for(DB)
        Migrator(primary_url, SQL / "migrations").apply()
        with psycopg.connect(primary_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")  # for slow-queries on the standby
        # the server's OS user must reach it: pytest's own tmp_path is private to root
        shared = Path(tempfile.mkdtemp(prefix="pbl-replica-"))
        shared.chmod(0o755)
        standby_dir = shared / "standby"
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(
                [
                    "replica",
                    "create",
                    "--primary",
                    primary.admin_url,
                    "--data-dir",
                    str(standby_dir),
                    "--slot",
                    "pbl_test_standby",
                    "--json",
                ]
            )
        assert code == 0, out.getvalue()
        created = json.loads(out.getvalue())
        params = conninfo_to_dict(primary_url)
        standby_url = make_conninfo(primary_url, host="127.0.0.1", port=str(created["port"]))
        assert params["dbname"] == DB
        made = Pair(primary, primary_url, standby_url, standby_dir, created["port"], created)
        try:
            yield made
        finally:
            subprocess.run(
                [str(pg_server.bindir / "pg_ctl"), "-D", str(standby_dir), "-m", "immediate",
                 "-w", "stop"],
                user=primary.run_as,
                check=False,
                capture_output=True,
            )  # fmt: skip
            shutil.rmtree(shared, ignore_errors=True)


def both_nodes(pair: Pair) -> str:
    """A multi-host URL, standby first, asking for the primary."""
    primary = conninfo_to_dict(pair.primary_url)
    return make_conninfo(
        pair.primary_url,
        host="127.0.0.1,127.0.0.1",
        port=f"{pair.port},{primary['port']}",
        target_session_attrs="read-write",
    )


def status(pbl, url: str) -> tuple[int, dict]:  # type: ignore[no-untyped-def, type-arg]
    result = pbl("replica", "status", "--database-url", url, "--json")
    return result.code, json.loads(result.out)


def test_create_streams_through_its_slot(pair: Pair) -> None:
    created = pair.created
    assert created["streaming"] is True and created["slot"] == "pbl_test_standby"
    assert created["slot_created"] is True
    assert "password" not in json.dumps(created)
    conf = (pair.standby_dir / "postgresql.auto.conf").stat().st_mode & 0o777
    assert conf == 0o600  # primary_conninfo carries the password
    assert (pair.standby_dir / "standby.signal").exists()
    auto = (pair.standby_dir / "postgresql.auto.conf").read_text()
    assert "max_connections = '60'" in auto  # the primary's, given on its command line
    assert "shared_preload_libraries = 'pg_stat_statements'" in auto


def test_status_from_either_side(pair: Pair, pbl) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(pair.primary_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS replica_probe (n int)")
        conn.execute("INSERT INTO replica_probe VALUES (1)")
    caught_up(pair)
    code, primary = status(pbl, pair.primary_url)
    assert code == 0 and primary["role"] == "primary"
    assert [s["state"] for s in primary["standbys"]] == ["streaming"]
    slot = next(s for s in primary["slots"] if s["slot_name"] == "pbl_test_standby")
    assert slot["active"] is True and slot["retained_bytes"] >= 0
    code, standby = status(pbl, pair.standby_url)
    assert code == 0 and standby["role"] == "standby"
    assert standby["receiver"]["status"] == "streaming"
    assert standby["receiver"]["slot_name"] == "pbl_test_standby"
    assert standby["timeline"] == primary["timeline"]
    assert standby["replay_lag_bytes"] >= 0 and standby["replay_lag_s"] is not None
    table = pbl("replica", "status", "--database-url", pair.standby_url)
    assert table.code == 0 and "standby" in table.out and "streaming" in table.out


WRITES = {
    "migrate": ["migrate"],
    "seed demo": ["seed", "demo", "--audit-logs", "10"],
    "retention run": ["retention", "run"],
    "partitions ensure": ["partitions", "ensure"],
    "tune apply": ["tune", "apply", "--yes"],
    "audit seal": ["audit", "seal"],
    "gdpr erase": ["gdpr", "erase", "--email", "a@example.test", "--reason", "ticket 1"],
}


@pytest.fixture
def on_standby(pair: Pair, pbl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:  # type: ignore[no-untyped-def]
    """DATABASE_URL is the standby, and a key file is configured (erase and rotate need one)."""
    keys = tmp_path / "keys.json"
    made = pbl("crypto", "keygen", "--out", str(keys))
    assert made.code == 0, made.err
    monkeypatch.setenv("PBL_KEY_FILE", str(keys))
    monkeypatch.setenv("DATABASE_URL", pair.standby_url)
    return pair


WRITES["crypto rotate"] = ["crypto", "rotate"]
WRITES["maintenance analyze"] = ["maintenance", "analyze", "--all"]
WRITES["retention run --dry-run"] = ["retention", "run", "--dry-run"]


@pytest.mark.parametrize("args", list(WRITES.values()), ids=list(WRITES))
def test_writing_commands_refuse_on_the_standby(
    on_standby: Pair,
    pbl,
    args: list[str],  # type: ignore[no-untyped-def]
) -> None:
    result: Result = pbl(*args)
    assert result.code == 6, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("pbl: using "), lines  # notice, refusal
    assert "is a standby" in lines[1] and f"127.0.0.1:{on_standby.port}" in lines[1]
    assert conninfo_to_dict(on_standby.standby_url)["password"] not in result.err


def test_a_write_the_server_refuses_is_one_line(pair: Pair, capsys) -> None:  # type: ignore[no-untyped-def]
    """A write with no check of its own still ends in one line and exit 6 (cli._guarded)."""
    from pbl_db.cli import _guarded

    with psycopg.connect(pair.standby_url, autocommit=True) as conn:
        code = _guarded(lambda: conn.execute("CREATE TABLE refused (n int)") and 0, False)
    err = capsys.readouterr().err
    assert code == 6 and err.count("\n") == 1, err
    assert "read-only" in err and "target_session_attrs=read-write" in err


READS = {
    "health": ["health", "--format", "json"],
    "tables": ["tables", "--json"],
    "indexes": ["indexes", "--json"],
    "activity": ["activity", "--json"],
    "migrate status": ["migrate", "status", "--json"],
    "audit verify": ["audit", "verify", "--json"],
    "locks": ["locks", "--json"],
    "slow-queries": ["slow-queries", "--json"],
}


@pytest.mark.parametrize("args", list(READS.values()), ids=list(READS))
def test_reading_commands_work_on_the_standby(
    pair: Pair,
    pbl,
    args: list[str],  # type: ignore[no-untyped-def]
) -> None:
    caught_up(pair)
    result = pbl(*args, "--database-url", pair.standby_url)
    assert result.code in (0, 1), (result.code, result.err)  # health may WARN/CRIT, not fail
    json.loads(result.out)
    assert "internal error" not in result.err and "Traceback" not in result.err


def test_report_on_the_standby(pair: Pair, pbl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The report records table sizes for its growth section: not on a standby (read-only)."""
    page = tmp_path / "report.html"
    result = pbl("report", "--html", str(page), "--database-url", pair.standby_url)
    assert result.code in (0, 1), result.err
    assert page.exists() and "internal error" not in result.err
    assert "the server is read-only" in page.read_text()


def test_backup_from_the_standby_and_no_restore_into_it(pair: Pair, pbl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    caught_up(pair)
    dest = tmp_path / "backups"
    made = pbl(
        "backup", "create", "--dest", str(dest), "--json", "--database-url", pair.standby_url
    )
    assert made.code == 0, made.err
    backup_id = json.loads(made.out)["id"]
    checked = pbl("backup", "verify", backup_id, "--dest", str(dest), "--json")
    assert checked.code == 0, checked.err
    restore = ["backup", "restore", backup_id, "--dest", str(dest), "--target-db", "copy"]
    refused = pbl(*restore, "--database-url", pair.standby_url)
    assert refused.code == 6 and "is a standby" in refused.err, refused.err
    restored = pbl(*restore, "--database-url", pair.primary_url)
    assert restored.code == 0, restored.err


def test_multi_host_url_finds_the_primary(pair: Pair, pbl) -> None:  # type: ignore[no-untyped-def]
    """Standby listed first: target_session_attrs=read-write skips it."""
    url = both_nodes(pair)
    code, state = status(pbl, url)
    assert code == 0 and state["role"] == "primary"
    applied = pbl("migrate", "--database-url", url)
    assert applied.code == 0, applied.err
    any_node = make_conninfo(url, target_session_attrs="any")
    code, state = status(pbl, any_node)
    assert state["role"] == "standby"


def test_create_refuses_a_used_directory_and_a_bad_slot(
    pair: Pair,
    pbl,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "PG_VERSION").write_text("15\n")
    args = ["replica", "create", "--primary", pair.primary.admin_url]
    refused = pbl(*args, "--data-dir", str(used))
    assert refused.code == 4 and "not an empty directory" in refused.err
    assert (used / "PG_VERSION").read_text() == "15\n"
    bad = pbl(*args, "--data-dir", str(tmp_path / "new"), "--slot", "Bad-Name")
    assert bad.code == 2 and "slot" in bad.err
    assert not (tmp_path / "new").exists()


def _health(pbl, url: str, *checks: str) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    args = [a for c in checks for a in ("--check", c)]
    result = pbl("health", "--format", "json", "--database-url", url, *args)
    return {c["id"]: c for c in json.loads(result.out)["checks"]}


def test_health_knows_which_side_it_is_on(pair: Pair, pbl) -> None:  # type: ignore[no-untyped-def]
    caught_up(pair)
    on_primary = _health(pbl, pair.primary_url, "standby", "replication_lag")
    assert on_primary["standby"]["status"] == "SKIP"
    assert "1 standbys" in on_primary["replication_lag"]["summary"]
    on_standby = _health(pbl, pair.standby_url, "standby", "replication_lag", "connection")
    assert on_standby["connection"]["summary"].endswith(f"to 127.0.0.1:{pair.port}, standby")
    assert on_standby["standby"]["status"] == "OK", on_standby["standby"]
    assert "streaming" in on_standby["standby"]["summary"]
    lag = on_standby["replication_lag"]
    assert lag["status"] == "OK" and "this standby replays" in lag["summary"], lag


def test_a_standby_that_stopped_following_is_critical(pair: Pair, pbl) -> None:  # type: ignore[no-untyped-def]
    """primary_conninfo pointed at nothing: the WAL receiver stops streaming, health says CRIT;
    put back, it streams again."""

    def receiver(conn: psycopg.Connection) -> str | None:
        row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
        return row[0] if row else None

    with psycopg.connect(pair.standby_url, autocommit=True) as conn:
        follow = conn.execute("SHOW primary_conninfo").fetchone()[0]  # type: ignore[index]
        conn.execute("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1'")
        conn.execute("SELECT pg_reload_conf()")
        try:
            deadline = time.monotonic() + 60
            while receiver(conn) == "streaming":
                assert time.monotonic() < deadline, "the receiver kept streaming"
                time.sleep(0.1)
            checks = _health(pbl, pair.standby_url, "standby")
            assert checks["standby"]["status"] == "CRIT", checks
            nagios = pbl("health", "--format", "nagios", "--check", "standby",
                         "--database-url", pair.standby_url)  # fmt: skip
            assert nagios.code == 2 and "does not follow its primary" in nagios.out
            code, state = status(pbl, pair.standby_url)
            assert code == 1 and state["role"] == "standby"
        finally:
            conn.execute(
                psycopg.sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(
                    psycopg.sql.Literal(follow)
                )
            )
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 60
        while receiver(conn) != "streaming":
            assert time.monotonic() < deadline, "the receiver did not stream again"
            time.sleep(0.1)


def test_pool_for_the_primary_drops_a_connection_to_a_standby(pair: Pair) -> None:
    """The check a read-write pool runs on every connection it hands out."""
    from pbl_db.pool import check_primary, create_pool, wants_primary

    primary = conninfo_to_dict(pair.primary_url)
    url = both_nodes(pair)
    assert wants_primary(url) and not wants_primary(pair.standby_url)
    with psycopg.connect(pair.standby_url) as demoted:
        with pytest.raises(psycopg.OperationalError, match="standby"):
            check_primary(demoted)
        assert demoted.autocommit is False
    with psycopg.connect(pair.primary_url) as kept:
        check_primary(kept)
        assert kept.autocommit is False
    with create_pool(url, min_size=1, max_size=1) as pool, pool.connection() as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        assert conn.info.port == int(primary["port"])


def test_a_role_without_stats_privileges_on_the_standby(pair: Pair, pbl) -> None:  # type: ignore[no-untyped-def]
    """pg_stat_wal_receiver hides its state from such a role: UNKNOWN with the grant to make,
    never a false CRIT; replica status still sees a receiver running."""
    with psycopg.connect(pair.primary_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS pbl_plain")
        conn.execute("CREATE ROLE pbl_plain LOGIN PASSWORD 'plain-pw'")
        conn.execute("GRANT pg_read_all_settings TO pbl_plain")  # the snapshot reads settings
    caught_up(pair)
    url = make_conninfo(pair.standby_url, user="pbl_plain", password="plain-pw")
    checks = _health(pbl, url, "standby", "connection")
    assert checks["connection"]["status"] == "OK", checks["connection"]["summary"]
    assert checks["standby"]["status"] == "UNKNOWN", checks["standby"]
    assert "pg_read_all_stats" in checks["standby"]["summary"]
    code, state = status(pbl, url)
    assert code == 0 and state["receiver"]["running"] is True, state["receiver"]


def test_create_with_a_replication_role_and_an_awkward_password(  # type: ignore[no-untyped-def]
    pair: Pair, pbl
) -> None:
    """Not a superuser (its receiver state is hidden from it), and a password with a quote and
    a backslash, which primary_conninfo must carry intact."""
    password = "it's a \\ test"
    with psycopg.connect(pair.primary_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS pbl_repl")
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE pbl_repl LOGIN REPLICATION PASSWORD {}").format(
                psycopg.sql.Literal(password)
            )
        )
    primary = make_conninfo(pair.primary_url, user="pbl_repl", password=password)
    shared = Path(tempfile.mkdtemp(prefix="pbl-replica-"))
    shared.chmod(0o755)
    data = shared / "second"
    try:
        made = pbl("replica", "create", "--primary", primary, "--data-dir", str(data), "--json")
        assert made.code == 0, made.err
        assert password not in made.out and password not in made.err
        caught_up(pair)
        with psycopg.connect(pair.primary_url, autocommit=True) as conn:
            users = conn.execute(
                "SELECT usename FROM pg_stat_replication WHERE state = 'streaming'"
            ).fetchall()
        assert ("pbl_repl",) in users
    finally:
        subprocess.run(
            [str(pair.primary.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
             "stop"],
            user=pair.primary.run_as,
            check=False,
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(shared, ignore_errors=True)


def test_create_checks_everything_before_copying(pg_server: PgServer, pbl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """NaN passes typer's 1..86400 range: it must still be refused before pg_basebackup (the
    survey's run copied the cluster and left a standby running). Nothing is made, and the
    "copying" line never appears for a refused run."""
    primary = ["replica", "create", "--primary", pg_server.admin_url]
    rx = tmp_path / "rx"
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    for args, code, says in [
        (["--data-dir", str(rx), "--wait", "nan"], 2, "--wait"),
        (["--data-dir", str(rx), "--wait", "inf"], 2, "--wait"),
        (["--data-dir", str(rx), "--slot", "Bad-Slot"], 2, "slot"),
        (["--data-dir", str(afile)], 2, "is not a directory"),
        (["--data-dir", str(afile / "sub")], 2, "is not a directory"),
    ]:
        result = pbl(*primary, *args)
        assert result.code == code and says in result.err, (args, result.err)
        assert "copying" not in result.err
    assert not rx.exists() and afile.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_the_password_warning_names_primary(pbl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = pbl(
        "replica", "create", "--primary", "postgresql://rep:ReplS3cret@127.0.0.1:1/x",
        "--data-dir", str(tmp_path / "rx"),
    )  # fmt: skip
    assert result.code == 3, result.err
    assert "the password in --primary is visible" in result.err
    assert "--database-url" not in result.err.split("warning:", 1)[1].split(";")[0]
    assert "ReplS3cret" not in result.err
    assert not (tmp_path / "rx").exists()
