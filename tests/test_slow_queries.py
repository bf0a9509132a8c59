"""pbl slow-queries: pg_stat_statements reports, snapshots, enable/reset, and server-log parsing,
against the session server (pg_stat_statements preloaded) and clusters of their own."""

from __future__ import annotations

import itertools
import json
import shlex
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pbl_db import slowlog
from pbl_db.errors import PblError
from pbl_db.slow_queries import (
    ExtensionState,
    StatementsUnavailable,
    column_expressions,
    parse_duration_ms,
    top,
    unavailable_reason,
)
from tests.conftest import Result
from tests.support.postgres import PgServer, local_cluster

pytestmark = pytest.mark.matrix

FIXTURES = Path(__file__).parent / "fixtures"
Pbl = Callable[..., Result]

PROBE = "SELECT count(*) FROM sq_probe WHERE n > %s"
RARE = "SELECT max(n) FROM sq_probe WHERE n < %s"
SLEEP = "SELECT pg_sleep(0.05)"


def rows_of(result: Result) -> list[dict[str, Any]]:
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def find(rows: list[dict[str, Any]], fragment: str) -> dict[str, Any]:
    found = [r for r in rows if fragment in r["query"]]
    assert len(found) == 1, (fragment, [r["query"] for r in rows])
    return found[0]


@pytest.fixture
def stats(conn: psycopg.Connection) -> psycopg.Connection:
    """The test database with pg_stat_statements created and a table to query."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    conn.execute("CREATE TABLE sq_probe (n integer)")
    conn.execute("INSERT INTO sq_probe SELECT generate_series(1, 100)")
    return conn


def run(conn: psycopg.Connection, query: str, times: int) -> None:
    for i in range(times):
        conn.execute(query, (i,) if "%s" in query else None)


# --- pg_stat_statements reports ------------------------------------------------------------


def test_report_counts_calls_and_orders_by_each_key(
    stats: psycopg.Connection, db_url: str, pbl: Pbl
) -> None:
    run(stats, PROBE, 7)
    run(stats, RARE, 3)
    run(stats, SLEEP, 2)
    args = ("slow-queries", "--database-url", db_url, "--json", "--top", "100")
    rows = rows_of(pbl(*args))
    probe, rare = find(rows, "FROM sq_probe WHERE n >"), find(rows, "FROM sq_probe WHERE n <")
    sleep = find(rows, "pg_sleep")
    assert (probe["calls"], rare["calls"], sleep["calls"]) == (7, 3, 2)
    assert probe["query"] == "SELECT count(*) FROM sq_probe WHERE n > $1"
    assert sleep["total_ms"] >= 100 and sleep["mean_ms"] >= 50  # pg_sleep's lower bound
    for key in ("queryid", "query", "calls", "total_ms", "mean_ms", "rows", "share_pct", "io_ms"):
        assert key in probe
    assert probe["rows"] == 7 and isinstance(probe["queryid"], int)
    assert 0 < sleep["share_pct"] <= 100
    assert sum(r["share_pct"] for r in rows if r["toplevel"]) == pytest.approx(100, abs=0.5)

    for order, key in (("total", "total_ms"), ("mean", "mean_ms"), ("calls", "calls")):
        ranked = rows_of(pbl(*args, "--order-by", order))
        values = [r[key] for r in ranked]
        assert values == sorted(values, reverse=True), order
        assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
        if order == "calls":
            mine = [r["query"] for r in ranked if "sq_probe WHERE" in r["query"]]
            assert [m.split("WHERE ")[1][:3] for m in mine] == ["n >", "n <"]
    by_mean = rows_of(pbl(*args, "--order-by", "mean"))
    assert by_mean.index(find(by_mean, "pg_sleep")) < by_mean.index(find(by_mean, "n >"))
    by_io = rows_of(pbl(*args, "--order-by", "io"))
    assert [r["io_ms"] for r in by_io] == sorted((r["io_ms"] for r in by_io), reverse=True)

    frequent = rows_of(pbl(*args, "--min-calls", "5"))
    assert all(r["calls"] >= 5 for r in frequent)
    assert any("n >" in r["query"] for r in frequent)
    assert not any("pg_sleep" in r["query"] or "n <" in r["query"] for r in frequent)
    assert len(rows_of(pbl("slow-queries", "--database-url", db_url, "--json", "--top", "2"))) == 2

    table = pbl("slow-queries", "--database-url", db_url, "--top", "100", "--min-calls", "7")
    assert table.code == 0, table.err
    assert "share %" in table.out and "SELECT count(*) FROM sq_probe WHERE n > $1" in table.out


def test_top_is_the_library_entry_point(stats: psycopg.Connection) -> None:
    run(stats, PROBE, 6)
    rows = top(stats, top=50, order_by="calls", min_calls=6)
    probe = find(rows, "sq_probe WHERE n >")
    assert probe["calls"] == 6 and probe["total_ms"] > 0
    assert probe["mean_ms"] == pytest.approx(probe["total_ms"] / 6, abs=0.01)


def test_bad_order_key_is_a_usage_error(db_url: str, pbl: Pbl) -> None:
    result = pbl("slow-queries", "--database-url", db_url, "--order-by", "slowest")
    assert result.code == 2 and "--order-by 'slowest'" in result.err


@pytest.mark.parametrize("version", ["1.4", "1.7", "1.8", "1.9", "1.10", "1.11", "1.12"])
def test_old_extension_versions_have_old_column_names(
    conn: psycopg.Connection, version: str
) -> None:
    """The view follows the extension version (total_time before 1.8), not the server's."""
    shipped = conn.execute(
        "SELECT 1 FROM pg_available_extension_versions "
        "WHERE name = 'pg_stat_statements' AND version = %s",
        (version,),
    ).fetchone()
    if shipped is None:  # each major ships the versions up to its own (13: 1.8, 18: 1.12)
        pytest.skip(f"PostgreSQL {conn.info.server_version // 10000} has no {version}")
    conn.execute(
        sql.SQL("CREATE EXTENSION pg_stat_statements VERSION {}").format(sql.Literal(version))
    )
    columns = {
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_stat_statements'::regclass"
        )
    }
    assert ("total_time" in columns) == (tuple(map(int, version.split("."))) < (1, 8))
    run(conn, "SELECT %s::int + 40", 4)
    probe = find(top(conn, top=100, order_by="calls"), "::int + ")
    assert probe["calls"] == 4 and probe["total_ms"] > 0
    assert top(conn, top=3, order_by="io")  # blk_read_time + blk_write_time exist in each


