"""pbl health against a real PostgreSQL and a real Redis: statuses, thresholds, output formats."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Result
from tests.support.postgres import free_port
from tests.support.redis_server import redis_server
from tests.support.wait import eventually

pytestmark = pytest.mark.matrix

Pbl = Callable[..., Result]


def checks_by_id(result: Result) -> dict[str, dict]:
    data = json.loads(result.out)
    return {c["id"]: c for c in data["checks"]}


def test_all_checks_run_on_a_migrated_database(pbl: Pbl, db_url: str) -> None:
    result = pbl("health", "--database-url", db_url, "--json")
    checks = checks_by_id(result)
    listed = json.loads(pbl("health", "--list", "--json").out)
    assert [c["id"] for c in listed] == list(checks)
    assert checks["connection"]["status"] == "OK"
    assert checks["migrations"]["status"] == "OK", checks["migrations"]
    assert checks["migrations"]["details"]["pending"] == []
    assert checks["invalid_indexes"]["status"] == "OK"
    assert checks["blocked_sessions"]["status"] == "OK"
    assert checks["audit_partitions"]["status"] in ("OK", "WARN")
    assert checks["archiving"]["status"] == "SKIP"  # the test cluster does not archive
    for redis_check in ("redis_ping", "redis_memory", "redis_persistence"):
        assert checks[redis_check]["status"] == "SKIP"
        assert "REDIS_URL" in checks[redis_check]["summary"]
    assert checks["version"]["value"] >= 13
    assert checks["database_size"]["value"] > 0
    assert result.code == (1 if any(c["status"] == "CRIT" for c in checks.values()) else 0)


def test_unmigrated_database_has_pending_migrations(pbl: Pbl, empty_db_url: str) -> None:
    checks = checks_by_id(pbl("health", "--database-url", empty_db_url, "--json"))
    assert checks["migrations"]["status"] == "WARN"
    assert "0001_roles" in checks["migrations"]["details"]["pending"]
    assert checks["audit_partitions"]["status"] == "SKIP"


@pytest.fixture
def blocked_session(db_url: str) -> Iterator[tuple[int, int]]:
    """(blocker pid, blocked pid): a transaction holding a row lock and a session waiting on it."""
    holder = psycopg.connect(db_url)
    waiter = psycopg.connect(db_url, autocommit=True)
    holder.execute("CREATE TABLE IF NOT EXISTS lock_target (id int PRIMARY KEY)")
    holder.execute("INSERT INTO lock_target VALUES (1)")
    holder.commit()
    holder.execute("UPDATE lock_target SET id = 1 WHERE id = 1")  # open transaction holds the row
    waiter.execute("SET statement_timeout = '60s'")
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            waiter.execute("UPDATE lock_target SET id = 1 WHERE id = 1")
        except psycopg.Error as exc:
            failure.append(exc)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    watcher = psycopg.connect(db_url, autocommit=True)
    try:
        eventually(
            lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                (waiter.info.backend_pid,),
            ).fetchone()[0],
            "the second session to block",
        )
        yield holder.info.backend_pid, waiter.info.backend_pid
    finally:
        holder.rollback()
        thread.join(30)
        holder.close()
        waiter.close()
        watcher.close()


def test_a_blocked_session_is_flagged_with_its_blocker(
    pbl: Pbl, db_url: str, blocked_session: tuple[int, int]
) -> None:
    blocker, blocked = blocked_session
    result = pbl("health", "--database-url", db_url, "--json", "--check", "blocked_sessions")
    check = checks_by_id(result)["blocked_sessions"]
    assert check["status"] == "WARN"
    assert check["value"] == 1
    assert f"pid {blocked}" in check["summary"]
    assert f"{blocker} (idle in transaction)" in check["summary"]
    entry = check["details"]["blocked"][0]
    assert entry["pid"] == blocked and entry["blockers"] == [blocker]
    assert result.code == 0

    nagios = pbl(
        "health", "--database-url", db_url, "--check", "blocked_sessions", "--format", "nagios"
    )
    assert nagios.code == 1
    assert nagios.out.startswith("PBL HEALTH WARNING - blocked_sessions WARNING")
    critical = pbl(
        "health",
        "--database-url",
        db_url,
        "--check",
        "blocked_sessions",
        "--crit",
        "blocked_sessions=1",
        "--format",
        "nagios",
    )
    assert critical.code == 2
    assert critical.out.startswith("PBL HEALTH CRITICAL")
    # the blocker is also the oldest transaction, idle in it
    idle = checks_by_id(
        pbl(
            "health",
            "--database-url",
            db_url,
            "--json",
            "--check",
            "idle_in_transaction",
            "--warn",
            "idle_in_transaction=0s",
        )
    )["idle_in_transaction"]
    assert idle["status"] == "WARN"
    assert idle["details"]["pid"] == blocker


def test_invalid_index_is_flagged(pbl: Pbl, conn: psycopg.Connection, db_url: str) -> None:
    conn.execute("CREATE TABLE dupes (v int)")
    conn.execute("INSERT INTO dupes VALUES (1), (1)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON dupes (v)")
    check = checks_by_id(pbl("health", "--database-url", db_url, "--json"))["invalid_indexes"]
    assert check["status"] == "WARN"
    assert check["details"]["indexes"] == ["dupes_v_key"]
    assert "dupes_v_key" in check["summary"]


def test_rows_in_the_default_audit_partition_are_flagged(
    pbl: Pbl, conn: psycopg.Connection, db_url: str
) -> None:
    before = checks_by_id(pbl("health", "--database-url", db_url, "--json"))["audit_partitions"]
    assert before["details"]["default_partition_rows"] is False
    assert before["details"]["current_month"] is True
    tenant = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES ('Health', %s) RETURNING id",
        (f"health-{uuid.uuid4().hex[:8]}",),
    ).fetchone()
    assert tenant is not None
    conn.execute(
        "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
        "event_timestamp) VALUES (%s, 'x', 'x', 'svc', '2199-01-01')",
        (tenant[0],),
    )
    after = checks_by_id(pbl("health", "--database-url", db_url, "--json"))["audit_partitions"]
    assert after["status"] == "WARN"
    assert "audit_logs_default" in after["summary"]
    assert after["details"]["default_partition_rows"] is True


def test_nagios_exit_codes_and_perfdata(pbl: Pbl, db_url: str) -> None:
    ok = pbl("health", "--database-url", db_url, "--format", "nagios", "--check", "database_size")
    assert ok.code == 0, ok.out
    first = ok.out.splitlines()[0]
    assert first.startswith("PBL HEALTH OK - 1 checks OK | ")
    perf = first.split(" | ", 1)[1]
    assert re.fullmatch(r"database_size=\d+B;;;0;", perf), perf

    warn = pbl(
        "health",
        "--database-url",
        db_url,
        "--format",
        "nagios",
        "--check",
        "database_size",
        "--check",
        "connections",
        "--warn",
        "database_size=1kB",
        "--warn",
        "connections=0.001%",
    )
    assert warn.code == 1
    perf = warn.out.splitlines()[0].split(" | ", 1)[1].split()
    assert any(re.fullmatch(r"database_size=\d+B;1024;;0;", p) for p in perf), perf
    assert any(re.fullmatch(r"connections=[\d.]+%;0\.001;95;0;100", p) for p in perf), perf

    crit = pbl(
        "health",
        "--database-url",
        db_url,
        "--format",
        "nagios",
        "--check",
        "database_size",
        "--crit",
        "database_size=1kB",
    )
    assert crit.code == 2
    assert "database_size CRITICAL" in crit.out.splitlines()[0]

    # lower-is-worse limits use Nagios' "alert below" range syntax
    below = pbl(
        "health",
        "--database-url",
        db_url,
        "--format",
        "nagios",
        "--check",
        "audit_partitions",
        "--warn",
        "audit_partitions=50",
        "--crit",
        "audit_partitions=0",
    )
    assert below.code == 1
    assert re.search(r"audit_partitions=\d+;50:;0:;0;", below.out), below.out


def test_table_format_exits_1_on_critical(pbl: Pbl, db_url: str) -> None:
    result = pbl(
        "health",
        "--database-url",
        db_url,
        "--check",
        "database_size",
        "--crit",
        "database_size=1kB",
    )
    assert result.code == 1
    assert "database_size" in result.out and "CRIT" in result.out
    warned = pbl(
        "health",
        "--database-url",
        db_url,
        "--check",
        "database_size",
        "--warn",
        "database_size=1kB",
    )
    assert warned.code == 0
    strict = pbl(
        "health",
        "--database-url",
        db_url,
        "--check",
        "database_size",
        "--warn",
        "database_size=1kB",
        "--strict",
    )
    assert strict.code == 1


def test_prometheus_exposition(pbl: Pbl, db_url: str) -> None:
    result = pbl(
        "health",
        "--database-url",
        db_url,
        "--format",
        "prometheus",
        "--check",
        "connection",
        "--check",
        "connections",
        "--check",
        "database_size",
    )
    assert result.code == 0
    samples = {}
    for line in result.out.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) pbl_health_\w+ .+", line), line
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    assert samples['pbl_health_status{check="connection"}'] == 0
    assert samples["pbl_health_up"] == 1
    assert 0 < samples['pbl_health_value_ratio{check="connections"}'] < 1
    assert samples['pbl_health_value_ratio_warn{check="connections"}'] == pytest.approx(0.9)
    assert samples['pbl_health_value_bytes{check="database_size"}'] > 1_000_000
    assert 0 < samples['pbl_health_value_seconds{check="connection"}'] < 10


def test_unreachable_postgres(pbl: Pbl) -> None:
    url = f"postgresql://nobody:x@127.0.0.1:{free_port()}/nothing"
    table = pbl("health", "--database-url", url, "--json")
    assert table.code == 3
    checks = checks_by_id(table)
    assert checks["connection"]["status"] == "CRIT"
    assert checks["migrations"]["status"] == "UNKNOWN"
    nagios = pbl("health", "--database-url", url, "--format", "nagios")
    assert nagios.code == 2
    assert nagios.out.startswith("PBL HEALTH CRITICAL - connection CRITICAL: cannot connect")
    prom = pbl("health", "--database-url", url, "--format", "prometheus")
    assert prom.code == 0
    assert "pbl_health_up 0" in prom.out.splitlines()


def test_redis_checks_then_redis_stopped(pbl: Pbl, db_url: str) -> None:
    redis_checks = [
        "--check",
        "redis_ping",
        "--check",
        "redis_memory",
        "--check",
        "redis_persistence",
        "--check",
        "redis_replication",
        "--check",
        "redis_evictions",
        "--check",
        "redis_rejected",
    ]
    with redis_server() as url:
        up = pbl("health", "--database-url", db_url, "--redis-url", url, "--json", *redis_checks)
        checks = checks_by_id(up)
        assert checks["redis_ping"]["status"] == "OK"
        assert checks["redis_ping"]["value"] > 0
        assert checks["redis_replication"]["details"]["role"] == "master"
        assert checks["redis_persistence"]["status"] == "OK"
        assert checks["redis_evictions"]["value"] == 0
        assert up.code == 0
    down = pbl("health", "--database-url", db_url, "--redis-url", url, "--json", *redis_checks)
    checks = checks_by_id(down)
    assert checks["redis_ping"]["status"] == "CRIT"
    assert "Redis down" in checks["redis_ping"]["summary"]
    assert checks["redis_memory"]["status"] == "UNKNOWN"
    assert down.code == 1
    nagios = pbl(
        "health",
        "--database-url",
        db_url,
        "--redis-url",
        url,
        "--format",
        "nagios",
        "--check",
        "redis_ping",
    )
    assert nagios.code == 2


def test_redis_memory_against_maxmemory(pbl: Pbl, db_url: str, redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.config_set("maxmemory", str(100 * 1024 * 1024))
        result = pbl(
            "health",
            "--database-url",
            db_url,
            "--redis-url",
            redis_url,
            "--json",
            "--check",
            "redis_memory",
            "--warn",
            "redis_memory=0.001%",
        )
        check = checks_by_id(result)["redis_memory"]
        assert check["status"] == "WARN"
        assert check["details"]["maxmemory"] == 100 * 1024 * 1024
    finally:
        client.config_set("maxmemory", "0")
        client.close()


def test_config_file_and_bad_thresholds(pbl: Pbl, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text('[checks.database_size]\ncrit = "1kB"\n')
    result = pbl(
        "health",
        "--database-url",
        db_url,
        "--config",
        str(config),
        "--json",
        "--check",
        "database_size",
    )
    assert checks_by_id(result)["database_size"]["status"] == "CRIT"
    assert checks_by_id(result)["database_size"]["crit"] == 1024

    bad = pbl("health", "--database-url", db_url, "--warn", "connections=lots")
    assert bad.code == 2
    assert "bad threshold 'lots'" in bad.err
    unit = pbl("health", "--database-url", db_url, "--warn", "connections=5min")
    assert unit.code == 2 and "does not fit" in unit.err
    unknown = pbl("health", "--database-url", db_url, "--check", "nonsense")
    assert unknown.code == 2 and "unknown check 'nonsense'" in unknown.err
    config.write_text("[checks.database_size\n")
    broken = pbl("health", "--database-url", db_url, "--config", str(config))
    assert broken.code == 2 and "fix the TOML" in broken.err


def test_version_warns_from_end_of_life_naming_the_next_supported_major(
    pbl: Pbl, db_url: str
) -> None:
    import datetime as dt

    from pbl_db.health.eol import END_OF_LIFE, SOURCE, next_supported

    assert next_supported(13, dt.date(2026, 12, 4)) == 15  # 14 ended on 2026-11-12
    assert next_supported(17, dt.date(2026, 12, 4)) == 18
    assert next_supported(18, dt.date(2031, 1, 1)) is None
    check = checks_by_id(pbl("health", "--database-url", db_url, "--check", "version", "--json"))[
        "version"
    ]
    major = check["details"]["major"]
    assert check["details"]["end_of_life"] == END_OF_LIFE[major].isoformat()
    assert check["details"]["source"] == SOURCE
    if dt.date.today() >= END_OF_LIFE[major]:
        assert check["status"] == "WARN"
        wanted = next_supported(major, dt.date.today())
        assert f"the next supported major is {wanted}" in check["summary"]
    else:
        assert check["status"] == "OK"


def _dead_rows(conn: psycopg.Connection, table: str) -> int:
    if conn.info.server_version >= 150000:  # statistics reach shared memory at most once a second
        conn.execute("SELECT pg_stat_force_next_flush()")
    row = conn.execute(
        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = %s::regclass", (table,)
    ).fetchone()
    return int(row[0]) if row else 0


def test_dead_tuples_follow_autovacuum_thresholds_and_ignore_tiny_hot_tables(
    pbl: Pbl, conn: psycopg.Connection, db_url: str
) -> None:
    """Issue 16: a one-row table updated thousands of times (audit_chain_heads after a batch) is
    100 % dead between autovacuum runs and must not alarm; a table of some size autovacuum has
    left above its own threshold (reloptions included) must, with the reason in the summary."""
    conn.execute(
        "CREATE TABLE hot_small (id int PRIMARY KEY, n int) WITH (autovacuum_enabled = false)"
    )
    conn.execute("INSERT INTO hot_small VALUES (1, 0)")
    conn.execute("DO $$BEGIN FOR i IN 1..5000 LOOP UPDATE hot_small SET n = n + 1; END LOOP; END$$")
    conn.execute("CREATE TABLE big (id int, pad text) WITH (autovacuum_enabled = false)")
    conn.execute("INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 150000) g")
    conn.execute("ANALYZE big, hot_small")
    conn.execute("UPDATE big SET id = id WHERE id <= 60000")
    eventually(lambda: _dead_rows(conn, "big") >= 60000, "big's dead rows in the statistics")
    eventually(lambda: _dead_rows(conn, "hot_small") >= 5000, "hot_small's dead rows")
    threshold = round(50 + 0.2 * reltuples_of(conn, "big"))  # the server's defaults

    def dead_check(*extra: str) -> dict:
        args = ("--check", "dead_tuples", "--warn", "dead_tuples=0s", "--crit", "dead_tuples=none")
        result = pbl("health", "--database-url", db_url, "--json", *args, *extra)
        return checks_by_id(result)["dead_tuples"]

    check = dead_check()
    assert check["status"] == "WARN", check
    assert check["details"]["table"] == "public.big"
    assert check["details"]["threshold"] == threshold
    assert check["details"]["tables"] == 1  # hot_small is under the 10 MB floor
    assert check["unit"] == "s"
    assert check["summary"].startswith("public.big: never vacuumed")
    assert f"autovacuum threshold {threshold:,}" in check["summary"]
    assert "autovacuum is off for it" in check["summary"]
    assert "RESET (autovacuum_enabled)" in check["hint"]

    # the floor is what kept the hot one-row table out
    floorless = dead_check("--set", "dead_tuples.min_table_size=0")
    assert floorless["details"]["tables"] == 2

    # a per-table threshold above its dead rows: autovacuum would not touch it yet either
    conn.execute("ALTER TABLE big SET (autovacuum_vacuum_threshold = 1000000)")
    check = dead_check()
    assert check["status"] == "OK" and check["details"] == {}, check
    conn.execute(
        "ALTER TABLE big SET "
        "(autovacuum_vacuum_threshold = 10, autovacuum_vacuum_scale_factor = 0.1)"
    )
    check = dead_check()
    assert check["details"]["threshold"] == round(10 + 0.1 * reltuples_of(conn, "big"))
    if conn.info.server_version >= 180000:  # 18 caps the threshold, per table too
        conn.execute("ALTER TABLE big SET (autovacuum_vacuum_max_threshold = 500)")
        assert dead_check()["details"]["threshold"] == 500
        conn.execute("ALTER TABLE big RESET (autovacuum_vacuum_max_threshold)")

    conn.execute(
        "ALTER TABLE big RESET (autovacuum_vacuum_threshold, autovacuum_vacuum_scale_factor)"
    )
    conn.execute("VACUUM big")
    eventually(lambda: _dead_rows(conn, "big") == 0, "the vacuum in the statistics")
    assert dead_check()["status"] == "OK"
    conn.execute("UPDATE big SET id = id WHERE id <= 60000")
    eventually(lambda: _dead_rows(conn, "big") >= 60000, "the new dead rows")
    check = dead_check()
    assert check["status"] == "WARN"
    assert check["summary"].startswith("public.big: last vacuumed ")
    assert check["details"]["vacuumed_at"] is not None

    # the default limits: an hour before WARN, so a fresh batch is not an alarm
    default = checks_by_id(
        pbl("health", "--database-url", db_url, "--json", "--check", "dead_tuples")
    )["dead_tuples"]
    assert default["warn"] == 3600 and default["crit"] == 43200
    assert default["status"] == "OK", default


def reltuples_of(conn: psycopg.Connection, table: str) -> float:
    row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,))
    return float(row.fetchone()[0])


def test_checkpoint_and_write_checks_read_the_views_of_the_major(
    pbl: Pbl, conn: psycopg.Connection, db_url: str
) -> None:
    """17 moved the checkpointer's counters to pg_stat_checkpointer (pg_stat_bgwriter lost
    them), 16 added pg_stat_io, where bulk loads' own writes are apart from the rest."""
    major = conn.info.server_version // 10000

    def checks(*extra: str) -> dict[str, dict]:
        args = ("--check", "checkpoints", "--check", "backend_writes", *extra)
        result = pbl("health", "--database-url", db_url, "--json", *args)
        assert result.code == 0, result.err
        return checks_by_id(result)

    before = checks()["checkpoints"]
    wanted = "pg_stat_checkpointer" if major >= 17 else "pg_stat_bgwriter"
    assert before["details"]["checkpoints_view"] == wanted
    assert before["warn"] is None and before["status"] == "OK"  # reported, never an alarm
    conn.execute("CHECKPOINT")
    after = eventually(
        lambda: (
            (c := checks()["checkpoints"])["details"]["requested"] > before["details"]["requested"]
            and c
        ),
        "the requested checkpoint in the statistics",
    )
    assert "checkpoints requested rather than timed" in after["summary"]
    assert wanted in after["summary"]

    judged = checks("--warn", "backend_writes=0%", "--set", "backend_writes.min_buffers=0")
    writes = judged["backend_writes"]
    assert writes["details"]["writes_view"] == ("pg_stat_io" if major >= 16 else "pg_stat_bgwriter")
    if major >= 16:
        assert writes["status"] == "WARN", writes
    else:  # the old counter mixes in COPY's ring buffers: a restore would read as an alarm
        assert writes["status"] == "OK" and "reported, not judged" in writes["summary"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[checks.long_query]\ncrit = -5\n", "negative"),
        ("[checks.long_query]\nwarn = nan\n", "not a finite number"),
        ("[checks.long_query]\nwarn = inf\n", "not a finite number"),
        ("[checks.long_query]\nwarn = 1e400\n", "not a finite number"),
        ('[checks.long_query]\nwarn = "-5s"\n', "bad threshold"),
        ("[checks.long_query]\nwarn = 600\ncrit = 300\n", "warn 600s is above crit 300s"),
        ('[checks.cache_hit]\nwarn = "80%"\ncrit = "90%"\n', "warn 80% is below crit 90%"),
        ("[checks.dead_tuples]\nmin_rows = -1\n", "negative"),
        ("[checks.dead_tuples]\nmin_rows = [1]\n", "bad threshold"),
    ],
)
def test_config_thresholds_pass_the_command_line_checks(
    pbl: Pbl, db_url: str, tmp_path: Path, toml: str, message: str
) -> None:
    config = tmp_path / "health.toml"
    config.write_text(toml)
    result = pbl("health", "--database-url", db_url, "--config", str(config), "--check", "version")
    assert result.code == 2, result.out
    assert message in result.err and "health config" not in result.err  # not a read error
    assert "internal error" not in result.err


