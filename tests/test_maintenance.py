"""pbl maintenance analyze / vacuum / reindex against a real server: statistics times move,
a failed CREATE INDEX CONCURRENTLY is found and repaired, bloated indexes shrink, a lock held
elsewhere gives a clean BusyError, and progress is read from pg_stat_progress_create_index."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pbl_db import maintenance, timeouts
from pbl_db.errors import ConfigError
from tests.conftest import pbl_command
from tests.support.wait import eventually

pytestmark = pytest.mark.matrix

BUSY = 5


def as_json(res: Any) -> Any:
    assert res.code == 0, res.err
    return json.loads(res.out)


def stat(conn: psycopg.Connection, schema: str, table: str, column: str) -> Any:
    query = sql.SQL(
        "SELECT {} FROM pg_stat_all_tables WHERE schemaname = %s AND relname = %s"
    ).format(sql.Identifier(column))
    row = conn.execute(query, (schema, table)).fetchone()
    return row[0] if row else None


def index_valid(conn: psycopg.Connection, name: str) -> bool | None:
    row = conn.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = %s",
        (name,),
    ).fetchone()
    return None if row is None else bool(row[0])


def index_names(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass",
        (table,),
    ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def mixed_case(conn: psycopg.Connection) -> None:
    conn.execute('CREATE SCHEMA "Ops"')
    conn.execute('CREATE TABLE "Ops"."Mixed Case" (id int PRIMARY KEY, v text)')
    conn.execute('INSERT INTO "Ops"."Mixed Case" SELECT g, g::text FROM generate_series(1, 1000) g')


def test_parse_size() -> None:
    assert maintenance.parse_size("8kB") == 8192
    assert maintenance.parse_size("100MB") == 100 * 1024**2
    assert maintenance.parse_size("1GB") == 1024**3
    assert maintenance.parse_size("1.5gb") == 1536 * 1024**2
    assert maintenance.parse_size("512") == 512
    with pytest.raises(ConfigError):
        maintenance.parse_size("ten megs")


def test_analyze_the_spec_tables_by_default(pbl, db_url, conn) -> None:
    dry = as_json(pbl("maintenance", "analyze", "--dry-run", "--json", "--database-url", db_url))
    assert [(t["schema"], t["name"]) for t in dry] == [
        ("public", "applications"),
        ("public", "devices"),
        ("public", "audit_logs"),
    ]
    assert all(t["status"] == "planned" for t in dry)
    assert stat(conn, "public", "applications", "last_analyze") is None

    done = as_json(pbl("maintenance", "analyze", "--json", "--database-url", db_url))
    assert [t["status"] for t in done] == ["done", "done", "done"]
    for table in ("applications", "devices", "audit_logs_default"):
        # before 15 the statistics collector receives the report a moment later
        eventually(lambda t=table: stat(conn, "public", t, "last_analyze"), f"{table} analyzed")


def test_analyze_and_vacuum_an_awkward_identifier(pbl, db_url, conn, mixed_case) -> None:
    assert stat(conn, "Ops", "Mixed Case", "last_analyze") is None
    res = pbl("maintenance", "analyze", "--table", "Ops.Mixed Case", "--database-url", db_url)
    assert res.code == 0, res.err
    assert 'ANALYZE "Ops"."Mixed Case"' in res.out
    eventually(lambda: stat(conn, "Ops", "Mixed Case", "last_analyze"), "the table analyzed")

    conn.execute('DELETE FROM "Ops"."Mixed Case" WHERE id <= 400')
    assert stat(conn, "Ops", "Mixed Case", "last_vacuum") is None
    res = pbl(
        "maintenance", "vacuum", "--dry-run", "-t", '"Ops"."Mixed Case"', "--database-url", db_url
    )
    assert res.code == 0, res.err
    assert stat(conn, "Ops", "Mixed Case", "last_vacuum") is None
    res = pbl(
        "maintenance", "vacuum", "-t", '"Ops"."Mixed Case"', "--analyze", "--database-url", db_url
    )
    assert res.code == 0, res.err
    assert 'VACUUM (ANALYZE true) "Ops"."Mixed Case"' in res.out
    eventually(lambda: stat(conn, "Ops", "Mixed Case", "last_vacuum"), "the table vacuumed")
    assert eventually(
        lambda: stat(conn, "Ops", "Mixed Case", "n_dead_tup") == 0, "dead tuples to be gone"
    )


def test_unknown_tables_are_usage_errors(pbl, db_url, empty_db_url) -> None:
    res = pbl("maintenance", "analyze", "--table", "nope", "--database-url", db_url)
    assert res.code == 2 and "table 'nope' not found" in res.err
    res = pbl("maintenance", "vacuum", "--database-url", empty_db_url)
    assert res.code == 2 and "--all" in res.err
    res = pbl("maintenance", "analyze", "--all", "-t", "devices", "--database-url", db_url)
    assert res.code == 2


def test_vacuum_full_without_a_terminal_needs_yes(db_url, conn, mixed_case) -> None:
    def relfilenode() -> int:
        row = conn.execute(
            'SELECT relfilenode FROM pg_class WHERE oid = \'"Ops"."Mixed Case"\'::regclass'
        ).fetchone()
        assert row is not None
        return int(row[0])

    before = relfilenode()
    argv = pbl_command(
        "maintenance", "vacuum", "--full", "-t", "Ops.Mixed Case", "--database-url", db_url
    )
    for stdin in ("n\n", "y\n", ""):  # no terminal: no answer counts, not even "y"
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 4, proc.stderr  # refused, not "interrupted" (130)
        assert "ACCESS EXCLUSIVE" in proc.stderr and "pass --yes" in proc.stderr
        assert proc.stdout == ""
        assert relfilenode() == before
    proc = subprocess.run(
        [*argv, "--yes"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert relfilenode() != before  # rewritten


def test_a_bad_timeout_stops_before_the_plan(pbl, db_url, conn) -> None:
    """Nothing on stdout (no plan table), in dry runs as in real runs, and nothing analyzed."""
    before = stat(conn, "public", "devices", "last_analyze")
    for command in ("analyze", "vacuum", "reindex"):
        for option, value in (("--lock-timeout", "-5s"), ("--statement-timeout", "30d")):
            for dry in ((), ("--dry-run",)):
                res = pbl("maintenance", command, option, value, *dry, "--database-url", db_url)
                assert res.code == 2, res.err
                assert f"bad {option}" in res.err and res.out == ""
    assert stat(conn, "public", "devices", "last_analyze") == before


def test_timeouts_are_checked_without_a_server() -> None:
    assert timeouts.check_timeouts("5", "0") == {
        "lock_timeout": "5000ms",
        "statement_timeout": "0ms",
    }
    for bad in ("abc", "-1", "nan", "25d", "1e3", "100000000000000000000h"):
        with pytest.raises(ConfigError, match="--lock-timeout"):
            timeouts.check_timeouts(bad, "0")
    with pytest.raises(ConfigError, match="too large"):
        maintenance.parse_size("1" * 400)


# --- reindex --------------------------------------------------------------------------------


@pytest.fixture
def invalid_index(conn: psycopg.Connection) -> str:
    """A unique index left invalid by a CREATE UNIQUE INDEX CONCURRENTLY that met duplicates."""
    conn.execute("CREATE TABLE inv (id int GENERATED ALWAYS AS IDENTITY, v int)")
    conn.execute("INSERT INTO inv (v) SELECT g % 50 FROM generate_series(1, 100) g")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY inv_v ON inv (v)")
    assert index_valid(conn, "inv_v") is False
    return "inv_v"


def test_reindex_repairs_an_invalid_index(pbl, db_url, conn, invalid_index) -> None:
    flagged = as_json(pbl("indexes", "--json", "--invalid", "--database-url", db_url))
    assert [(r["index"], r["valid"]) for r in flagged] == [("inv_v", False)]

    planned = as_json(
        pbl("maintenance", "reindex", "--dry-run", "--json", "--database-url", db_url)
    )
    assert [(t["action"], t["name"]) for t in planned] == [("reindex", "inv_v")]
    assert "invalid" in planned[0]["reason"]
    res = pbl("maintenance", "reindex", "--dry-run", "--concurrently", "--database-url", db_url)
    assert res.code == 0 and "inv_v" in res.out and "dry run" in res.out
    assert index_valid(conn, "inv_v") is False

    # the duplicates are still there: the rebuild fails and leaves no *_ccnew behind
    res = pbl("maintenance", "reindex", "--concurrently", "--database-url", db_url)
    assert res.code == 1
    assert "REINDEX CONCURRENTLY of public.inv_v failed" in res.err
    assert "remove the duplicate rows" in res.err
    assert index_names(conn, "inv") == {"inv_v"}
    assert index_valid(conn, "inv_v") is False

    conn.execute("DELETE FROM inv WHERE id > 50")
    done = as_json(
        pbl("maintenance", "reindex", "--concurrently", "--json", "--database-url", db_url)
    )
    assert [(t["name"], t["status"]) for t in done] == [("inv_v", "done")]
    assert index_valid(conn, "inv_v") is True
    assert index_names(conn, "inv") == {"inv_v"}
    res = pbl("maintenance", "reindex", "--database-url", db_url)
    assert res.code == 0 and "nothing to reindex" in res.out


def test_plain_reindex_of_a_named_index_warns_about_locks(pbl, db_url, conn, mixed_case) -> None:
    res = pbl("maintenance", "reindex", "--index", "Ops.Mixed Case_pkey", "--database-url", db_url)
    assert res.code == 0, res.err
    assert "SHARE lock" in res.err and "--concurrently" in res.err
    assert "named with --index" in res.out
    assert index_valid(conn, "Mixed Case_pkey") is True
    res = pbl("maintenance", "reindex", "--index", "pg_class_oid_index", "--database-url", db_url)
    assert res.code == 2 and "not found" in res.err


def _bloat(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE bloated (id int PRIMARY KEY, v text)")
    conn.execute("INSERT INTO bloated SELECT g, md5(g::text) FROM generate_series(1, 50000) g")
    conn.execute("CREATE INDEX bloated_v ON bloated (v)")
    conn.execute("DELETE FROM bloated WHERE id % 10 <> 0")
    conn.execute("VACUUM ANALYZE bloated")


def _size(conn: psycopg.Connection, name: str) -> int:
    row = conn.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def test_reindex_bloated_indexes_by_estimate(pbl, db_url, conn) -> None:
    _bloat(conn)
    before = _size(conn, "bloated_v")
    planned = as_json(
        pbl(
            "maintenance",
            "reindex",
            "--bloat-over",
            "500kB",
            "--dry-run",
            "--json",
            "--database-url",
            db_url,
        )
    )
    by_name = {t["name"]: t for t in planned}
    assert by_name["bloated_v"]["bloat_source"] == "estimate"
    assert by_name["bloated_v"]["bloat_bytes"] > 500 * 1024
    assert "bloat" in by_name["bloated_v"]["reason"]
    # a threshold above the bloat leaves it alone
    assert "bloated_v" not in {
        t["name"]
        for t in as_json(
            pbl(
                "maintenance",
                "reindex",
                "--bloat-over",
                "1GB",
                "--dry-run",
                "--json",
                "--database-url",
                db_url,
            )
        )
    }
    done = as_json(
        pbl(
            "maintenance",
            "reindex",
            "--concurrently",
            "--bloat-over",
            "500kB",
            "--index",
            "bloated_v",
            "--json",
            "--database-url",
            db_url,
        )
    )
    assert [(t["name"], t["status"]) for t in done] == [("bloated_v", "done")]
    assert done[0]["bytes_after"] == _size(conn, "bloated_v") < before / 3


def test_reindex_measures_bloat_with_pgstattuple(pbl, db_url, conn) -> None:
    if not conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pgstattuple'"
    ).fetchone():
        pytest.skip("pgstattuple is not installed on this server (Debian: postgresql-contrib)")
    conn.execute('CREATE SCHEMA "Stat Tools"')
    conn.execute('CREATE EXTENSION pgstattuple SCHEMA "Stat Tools"')
    _bloat(conn)
    planned = as_json(
        pbl(
            "maintenance",
            "reindex",
            "--bloat-over",
            "500kB",
            "--dry-run",
            "--json",
            "--database-url",
            db_url,
        )
    )
    task = next(t for t in planned if t["name"] == "bloated_v")
    assert task["bloat_source"] == "pgstattuple"
    assert task["bloat_bytes"] > 500 * 1024


@pytest.fixture
def old_snapshot(db_url: str) -> Iterator[psycopg.Connection]:
    """A repeatable-read transaction that read table t: REINDEX CONCURRENTLY must wait for it."""
    holder = psycopg.connect(db_url, options="-c statement_timeout=120s")
    try:
        holder.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield holder
    finally:
        holder.rollback()
        holder.close()


def test_reindex_concurrently_gives_up_on_a_long_transaction(
    pbl, db_url, conn, old_snapshot
) -> None:
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
    conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
    conn.execute("CREATE INDEX t_v ON t (v)")
    old_snapshot.execute("SELECT count(*) FROM t")
    holder_pid = old_snapshot.info.backend_pid

    res = pbl(
        "maintenance",
        "reindex",
        "--concurrently",
        "--index",
        "t_v",
        "--lock-timeout",
        "300ms",
        "--database-url",
        db_url,
    )
    assert res.code == BUSY, res.err
    assert "could not get a lock within lock_timeout=300ms" in res.err
    assert f"pid {holder_pid}" in res.err
    # the old transaction still reads t, so the *_ccnew left behind cannot be dropped yet
    assert "t_v_ccnew" in res.err
    assert index_names(conn, "t") == {"t_pkey", "t_v", "t_v_ccnew"}
    assert index_valid(conn, "t_v") is True

    old_snapshot.rollback()
    planned = as_json(
        pbl("maintenance", "reindex", "--dry-run", "--json", "--database-url", db_url)
    )
    assert [(t["action"], t["name"]) for t in planned] == [("drop", "t_v_ccnew")]
    assert "leftover of a failed REINDEX CONCURRENTLY of t_v" in planned[0]["reason"]
    assert index_names(conn, "t") == {"t_pkey", "t_v", "t_v_ccnew"}
    res = pbl("maintenance", "reindex", "--concurrently", "--database-url", db_url)
    assert res.code == 0, res.err
    assert index_names(conn, "t") == {"t_pkey", "t_v"}


def test_reindex_reports_progress_while_it_waits(db_url, conn, old_snapshot) -> None:
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
    conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
    conn.execute("CREATE INDEX t_v ON t (v)")
    old_snapshot.execute("SELECT count(*) FROM t")
    holder_pid = old_snapshot.info.backend_pid

    seen: list[tuple[str, int, int]] = []
    waiting = threading.Event()

    def progress(label: str, done: int, total: int) -> None:
        seen.append((label, done, total))
        if "waiting for old snapshots" in label:
            waiting.set()

    outcome: list[Any] = []
    with (
        psycopg.connect(db_url, autocommit=True) as work,
        psycopg.connect(db_url, autocommit=True) as watch,
    ):
        tasks = maintenance.plan_reindex(work, names=["t_v"], concurrently=True)
        assert [t.action for t in tasks] == ["reindex concurrently"]

        def run() -> None:
            try:
                outcome.append(
                    maintenance.run(
                        work, tasks, lock_timeout="90s", watch=watch, on_progress=progress
                    )
                )
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            assert waiting.wait(60), f"no 'waiting for old snapshots' phase seen: {seen}"
        finally:
            old_snapshot.rollback()
            thread.join(90)
    assert not thread.is_alive()
    (result,) = outcome
    assert not isinstance(result, BaseException), result
    assert [t.status for t in result] == ["done"]
    assert any(f"(pid {holder_pid})" in label for label, _, _ in seen)
    assert index_valid(conn, "t_v") is True
    assert index_names(conn, "t") == {"t_pkey", "t_v"}


def test_maintenance_run_needs_autocommit(db_url) -> None:
    with psycopg.connect(db_url) as conn, pytest.raises(ConfigError, match="autocommit"):
        maintenance.run(conn, [])


def test_reindex_of_a_partitioned_index_follows_the_major(pbl, db_url, conn) -> None:
    """REINDEX of a partitioned index exists from PostgreSQL 14; on 13 pbl refuses in one line."""
    conn.execute("CREATE TABLE parted (id int, at date) PARTITION BY RANGE (at)")
    conn.execute(
        "CREATE TABLE parted_2026 PARTITION OF parted "
        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"
    )
    conn.execute("CREATE INDEX parted_id ON parted (id)")
    res = pbl("maintenance", "reindex", "--index", "parted_id", "--json", "--database-url", db_url)
    if conn.info.server_version >= 140000:
        assert res.code == 0, res.err
        assert [t["status"] for t in json.loads(res.out)] == ["done"]
    else:
        assert res.code == 2 and res.out == ""
        assert res.err.strip().splitlines()[-1] == (
            "pbl: REINDEX of the partitioned index public.parted_id needs PostgreSQL 14 (this "
            "server is 13); name its partitions' indexes with --index instead (pbl indexes "
            "lists them)"
        )
        part = pbl(
            "maintenance", "reindex", "--index", "parted_2026_id_idx", "--database-url", db_url
        )
        assert part.code == 0, part.err