def test_columns_follow_the_extension_version() -> None:
    v1_4 = ["userid", "dbid", "queryid", "query", "calls", "total_time", "rows", "blk_read_time"]
    v1_4.append("blk_write_time")
    v1_11 = ["userid", "dbid", "toplevel", "queryid", "query", "plans", "total_plan_time"]
    v1_11 += ["calls", "total_exec_time", "rows", "shared_blk_read_time", "shared_blk_write_time"]
    v1_11 += ["local_blk_read_time", "local_blk_write_time", "temp_blk_read_time"]
    v1_11 += ["temp_blk_write_time", "stats_since"]
    old = {k: v.as_string() for k, v in column_expressions(v1_4).items()}
    new = {k: v.as_string() for k, v in column_expressions(v1_11).items()}
    assert old["exec_ms"] == '"s"."total_time"' and old["plan_ms"] == "0"
    assert old["io_ms"] == '("s"."blk_read_time" + "s"."blk_write_time")'
    assert old["toplevel"] == "true" and old["stats_since"] == "NULL::timestamptz"
    assert new["exec_ms"] == '"s"."total_exec_time"' and new["plan_ms"] == '"s"."total_plan_time"'
    for name in ("shared_blk_read_time", "local_blk_write_time", "temp_blk_read_time"):
        assert name in new["io_ms"]
    assert "blk_read_time" not in new["io_ms"].replace("_blk_read_time", "")
    assert new["toplevel"] == '"s"."toplevel"' and new["stats_since"] == '"s"."stats_since"'


