"""pbl tables, indexes, activity and locks against a real server: awkward identifiers,
partitioned tables, unused and duplicate indexes, and a real blocking tree made of sessions
that hold and wait for locks."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from pbl_db import activity, relations
from pbl_db.errors import ConfigError, RefusedError
from tests.conftest import pbl_command
from tests.support.wait import WAIT_SECONDS, eventually

pytestmark = pytest.mark.matrix


def flush_stats(conn: psycopg.Connection) -> None:
    """Make this session's pending statistics visible to others (PostgreSQL 15+ at once;
    older servers get there through the collector, which the callers poll for)."""
    if conn.info.server_version >= 150000:
        conn.execute("SELECT pg_stat_force_next_flush()")
    else:
        # before 15 a backend sends its counts at a transaction's end, at most every 500 ms
        # (PGSTAT_STAT_INTERVAL), and an idle one never does: end one after that interval
        time.sleep(0.6)
    conn.execute("SELECT 1")


def as_json(res: Any) -> Any:
    assert res.code == 0, res.err
    return json.loads(res.out)


# --- tables ---------------------------------------------------------------------------------


@pytest.fixture
def mixed_case(conn: psycopg.Connection) -> None:
    conn.execute('CREATE SCHEMA "Ops"')
    conn.execute('CREATE TABLE "Ops"."Mixed Case" (id int PRIMARY KEY, "Some Value" text)')
    conn.execute('CREATE INDEX "Value Idx" ON "Ops"."Mixed Case" ("Some Value")')
    conn.execute(
        'INSERT INTO "Ops"."Mixed Case" SELECT g, md5(g::text) FROM generate_series(1, 2000) g'
    )


def test_tables_with_awkward_identifiers(pbl, db_url, conn, mixed_case) -> None:
    conn.execute('DELETE FROM "Ops"."Mixed Case" WHERE id <= 500')
    flush_stats(conn)

    def row() -> dict[str, Any] | None:
        rows = as_json(pbl("tables", "--json", "--schema", "Ops", "--database-url", db_url))
        assert [r["table"] for r in rows] == ["Mixed Case"]
        return rows[0] if rows[0]["dead_tuples"] >= 500 else None

    found = eventually(row, "the dead tuples to show")
    assert found["schema"] == "Ops" and found["kind"] == "table"
    sizes = conn.execute(
        """SELECT pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'Ops' AND c.relname = 'Mixed Case'"""
    ).fetchone()
    assert (found["table_bytes"], found["index_bytes"]) == sizes
    assert found["total_bytes"] == sum(sizes)
    assert found["dead_pct"] > 0
    for key in relations.TABLE_KEYS:
        assert key in found
    # the table view quotes it the way SQL needs it
    res = pbl("tables", "--schema", "Ops", "--database-url", db_url)
    assert res.code == 0, res.err
    assert '"Ops"."Mixed Case"' in res.out
    # the library call the health and report commands use
    names = {(r["schema"], r["table"]) for r in relations.tables(conn)}
    assert ("Ops", "Mixed Case") in names and ("public", "applications") in names


def test_partitioned_table_shows_the_sum_of_its_partitions(pbl, db_url) -> None:
    top = as_json(pbl("tables", "--json", "--database-url", db_url))
    audit = next(r for r in top if r["table"] == "audit_logs")
    assert audit["kind"] == "partitioned" and audit["partitions"] >= 1
    assert not [r for r in top if r["kind"] == "partition"]

    every = as_json(pbl("tables", "--json", "--partitions", "--database-url", db_url))
    parts = [r for r in every if r["parent"] == "audit_logs"]
    assert len(parts) == audit["partitions"]
    assert "audit_logs_default" in {p["table"] for p in parts}
    assert audit["total_bytes"] == sum(p["total_bytes"] for p in parts) > 0
    # each partition comes right after its parent
    start = every.index(next(r for r in every if r["table"] == "audit_logs"))
    assert {r["table"] for r in every[start + 1 : start + 1 + len(parts)]} == {
        p["table"] for p in parts
    }


# --- indexes --------------------------------------------------------------------------------


def test_unused_and_duplicate_indexes(pbl, db_url, conn) -> None:
    conn.execute("CREATE TABLE dup (id int PRIMARY KEY, a int, b int, c int, t text)")
    for ddl in (
        "CREATE INDEX dup_a ON dup (a)",
        "CREATE INDEX dup_ab ON dup (a, b)",
        "CREATE INDEX dup_ab_again ON dup (a, b)",
        "CREATE INDEX dup_a_desc ON dup (a DESC)",
        "CREATE INDEX dup_b ON dup (b)",
        "CREATE INDEX dup_b_partial ON dup (b) WHERE c > 0",
        "CREATE INDEX dup_lower ON dup (lower(t))",
        "CREATE INDEX dup_lower_again ON dup (lower(t))",
        "CREATE INDEX dup_id ON dup (id)",
        "CREATE UNIQUE INDEX dup_c_unique ON dup (c)",
        "CREATE INDEX dup_c_b ON dup (c, b)",
    ):
        conn.execute(ddl)
    conn.execute("INSERT INTO dup SELECT g, g, g, g, g::text FROM generate_series(1, 100) g")
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("SET enable_seqscan = off")
        other.execute("SET enable_bitmapscan = off")
        plan = other.execute("EXPLAIN SELECT * FROM dup WHERE b = 5").fetchall()
        assert "dup_b" in str(plan)
        other.execute("SELECT * FROM dup WHERE b = 5").fetchall()
        flush_stats(other)

    def rows() -> dict[str, dict[str, Any]] | None:
        found = {
            r["index"]: r
            for r in as_json(pbl("indexes", "--json", "--database-url", db_url))
            if r["table"] == "dup"
        }
        return found if found["dup_b"]["scans"] > 0 else None

    got = eventually(rows, "the index scan to be counted")
    dup = {name: (r["duplicate_of"], r["duplicate_kind"]) for name, r in got.items()}
    assert dup["dup_ab_again"] == ("dup_ab", "identical")
    assert dup["dup_lower_again"] == ("dup_lower", "identical")
    assert dup["dup_id"] == ("dup_pkey", "identical")
    assert dup["dup_a"] == ("dup_ab", "prefix")
    for kept in ("dup_ab", "dup_lower", "dup_pkey", "dup_a_desc", "dup_b", "dup_b_partial"):
        assert dup[kept] == (None, None), kept
    # a unique index is not redundant because a longer index starts with its column
    assert dup["dup_c_unique"] == (None, None)

    assert got["dup_b"]["unused"] is False  # scanned
    assert got["dup_b_partial"]["unused"] is True
    assert got["dup_pkey"]["unused"] is False  # backs the primary key
    assert got["dup_c_unique"]["unused"] is False  # enforces uniqueness
    assert all(r["valid"] for r in got.values())

    only_dups = as_json(pbl("indexes", "--json", "--duplicate", "--database-url", db_url))
    assert {r["index"] for r in only_dups if r["table"] == "dup"} == {
        "dup_ab_again",
        "dup_lower_again",
        "dup_id",
        "dup_a",
    }
    only_unused = as_json(pbl("indexes", "--json", "--unused", "--database-url", db_url))
    assert all(r["unused"] for r in only_unused)
    assert "dup_b" not in {r["index"] for r in only_unused}
    res = pbl("indexes", "--database-url", db_url)
    assert res.code == 0, res.err
    assert "redundant: same key as dup_ab" in res.out


def test_indexes_with_awkward_identifiers(pbl, db_url, conn, mixed_case) -> None:
    conn.execute('CREATE INDEX "Value Idx Too" ON "Ops"."Mixed Case" ("Some Value")')
    rows = as_json(pbl("indexes", "--json", "--schema", "Ops", "--database-url", db_url))
    by_name = {r["index"]: r for r in rows}
    assert set(by_name) == {"Mixed Case_pkey", "Value Idx", "Value Idx Too"}
    assert by_name["Value Idx Too"]["duplicate_of"] == "Value Idx"
    assert by_name["Value Idx"]["bytes"] > 0
    lib = {r["index"]: r for r in relations.indexes(conn)}
    for key in ("schema", "table", "index", "bytes", "scans", "unused", "duplicate_of", "valid"):
        assert key in lib["Value Idx"]


# --- sessions and locks ---------------------------------------------------------------------


@dataclass
class Waiter:
    """A session running `statement` in a thread, expected to wait for a lock."""

    conn: psycopg.Connection
    thread: threading.Thread
    pid: int
    errors: list[BaseException] = field(default_factory=list)

    def finished(self) -> bool:
        self.thread.join(WAIT_SECONDS)
        return not self.thread.is_alive()


@pytest.fixture
def sessions(db_url: str, conn: psycopg.Connection) -> Iterator[Callable[..., Any]]:
    """Make holders (open transactions) and waiters (blocked statements in threads); every
    one is rolled back, closed and joined afterwards, whatever the test did."""
    holders: list[psycopg.Connection] = []
    waiters: list[Waiter] = []

    def hold(*statements: str) -> psycopg.Connection:
        holder = psycopg.connect(db_url, options="-c statement_timeout=120s")
        holders.append(holder)
        for statement in statements:
            holder.execute(statement)
        return holder

    def wait(statement: str, *before: str) -> Waiter:
        # the timeouts are a safety net: a broken test must not hang the suite
        waiter_conn = psycopg.connect(
            db_url, options="-c lock_timeout=90s -c statement_timeout=120s"
        )
        for setup in before:
            waiter_conn.execute(setup)
        waiter = Waiter(
            waiter_conn, threading.Thread(target=lambda: None), waiter_conn.info.backend_pid
        )

        def run() -> None:
            try:
                waiter_conn.execute(statement)
            except BaseException as exc:
                waiter.errors.append(exc)

        waiter.thread = threading.Thread(target=run, daemon=True)
        waiters.append(waiter)
        waiter.thread.start()
        eventually(
            lambda: (
                conn.execute(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                    (waiter.pid,),
                ).fetchone()
                == (True,)
            ),
            f"pid {waiter.pid} to wait for a lock",
        )
        return waiter

    try:
        yield hold, wait
    finally:
        for holder in holders:
            if not holder.closed:
                try:
                    holder.rollback()
                finally:
                    holder.close()
        for waiter in waiters:
            waiter.thread.join(WAIT_SECONDS)
            if not waiter.conn.closed:
                with contextlib.suppress(psycopg.Error):
                    waiter.conn.rollback()
                waiter.conn.close()


@pytest.fixture
def lockme(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE lockme (id int PRIMARY KEY, v int)")
    conn.execute("INSERT INTO lockme VALUES (1, 0)")


def test_locks_and_activity_show_a_row_lock(pbl, db_url, conn, sessions, lockme) -> None:
    hold, wait = sessions
    holder = hold("UPDATE lockme SET v = 1 WHERE id = 1")
    waiter = wait("UPDATE lockme SET v = 2 WHERE id = 1")
    holder_pid = holder.info.backend_pid

    rows = as_json(pbl("locks", "--json", "--database-url", db_url))
    entry = next(r for r in rows if r["pid"] == waiter.pid)
    assert entry["blocking_pids"] == [holder_pid]
    assert entry["relation"] == "public.lockme"
    assert entry["chain"] == [waiter.pid, holder_pid]
    assert entry["root_pids"] == [holder_pid]
    assert entry["mode"] == "ShareLock" and entry["locktype"] == "transactionid"
    assert entry["waiting_s"] is not None and entry["blockers"][0]["xact_age_s"] is not None
    (blocker,) = entry["blockers"]
    assert blocker["pid"] == holder_pid
    assert blocker["state"] == "idle in transaction" and blocker["idle_in_transaction"]

    res = pbl("locks", "--database-url", db_url)
    assert res.code == 0, res.err
    assert f"pid {holder_pid}" in res.out and f"pid {waiter.pid}" in res.out
    assert "IDLE IN TRANSACTION" in res.out
    assert "idle in transaction while blocking" in res.err

    listed = as_json(pbl("activity", "--json", "--database-url", db_url))
    pids = [r["pid"] for r in listed]
    assert holder_pid in pids and waiter.pid in pids
    assert pids.index(holder_pid) < pids.index(waiter.pid)  # the longer transaction first
    by_pid = {r["pid"]: r for r in listed}
    assert by_pid[waiter.pid]["blocked_by"] == [holder_pid]
    assert by_pid[holder_pid]["state"] == "idle in transaction"
    assert by_pid[waiter.pid]["query"] == "UPDATE lockme SET v = 2 WHERE id = 1"
    res = pbl("activity", "--database-url", db_url)
    assert res.code == 0 and str(waiter.pid) in res.out

    holder.rollback()
    assert waiter.finished() and not waiter.errors
    assert not [r for r in activity.blocking(conn) if r["pid"] == waiter.pid]


def test_locks_follow_a_chain_of_blockers(pbl, db_url, conn, sessions, mixed_case) -> None:
    hold, wait = sessions
    conn.execute("CREATE TABLE second (id int)")
    holder = hold('LOCK TABLE "Ops"."Mixed Case" IN ACCESS EXCLUSIVE MODE')
    middle = wait(
        'SELECT count(*) FROM "Ops"."Mixed Case"', "LOCK TABLE second IN ACCESS EXCLUSIVE MODE"
    )
    last = wait("SELECT count(*) FROM second")
    rows = {r["pid"]: r for r in as_json(pbl("locks", "--json", "--database-url", db_url))}
    top = holder.info.backend_pid
    assert rows[middle.pid]["relation"] == '"Ops"."Mixed Case"'
    assert rows[middle.pid]["mode"] == "AccessShareLock"
    assert rows[last.pid]["relation"] == "public.second"
    assert rows[last.pid]["chain"] == [last.pid, middle.pid, top]
    assert rows[last.pid]["root_pids"] == [top]
    assert rows[last.pid]["blockers"][0]["blocked"] is True
    res = pbl("locks", "--database-url", db_url)
    assert res.code == 0, res.err
    # the tree nests the last waiter under the middle one, under the holder
    assert res.out.index(f"pid {top}") < res.out.index(f"pid {middle.pid}")
    assert res.out.index(f"pid {middle.pid}") < res.out.index(f"pid {last.pid}")
    holder.rollback()
    assert middle.finished() and not middle.errors
    middle.conn.rollback()
    assert last.finished() and not last.errors


def test_cancel_a_blocked_query(pbl, db_url, conn, sessions, lockme) -> None:
    hold, wait = sessions
    hold("UPDATE lockme SET v = 1 WHERE id = 1")
    waiter = wait("UPDATE lockme SET v = 2 WHERE id = 1")

    res = pbl("activity", "cancel", str(waiter.pid), "--dry-run", "--database-url", db_url)
    assert res.code == 0, res.err
    assert "dry run" in res.out and "UPDATE lockme" in res.err
    assert waiter.thread.is_alive()
    assert any(r["pid"] == waiter.pid for r in activity.blocking(conn))

    res = pbl("activity", "cancel", str(waiter.pid), "--yes", "--database-url", db_url)
    assert res.code == 0, res.err
    assert waiter.finished()
    assert len(waiter.errors) == 1 and isinstance(waiter.errors[0], psycopg.errors.QueryCanceled)
    # the session itself lives on
    waiter.conn.rollback()
    assert waiter.conn.execute("SELECT 1").fetchone() == (1,)


def test_terminate_a_blocked_session(pbl, db_url, conn, sessions, lockme) -> None:
    hold, wait = sessions
    hold("UPDATE lockme SET v = 1 WHERE id = 1")
    waiter = wait("UPDATE lockme SET v = 2 WHERE id = 1")

    res = pbl("activity", "terminate", str(waiter.pid), "--dry-run", "--database-url", db_url)
    assert res.code == 0, res.err
    assert waiter.thread.is_alive()

    res = pbl("activity", "terminate", str(waiter.pid), "--yes", "--database-url", db_url)
    assert res.code == 0, res.err
    assert f"terminated pid {waiter.pid}" in res.out
    assert waiter.finished()
    assert len(waiter.errors) == 1
    assert isinstance(waiter.errors[0], psycopg.OperationalError)  # AdminShutdown, 57P01
    assert not conn.execute(
        "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (waiter.pid,)
    ).fetchone()


def test_terminate_asks_first(db_url, sessions, lockme) -> None:
    hold, wait = sessions
    hold("UPDATE lockme SET v = 1 WHERE id = 1")
    waiter = wait("UPDATE lockme SET v = 2 WHERE id = 1")
    proc = subprocess.run(
        pbl_command("activity", "terminate", str(waiter.pid), "--database-url", db_url),
        input="n\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 4, proc.stderr
    assert "not confirmed" in proc.stderr
    assert waiter.thread.is_alive()


def test_signal_refusals(pbl, db_url, conn) -> None:
    res = pbl("activity", "cancel", "99999999", "--yes", "--database-url", db_url)
    assert res.code == 2
    assert "pid 99999999 is not a backend of this server" in res.err
    with pytest.raises(RefusedError, match="own session"):
        activity.terminate(conn, conn.info.backend_pid)
    with pytest.raises(ConfigError):
        activity.session(conn, 99999999)
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_no_locks_in_a_quiet_database(pbl, db_url, conn) -> None:
    dbname = conn.info.dbname
    rows = as_json(pbl("locks", "--json", "--database-url", db_url))
    assert [r for r in rows if r["database"] == dbname] == []
    assert pbl("locks", "--database-url", db_url).code == 0