def test_big_finite_thresholds_are_allowed(pbl: Pbl, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text("[checks.long_query]\nwarn = 1e300\ncrit = 1e301\n")
    result = pbl("health", "--database-url", db_url, "--config", str(config), "--list", "--json")
    assert result.code == 0, result.err
    row = next(r for r in json.loads(result.out) if r["id"] == "long_query")
    assert (row["warn"], row["crit"]) == (1e300, 1e301)


def test_config_that_is_not_utf8_names_the_file(pbl: Pbl, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "bin.toml"
    config.write_bytes(b"\xff\xfe[checks]\n")
    result = pbl("health", "--database-url", db_url, "--config", str(config))
    assert result.code == 2
    assert "(--config) is not UTF-8 text (byte 1)" in result.err


def test_explicit_sql_dir_that_is_wrong_is_an_error_not_a_skip(
    pbl: Pbl, db_url: str, tmp_path: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    wrong = pbl(
        "health", "--database-url", db_url, "--check", "migrations", "--sql-dir", str(afile)
    )
    assert wrong.code == 2 and "--sql-dir" in wrong.err and "is not a directory" in wrong.err
    fine = pbl("health", "--database-url", db_url, "--check", "migrations", "--json")
    assert checks_by_id(fine)["migrations"]["status"] != "SKIP"


def test_malformed_redis_url_names_its_source(pbl: Pbl, db_url: str) -> None:
    args = ("health", "--database-url", db_url, "--check", "redis_ping", "--json")
    bad = pbl(*args, "--redis-url", "http://:RedisS3cret@x/0")
    summary = checks_by_id(bad)["redis_ping"]["summary"]
    assert bad.code == 1 and "malformed --redis-url" in summary and "S3cret" not in bad.out
    long_host = pbl(*args, "--redis-url", "redis://" + "h" * 100 + ":6379/0")
    assert long_host.code == 1 and "internal error" not in long_host.err
    assert "host name is too long" in checks_by_id(long_host)["redis_ping"]["summary"]