# --- unavailable ---------------------------------------------------------------------------


def test_unavailable_without_the_extension_names_the_fix(db_url: str, pbl: Pbl) -> None:
    result = pbl("slow-queries", "--database-url", db_url)
    assert result.code == 2
    line = result.err.strip().splitlines()[-1]
    assert "pg_stat_statements extension is not created in database" in line
    assert "pbl slow-queries enable" in line and "--from-log" in line
    for sub in (("reset",), ("snapshot",)):
        assert pbl("slow-queries", *sub, "--database-url", db_url).code == 2


def test_unavailable_raises_a_pbl_error(conn: psycopg.Connection) -> None:
    with pytest.raises(StatementsUnavailable) as info:
        top(conn)
    assert isinstance(info.value, PblError) and info.value.exit_code == 2


def _state(**changes: Any) -> ExtensionState:
    base: dict[str, Any] = {
        "database": "app",
        "dbid": 1,
        "available_version": "1.10",
        "installed_version": "1.10",
        "schema": "public",
        "columns": ("userid", "dbid", "queryid", "query", "calls", "rows", "total_exec_time"),
        "preload": ("pg_stat_statements",),
        "preload_pending": False,
        "track_io_timing": False,
        "track": "top",
        "superuser": True,
    }
    return ExtensionState(**{**base, **changes})


def test_unavailable_reasons_name_what_is_missing() -> None:
    assert unavailable_reason(_state()) is None
    missing = unavailable_reason(_state(available_version=None, installed_version=None))
    assert missing is not None and "not installed on this server" in missing.message
    assert "contrib" in str(missing) and "--from-log" in str(missing)
    unloaded = unavailable_reason(_state(preload=("auto_explain",), preload_pending=True))
    assert unloaded is not None and "shared_preload_libraries" in unloaded.message
    assert "waiting for a restart" in unloaded.message
    old = unavailable_reason(_state(columns=("userid", "dbid", "queryid", "query", "calls")))
    assert old is not None and "ALTER EXTENSION pg_stat_statements UPDATE" in str(old)


# --- snapshots and reset -------------------------------------------------------------------


def test_snapshot_delta_counts_calls_after_it_and_detects_a_reset(
    stats: psycopg.Connection, db_url: str, pbl: Pbl
) -> None:
    run(stats, PROBE, 5)
    taken = pbl("slow-queries", "snapshot", "--label", "before-deploy", "--database-url", db_url)
    assert taken.code == 0, taken.err
    snapshot_id = taken.out.strip()
    assert snapshot_id.isdigit() and f"--since {snapshot_id}" in taken.err
    run(stats, PROBE, 4)
    run(stats, RARE, 2)  # a statement the snapshot does not have

    since = ("slow-queries", "--database-url", db_url, "--json", "--top", "100", "--since")
    rows = rows_of(pbl(*since, snapshot_id))
    probe, rare = find(rows, "sq_probe WHERE n >"), find(rows, "sq_probe WHERE n <")
    assert (probe["calls"], probe["new"], probe["reset"]) == (4, False, False)
    assert probe["rows"] == 4
    assert (rare["calls"], rare["new"]) == (2, True)
    assert rows_of(pbl(*since, "before-deploy")) != []  # by label too
    assert find(rows_of(pbl(*since, "before-deploy")), "n >")["calls"] == 4
    # nobody's statistics were reset: the full counts are still there
    assert find(top(stats, top=100), "n >")["calls"] == 9

    listed = rows_of(pbl("slow-queries", "snapshot", "list", "--database-url", db_url, "--json"))
    assert [(s["id"], s["label"]) for s in listed] == [(int(snapshot_id), "before-deploy")]
    assert listed[0]["statements"] > 0

    dry = pbl("slow-queries", "reset", "--dry-run", "--database-url", db_url)
    assert dry.code == 0 and "would discard" in dry.err and "pg_stat_statements_reset" in dry.err
    assert find(top(stats, top=100), "n >")["calls"] == 9
    done = pbl("slow-queries", "reset", "--database-url", db_url)
    assert done.code == 0, done.err
    assert "discarding" in done.err and "reset for database" in done.out
    assert not [r for r in top(stats, top=100) if "sq_probe" in r["query"]]

    run(stats, PROBE, 2)  # fewer calls than in the snapshot: the counters went down
    after = pbl(*since, snapshot_id)
    probe = find(rows_of(after), "sq_probe WHERE n >")
    assert (probe["calls"], probe["reset"]) == (2, True)
    assert "reset" in after.err

    gone = pbl("slow-queries", "snapshot", "delete", snapshot_id, "--database-url", db_url)
    assert gone.code == 0, gone.err
    missing = pbl(*since, snapshot_id)
    assert missing.code == 2 and f"no snapshot '{snapshot_id}'" in missing.err


def test_snapshot_of_another_database_incarnation_is_refused(
    stats: psycopg.Connection, db_url: str, pbl: Pbl
) -> None:
    taken = pbl("slow-queries", "snapshot", "--database-url", db_url)
    assert taken.code == 0, taken.err
    stats.execute("UPDATE pbl_statement_snapshots SET dbid = 1")
    result = pbl("slow-queries", "--since", taken.out.strip(), "--database-url", db_url)
    assert result.code == 4 and "another incarnation" in result.err


# --- enable --------------------------------------------------------------------------------


def test_enable_dry_run_changes_nothing(conn: psycopg.Connection, db_url: str, pbl: Pbl) -> None:
    before = conn.execute("SHOW log_min_duration_statement").fetchone()
    result = pbl(
        "slow-queries", "enable", "--dry-run", "--min-duration", "2s", "--database-url", db_url
    )
    assert result.code == 0, result.err
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;" in result.out
    assert 'ALTER SYSTEM SET "log_min_duration_statement" = 2000;' in result.out
    assert "log_statement" not in result.out and "nothing was changed" in result.err
    with psycopg.connect(db_url) as fresh:
        assert fresh.execute("SHOW log_min_duration_statement").fetchone() == before
        assert fresh.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
        ).fetchone() == (0,)


@pytest.mark.parametrize("value", ["1x", "-5", "1.5s", "", "99999999999"])
def test_min_duration_is_validated(value: str) -> None:
    with pytest.raises(PblError, match="--min-duration"):
        parse_duration_ms(value)


def test_min_duration_units() -> None:
    assert [parse_duration_ms(v) for v in ("250", "250ms", "1s", "2min", "1h")] == [
        250,
        250,
        1000,
        120_000,
        3_600_000,
    ]


@pytest.fixture
def own_cluster(pg_server: PgServer) -> Iterator[PgServer]:
    """A cluster of its own: enable runs ALTER SYSTEM, the csvlog test restarts."""
    if pg_server.bindir is None:
        pytest.skip("needs local PostgreSQL binaries (not PBL_TEST_DATABASE_URL)")
    with local_cluster(pg_server.bindir) as server:
        yield server


def restart_without_preload(server: PgServer) -> None:
    """Restart with the same command line minus shared_preload_libraries."""
    assert server.data_dir is not None
    words = shlex.split((server.data_dir / "postmaster.opts").read_text())
    settings = [w for prev, w in itertools.pairwise(words) if prev == "-c"]
    kept = [s for s in settings if not s.startswith("shared_preload_libraries=")]
    server.pg_ctl("restart", "-o", " ".join(f"-c {s}" for s in kept))


def show(url: str, name: str) -> str:
    with psycopg.connect(url) as fresh:
        row = fresh.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.slow
def test_enable_creates_the_extension_and_sets_the_log_threshold(
    own_cluster: PgServer, pbl: Pbl
) -> None:
    url = own_cluster.create_database("app")
    assert show(url, "log_statement") == "none"
    first = pbl("slow-queries", "enable", "--min-duration", "250ms", "--database-url", url)
    assert first.code == 0, first.err
    assert "pg_stat_statements: created in this database" in first.out
    assert "log_min_duration_statement: changed -1 (off) -> 250 ms, in effect now" in first.out
    assert show(url, "log_min_duration_statement") == "250ms"
    assert show(url, "log_statement") == "none"  # never touched unless asked
    assert "PII" not in first.err
    assert rows_of(pbl("slow-queries", "--database-url", url, "--json")) != []

    again = pbl("slow-queries", "enable", "--database-url", url)
    assert again.code == 0 and "already created" in again.out
    assert "already 250 ms: unchanged" in again.err

    loud = pbl("slow-queries", "enable", "--log-all-statements", "--database-url", url)
    assert loud.code == 0, loud.err
    assert "log_statement: changed none -> all" in loud.out
    assert "warning:" in loud.err and "PII" in loud.err
    assert show(url, "log_statement") == "all"

    restart_without_preload(own_cluster)
    unloaded = pbl("slow-queries", "--database-url", url)
    assert unloaded.code == 2 and "not in shared_preload_libraries" in unloaded.err
    assert "pbl slow-queries enable" in unloaded.err
    told = pbl("slow-queries", "enable", "--database-url", url)
    assert told.code == 0, told.err
    assert "pg_stat_statements: not loaded" in told.out
    assert (
        """ALTER SYSTEM SET "shared_preload_libraries" = 'pg_stat_statements'; then restart"""
        in told.out
    )
    assert show(url, "shared_preload_libraries") == ""  # stated, not changed
    with psycopg.connect(url) as fresh:
        assert fresh.execute(
            "SELECT count(*) FROM pg_file_settings WHERE name = 'shared_preload_libraries'"
        ).fetchone() == (0,)


# --- server logs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT * FROM t1 WHERE id = 1", "SELECT * FROM t1 WHERE id = $1"),
        ("SELECT * FROM t1 WHERE id = 22;", "SELECT * FROM t1 WHERE id = $1"),
        (
            "select a from t where s = 'it''s' and b = 'x'",
            "select a from t where s = $1 and b = $2",
        ),
        ("select E'a\\'b', 'C:\\', 3", "select $1, $2, $3"),
        ("select x - 5, x-5, x = -5, f(-1.5e3), -.5", "select x - $1, x-$2, x = $3, f($4), $5"),
        ('select t1.c2, "Tab 3", a$1 from s1.t22', 'select t1.c2, "Tab 3", a$1 from s1.t22'),
        ("select * from t where id in (1, 2, 3)", "select * from t where id in ($1 /*, ... */)"),
        ("select * from t where id IN('a')", "select * from t where id IN ($1 /*, ... */)"),
        ("select * from t where id in (select 1)", "select * from t where id in (select $1)"),
        ("select * from t where a = $1 and b = 7", "select * from t where a = $1 and b = $2"),
        (
            "select * from t where a = ANY(ARRAY[1, 2])",
            "select * from t where a = ANY(ARRAY[$1 /*, ... */])",
        ),
        ("select $$it's$$, $q$ $$ $q$", "select $1, $2"),
        ("select '5'::int, interval '1 day', x'ff', 0x1F", "select $1::int, interval $2, $3, $4"),
        ("select 1 -- a 2\n  /* b /* 3 */ */ , 2", "select $1 , $2"),
        ("insert into t values (1, 'a'), (2, 'b')", "insert into t values ($1, $2) /*, ... */"),
        ("select a[1:2] from t", "select a[$1:$2] from t"),
        ("select 'unterminated", "select $1"),
        (
            'select col2name, "2024_sales" from t1 where x1 = 1',
            'select col2name, "2024_sales" from t1 where x1 = $1',
        ),
        ("select E'x\\\\' || 'y', U&'d\\0061t', 4", "select $1 || $2, $3, $4"),
        ("select a from t where b = -1 and c = 2-1", "select a from t where b = $1 and c = $2-$3"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert slowlog.normalize(text) == expected


def test_normalize_merges_what_differs_only_in_literals() -> None:
    a = slowlog.normalize("SELECT * FROM users WHERE email = 'a@x' AND id IN (1,2)")
    b = slowlog.normalize("SELECT *\n  FROM users\n WHERE email = 'b''c@y' AND id IN (7)")
    assert a == b


FIXTURE_EXPECTED = {
    "select pg_sleep($1)": (1, 50.358),
    "select * from t1 where id = $1": (4, 0.501),  # two literal statements + two executes
    "select count(*) from t1 where id <> $1": (2, 0.5),  # log_statement + bare durations
    "select * from t1 where s = $1 and id in ($2 /*, ... */)": (2, 0.382),  # multi-line
    "insert into t1 values ($1, $2, $3)": (3, 0.357),
    "select * from t1 where s = $1 and n > $2": (1, 0.127),  # E'' string, negative number
    "select s from t1 where s = $1": (1, 0.06),  # a newline inside a literal
}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("stderr.log", "stderr"), ("csvlog.csv", "csvlog"), ("jsonlog.json", "jsonlog")],
)
def test_fixture_logs_aggregate_the_same(name: str, fmt: str, pbl: Pbl) -> None:
    path = str(FIXTURES / f"slowlog-{name}")
    result = pbl("slow-queries", "--from-log", path, "--json", "--top", "100")
    rows = rows_of(result)
    assert "18 timed statement(s), 11 distinct" in result.err and f"({fmt} log)" in result.err
    got = {r["query"]: (r["calls"], r["total_ms"]) for r in rows}
    for query, expected in FIXTURE_EXPECTED.items():
        assert got[query] == expected, query
    assert not any("parse" in q or "bind" in q for q in got)  # parse/bind durations not counted
    assert rows[0]["query"] == "select pg_sleep($1)" and rows[0]["max_ms"] == 50.358
    assert sum(r["share_pct"] for r in rows) == pytest.approx(100, abs=0.1)
    explicit = rows_of(pbl("slow-queries", "--from-log", path, "--format", fmt, "--json"))
    assert explicit == rows[:10]
    if fmt != "stderr":  # the log's query_id, when all merged lines agree
        assert got and find(rows, "pg_sleep")["queryid"] == 2920803561901199087
        assert find(rows, "where id = $1")["queryid"] is None  # literal and $1 forms differ
    by_calls = rows_of(pbl("slow-queries", "--from-log", path, "--order-by", "calls", "--json"))
    assert by_calls[0]["query"] == "select * from t1 where id = $1"
    table = pbl("slow-queries", "--from-log", path, "--min-calls", "2")
    assert table.code == 0 and "max ms" in table.out and "pg_sleep" not in table.out


def test_log_database_filter(pbl: Pbl) -> None:
    csv_path = str(FIXTURES / "slowlog-csvlog.csv")
    rows = rows_of(pbl("slow-queries", "--from-log", csv_path, "--log-database", "v17", "--json"))
    assert rows
    other = pbl("slow-queries", "--from-log", csv_path, "--log-database", "nope")
    assert other.code == 2 and "for database nope" in other.err
    stderr_path = str(FIXTURES / "slowlog-stderr.log")
    unnamed = pbl("slow-queries", "--from-log", stderr_path, "--log-database", "v17")
    assert unnamed.code == 2 and "does not name databases" in unnamed.err


def test_log_without_durations_says_how_to_get_them(tmp_path: Path, pbl: Pbl) -> None:
    log = tmp_path / "quiet.log"
    log.write_text(
        "2026-01-01 00:00:00.000 UTC [1] LOG:  database system is ready to accept connections\n"
        "2026-01-01 00:00:01.000 UTC [2] LOG:  statement: SELECT 1\n"
    )
    result = pbl("slow-queries", "--from-log", str(log))
    assert result.code == 2
    assert "no statement durations" in result.err and "log_min_duration_statement" in result.err
    assert pbl("slow-queries", "--from-log", str(tmp_path / "missing.log")).code == 2
    io_order = pbl("slow-queries", "--from-log", str(log), "--order-by", "io")
    assert io_order.code == 2 and "no I/O times" in io_order.err


def test_prefix_agnostic_stderr_and_gzip(tmp_path: Path, pbl: Pbl) -> None:
    import gzip

    lines = [
        "Jan 01 12:00:00 host postgres[77]: user=app,db=shop LOG:  duration: 2.500 ms  "
        "statement: SELECT total FROM orders\n",
        "\tWHERE id = 10\n",
        "weird prefix without severity duration: 1.500 ms  execute S_1/C_2: SELECT total FROM "
        "orders WHERE id = $1\n",
        "2026-01-01 [78] LOG:  duration: 0.100 ms  bind S_1: SELECT total FROM orders\n",
    ]
    path = tmp_path / "custom.log.gz"
    with gzip.open(path, "wt") as out:
        out.writelines(lines)
    rows = rows_of(pbl("slow-queries", "--from-log", str(path), "--json"))
    assert [(r["query"], r["calls"], r["total_ms"]) for r in rows] == [
        ("SELECT total FROM orders WHERE id = $1", 2, 4.0)
    ]
    shop = rows_of(pbl("slow-queries", "--from-log", str(path), "--log-database", "shop", "--json"))
    assert shop[0]["calls"] == 1


def test_log_is_streamed() -> None:
    """Entries come out while the input is still being read: a huge file is never held whole."""

    def endless() -> Iterator[str]:
        for i in itertools.count():
            yield f"2026-01-01 00:00:00 UTC [9] LOG:  duration: 1.0 ms  statement: SELECT {i}\n"

    first = list(itertools.islice(slowlog.timed_statements(slowlog.stderr_entries(endless())), 3))
    assert [t.text for t in first] == ["SELECT 0", "SELECT 1", "SELECT 2"]


def _log_table(dbname: str) -> str:
    return f"sq_log_{dbname[-12:]}"


def test_log_written_by_the_test_server(
    pg_server: PgServer, conn: psycopg.Connection, db_url: str, pbl: Pbl
) -> None:
    if pg_server.data_dir is None or not (pg_server.data_dir.parent / "log").exists():
        pytest.skip("the server's log file is not on this machine")
    dbname = conn.info.dbname
    table = _log_table(dbname)
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET log_min_duration_statement = 0").format(
            sql.Identifier(dbname)
        )
    )
    with psycopg.connect(db_url, autocommit=True) as logged:
        logged.execute(f"CREATE TABLE {table} (id integer, note text)")
        logged.execute(f"INSERT INTO {table} VALUES (1, 'it''s'), (2, E'back\\\\slash')")
        logged.execute(f"SELECT id, note FROM {table} WHERE id = 1")
        logged.execute(f"SELECT id, note FROM {table} WHERE id = 2")
        logged.execute(f"SELECT id, note FROM {table} WHERE id = %s", (3,))
        logged.execute(f"SELECT id\nFROM {table}\nWHERE note IN ('a', 'it''s')")
        logged.execute(f"SELECT id\nFROM {table}\nWHERE note IN ('b')")
    log = str(pg_server.data_dir.parent / "log")
    rows = rows_of(pbl("slow-queries", "--from-log", log, "--json", "--top", "100000"))
    mine = {r["query"]: r["calls"] for r in rows if table in r["query"]}
    assert mine[f"SELECT id, note FROM {table} WHERE id = $1"] == 3
    assert mine[f"SELECT id FROM {table} WHERE note IN ($1 /*, ... */)"] == 2
    assert mine[f"INSERT INTO {table} VALUES ($1, $2) /*, ... */"] == 1


@pytest.mark.slow
def test_csvlog_written_by_a_cluster(own_cluster: PgServer, pbl: Pbl) -> None:
    admin = own_cluster.admin_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET logging_collector = on")
        conn.execute("ALTER SYSTEM SET log_destination = 'csvlog'")
        conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
    own_cluster.pg_ctl("restart")
    url = own_cluster.create_database("shop")
    marker = f"sq_csv_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {marker} (id integer, note text)")
        for i in (1, 2, 3):
            conn.execute(f"SELECT note FROM {marker}\nWHERE id = {i} AND note <> 'a,\"b\"'")
        conn.execute(f"SELECT note FROM {marker} WHERE id = %s AND note <> %s", (4, "x"))
    assert own_cluster.data_dir is not None
    log_dir = own_cluster.data_dir / "log"
    deadline = time.monotonic() + 30
    while True:  # the logging collector writes asynchronously
        files = sorted(log_dir.glob("*.csv"))
        if files and f"{marker} WHERE id = $1" in files[-1].read_text():
            break
        assert time.monotonic() < deadline, "the csvlog never showed the statements"
        time.sleep(0.1)
    args = ("--from-log", str(files[-1]), "--log-database", "shop", "--json", "--top", "1000")
    result = pbl("slow-queries", *args)
    mine = {r["query"]: r["calls"] for r in rows_of(result) if marker in r["query"]}
    assert mine == {
        f"SELECT note FROM {marker} WHERE id = $1 AND note <> $2": 4,
        f"CREATE TABLE {marker} (id integer, note text)": 1,
    }
    assert "(csvlog log)" in result.err


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"--json printed {constant}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_stays_valid_json_with_absurd_durations(tmp_path: Path, pbl: Pbl) -> None:
    log = tmp_path / "slow.log"
    huge = "9" * 300 + ".0"
    lines = [
        f"2026-01-01 00:00:00 UTC [42] LOG:  duration: {huge} ms  statement: SELECT 1",
        f"2026-01-01 00:00:00 UTC [42] LOG:  duration: {'9' * 400} ms  statement: SELECT 2",
        "2026-01-01 00:00:01 UTC [42] LOG:  duration: 1e999 ms  statement: SELECT 3",
        "2026-01-01 00:00:02 UTC [43] LOG:  duration: 12.5 ms  statement: SELECT 4",
    ]
    log.write_text("\n".join(lines) + "\n")
    result = pbl("slow-queries", "--from-log", str(log), "--json")
    assert result.code == 0, result.err
    rows = _strict_json(result.out)
    assert [r["query"] for r in rows] == ["SELECT $1"]  # only the plausible duration counted
    assert rows[0]["calls"] == 1 and rows[0]["share_pct"] == 100.0


def test_json_renderer_never_prints_infinity_or_nan(capsys: pytest.CaptureFixture[str]) -> None:
    from pbl_db.cli.output import render

    render([{"a": float("inf"), "b": [float("nan"), 1.5], "c": {"d": -float("inf")}}], as_json=True)
    assert _strict_json(capsys.readouterr().out) == [
        {"a": None, "b": [None, 1.5], "c": {"d": None}}
    ]


def test_gz_log_that_is_not_gzip_is_a_usage_error(tmp_path: Path, pbl: Pbl) -> None:
    fake = tmp_path / "fake.log.gz"
    fake.write_text("not gzip at all\n")
    result = pbl("slow-queries", "--from-log", str(fake))
    assert result.code == 2
    assert "is not a gzip file" in result.err and "internal error" not in result.err
    import gzip

    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(b"2026-01-01 LOG:  duration: 1 ms  statement: SELECT 1\n")[:-12])
    result = pbl("slow-queries", "--from-log", str(cut))
    assert result.code == 2 and "cut short" in result.err


def test_from_log_streams_a_fifo(tmp_path: Path, pbl: Pbl) -> None:
    import os
    import threading

    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    line = "2026-01-01 00:00:00 UTC [42] LOG:  duration: 2.5 ms  statement: SELECT 1\n"

    def feed() -> None:
        with fifo.open("w") as writer:
            writer.write(line)

    writer = threading.Thread(target=feed)
    writer.start()
    result = pbl("slow-queries", "--from-log", str(fifo), "--json")
    writer.join(timeout=10)
    assert result.code == 0, result.err
    assert _strict_json(result.out)[0]["total_ms"] == 2.5
