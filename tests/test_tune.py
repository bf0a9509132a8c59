"""pbl tune: pgtune's recommendations, ALTER SYSTEM apply with a history, revert.

`show` runs against the shared session server (it only reads). Everything that runs ALTER SYSTEM
uses a throwaway cluster of this module's own, reset after each test.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pbl_db.errors import ConfigError
from pbl_db.tune import recommend
from tests.conftest import ROOT, Result, unavailable
from tests.support.postgres import NoServer, PgServer, candidate_bindirs, local_cluster

pytestmark = pytest.mark.matrix

GB_KB = 1024 * 1024
SPEC_VALUES = {  # spec: Performance Tuning / Configuration Optimization
    "shared_buffers": "256MB",
    "effective_cache_size": "1GB",
    "work_mem": "4MB",
    "max_connections": "200",
    "superuser_reserved_connections": "3",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
}


def to_kb(value: str) -> int:
    """'1GB' / '16MB' / '9709kB' -> kB (how pgtune writes sizes)."""
    match = re.fullmatch(r"(\d+)(kB|MB|GB)", value)
    assert match, value
    return int(match.group(1)) * {"kB": 1, "MB": 1024, "GB": GB_KB}[match.group(2)]


def recommended(result: Result) -> dict[str, str | None]:
    assert result.code == 0, result.err
    return {s["name"]: s["recommended"] for s in json.loads(result.out)["settings"]}


def pgtune_work_mem(ram_kb: int, shared_kb: int, connections: int, workers: int, div: int) -> int:
    return max(math.floor((ram_kb - shared_kb) / ((connections + workers) * 3) / div), 4096)


# --- show, on the shared server (read only) ----------------------------------------------


def test_show_gives_pgtune_formulas_for_4gb_2_cpus_ssd(
    pbl: Callable[..., Result], db_url: str, conn: psycopg.Connection
) -> None:
    result = pbl(
        "tune", "show", "--memory", "4GB", "--cpus", "2", "--storage", "ssd",
        "--connections", "100", "--database-url", db_url, "--json",
    )  # fmt: skip
    rec = recommended(result)
    ram = 4 * GB_KB
    shared = ram // 4
    assert to_kb(rec["shared_buffers"] or "") == shared
    assert to_kb(rec["effective_cache_size"] or "") == ram * 3 // 4
    assert to_kb(rec["maintenance_work_mem"] or "") == ram // 16
    # 3% of shared_buffers is above 14MB: pgtune rounds it up to the 16MB cap
    assert 3 * shared // 100 > 14 * 1024
    assert to_kb(rec["wal_buffers"] or "") == 16 * 1024
    # fewer than 4 CPUs: no parallel settings, work_mem counts PostgreSQL's 8 worker processes
    assert to_kb(rec["work_mem"] or "") == pgtune_work_mem(ram, shared, 100, 8, 1)
    assert (to_kb(rec["min_wal_size"] or ""), to_kb(rec["max_wal_size"] or "")) == (
        GB_KB,
        4 * GB_KB,
    )
    assert rec["checkpoint_completion_target"] == "0.9"
    assert rec["default_statistics_target"] == "100"
    assert rec["random_page_cost"] == "1.1"
    assert rec["max_connections"] == "100"
    boot = conn.execute(
        "SELECT boot_val FROM pg_settings WHERE name = 'effective_io_concurrency'"
    ).fetchone()
    assert rec["effective_io_concurrency"] == (None if boot == ("0",) else "200")
    for absent in ("max_worker_processes", "max_parallel_workers_per_gather", "huge_pages"):
        assert absent not in rec


def test_show_scales_with_cpus_and_workload(pbl: Callable[..., Result], db_url: str) -> None:
    result = pbl(
        "tune", "show", "--memory", "16GB", "--cpus", "12", "--storage", "hdd",
        "--workload", "olap", "--connections", "40", "--database-url", db_url, "--json",
    )  # fmt: skip
    rec = recommended(result)
    ram = 16 * GB_KB
    shared = ram // 4
    assert to_kb(rec["shared_buffers"] or "") == shared
    assert to_kb(rec["maintenance_work_mem"] or "") == ram // 8  # olap: 1/8 of RAM
    assert rec["huge_pages"] == "try"  # shared_buffers of 2GB or more
    assert rec["max_worker_processes"] == "12"
    assert rec["max_parallel_workers"] == "12"
    assert rec["max_parallel_workers_per_gather"] == str(math.ceil(12 / 2))  # olap: not capped
    assert rec["max_parallel_maintenance_workers"] == "4"  # capped at 4
    assert to_kb(rec["work_mem"] or "") == pgtune_work_mem(ram, shared, 40, 12, 2)
    assert rec["default_statistics_target"] == "500"
    assert rec["random_page_cost"] == "4"
    assert (to_kb(rec["min_wal_size"] or ""), to_kb(rec["max_wal_size"] or "")) == (
        4 * GB_KB,
        16 * GB_KB,
    )


def test_show_reports_current_value_source_context_and_restart(
    pbl: Callable[..., Result], db_url: str, conn: psycopg.Connection
) -> None:
    result = pbl(
        "tune", "show", "--memory", "4GB", "--cpus", "2", "--database-url", db_url, "--json"
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["profile"] == "computed"
    assert report["server_version"] == conn.info.server_version
    assert report["inputs"]["memory_kb"] == 4 * GB_KB and report["inputs"]["detected"] is False
    rows = {s["name"]: s for s in report["settings"]}
    expected_keys = {
        "name", "current", "recommended", "source", "context", "restart_required",
        "pending_restart", "differs", "why", "note",
    }  # fmt: skip
    assert all(set(r) == expected_keys for r in rows.values())
    show_work_mem = conn.execute("SHOW work_mem").fetchone()
    assert show_work_mem is not None
    assert rows["work_mem"]["current"] == show_work_mem[0]
    source, context = conn.execute(
        "SELECT source, context FROM pg_settings WHERE name = 'random_page_cost'"
    ).fetchone() or ("", "")
    assert (rows["random_page_cost"]["source"], rows["random_page_cost"]["context"]) == (
        source,
        context,
    )
    assert rows["shared_buffers"]["restart_required"] is True
    assert rows["shared_buffers"]["context"] == "postmaster"
    assert rows["work_mem"]["restart_required"] is False
    cct = conn.execute(
        "SELECT setting::float FROM pg_settings WHERE name = %s", ("checkpoint_completion_target",)
    ).fetchone()
    assert cct is not None
    assert rows["checkpoint_completion_target"]["differs"] is (cct[0] != 0.9)
    # the connection count work_mem is planned for: the server's own max_connections
    max_conn = conn.execute(
        "SELECT setting::int FROM pg_settings WHERE name = 'max_connections'"
    ).fetchone()
    assert max_conn is not None and report["inputs"]["connections"] == max_conn[0]
    assert "max_connections" not in rows


def test_show_spec_profile_lists_the_spec_values(pbl: Callable[..., Result], db_url: str) -> None:
    result = pbl("tune", "show", "--profile", "spec", "--database-url", db_url, "--json")
    report = json.loads(result.out)
    assert report["profile"] == "spec"
    rows = {s["name"]: s for s in report["settings"]}
    assert set(rows) == set(SPEC_VALUES)
    for name, value in SPEC_VALUES.items():
        if name == "effective_io_concurrency" and rows[name]["recommended"] is None:
            assert "posix_fadvise" in rows[name]["note"]
            continue
        assert rows[name]["recommended"] == value, name


def test_show_table_and_overrides(pbl: Callable[..., Result], db_url: str) -> None:
    result = pbl(
        "tune", "show", "--memory", "4GB", "--cpus", "2", "--set", "work_mem=64MB",
        "--set", "jit=off", "--database-url", db_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "recommended" in result.out and "shared_buffers" in result.out
    as_json = pbl(
        "tune", "show", "--memory", "4GB", "--cpus", "2", "--set", "work_mem=64MB",
        "--set", "jit=off", "--database-url", db_url, "--json",
    )  # fmt: skip
    rows = {s["name"]: s for s in json.loads(as_json.out)["settings"]}
    assert rows["work_mem"]["recommended"] == "64MB" and rows["work_mem"]["why"] == "--set"
    assert rows["jit"]["recommended"] == "off"
    unknown = pbl(
        "tune", "show", "--memory", "4GB", "--set", "no_such_setting=1", "--database-url", db_url
    )  # fmt: skip
    assert unknown.code == 2
    assert "--set no_such_setting: not a setting of PostgreSQL" in unknown.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--memory", "8"), "is not a size"),
        (("--memory", "100MB"), "below 256MB"),
        (("--memory", "4GB", "--set", "work_mem"), "is not NAME=VALUE"),
        (("--memory", "4GB", "--storage", "tape"), "tape"),
    ],
)
def test_show_rejects_bad_options(
    pbl: Callable[..., Result], db_url: str, args: tuple[str, ...], message: str
) -> None:
    result = pbl("tune", "show", *args, "--database-url", db_url)
    assert result.code == 2
    assert message in result.err


def test_local_server_memory_is_detected_and_said(pbl: Callable[..., Result], db_url: str) -> None:
    result = pbl("tune", "show", "--database-url", db_url, "--json")
    assert result.code == 0, result.err
    inputs = json.loads(result.out)["inputs"]
    memory_kb, cpus = recommend.machine_resources()
    assert inputs["detected"] is True and inputs["cpus"] == cpus
    assert inputs["memory_kb"] <= memory_kb and inputs["memory_kb"] % (256 * 1024) == 0
    assert "detected on this machine" in result.err


# --- the pure parts ----------------------------------------------------------------------


def test_units_and_formatting() -> None:
    assert recommend.format_kb(GB_KB) == "1GB"
    assert recommend.format_kb(1536 * 1024) == "1536MB"
    assert recommend.format_kb(9709) == "9709kB"
    assert recommend.parse_memory("16GB") == 16 * GB_KB
    assert recommend.parse_memory("1.5g") == 1536 * 1024
    assert recommend.parse_memory("512MiB") == 512 * 1024
    with pytest.raises(ConfigError):
        recommend.parse_memory("lots")
    assert recommend.to_setting_units("1GB", "8kB") == GB_KB / 8
    assert recommend.to_setting_units("2min", "ms") == 120_000
    assert recommend.same_value("131072", "1GB", "integer", "8kB") is True
    assert recommend.same_value("4", "4.0", "real", None) is True
    assert recommend.same_value("on", "true", "bool", None) is True
    assert recommend.same_value("try", "on", "enum", None) is False


def test_spec_profile_file_is_parsed_strictly(tmp_path: Path) -> None:
    parsed = recommend.spec_profile(recommend.spec_profile_path())
    assert {r.name: r.value for r in parsed} == SPEC_VALUES
    bad = tmp_path / "profile.sql"
    bad.write_text("ALTER SYSTEM SET work_mem = '4MB';\nDROP TABLE tenants;\n")
    with pytest.raises(ConfigError, match="line 2"):
        recommend.spec_profile(bad)


# --- apply and revert, on a throwaway cluster ---------------------------------------------


@dataclass
class Cluster:
    server: PgServer
    url: str  # a migrated database on it (holds pbl_tune_history)


@pytest.fixture(scope="module")
def cluster(pg_server: PgServer) -> Iterator[Cluster]:
    from pbl_db.migrate.engine import Migrator

    bindirs = [pg_server.bindir] if pg_server.bindir else candidate_bindirs()
    if not bindirs:
        unavailable("no local PostgreSQL binaries for a throwaway cluster (ALTER SYSTEM tests)")
    try:
        with local_cluster(bindirs[0]) as server:
            url = server.create_database("tune")
            Migrator(url, ROOT / "sql" / "migrations").apply()
            yield Cluster(server, url)
    except NoServer as exc:
        unavailable(str(exc))


def reload_and_wait(conn: psycopg.Connection) -> None:
    before = conn.execute("SELECT pg_conf_load_time()").fetchone()
    conn.execute("SELECT pg_reload_conf()")
    for _ in range(200):
        now = conn.execute("SELECT pg_conf_load_time()").fetchone()
        if before and now and now[0] > before[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the reload was not seen")


@pytest.fixture
def tune_url(cluster: Cluster) -> Iterator[str]:
    """The cluster's migrated database; postgresql.auto.conf and the history emptied afterwards."""
    yield cluster.url
    with psycopg.connect(cluster.server.admin_url, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM RESET ALL")
        reload_and_wait(admin)
        restart = admin.execute("SELECT count(*) FROM pg_settings WHERE pending_restart").fetchone()
    if restart and restart[0]:
        cluster.server.pg_ctl("restart")
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("TRUNCATE pbl_tune_history, pbl_tune_history_settings")


def setting(url: str, name: str) -> tuple[str, bool]:
    """(value as SHOW prints it, pending_restart), read in a new session."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting(name), pending_restart FROM pg_settings WHERE name = %s",
            (name,),
        ).fetchone()
    assert row is not None
    return str(row[0]), bool(row[1])


def auto_conf(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE %s ORDER BY seqno",
            ("%/postgresql.auto.conf",),
        ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def history_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pbl_tune_history").fetchone()
    assert row is not None
    return int(row[0])


COMPUTED = ("--memory", "4GB", "--cpus", "2", "--connections", "100")
EXPECTED_WORK_MEM_KB = pgtune_work_mem(4 * GB_KB, GB_KB, 100, 8, 1)


def test_apply_dry_run_changes_nothing(pbl: Callable[..., Result], tune_url: str) -> None:
    def snapshot() -> list[tuple[str, str]]:
        with psycopg.connect(tune_url) as conn:
            return [
                (str(r[0]), str(r[1]))
                for r in conn.execute("SELECT name, setting FROM pg_settings ORDER BY name")
            ]

    before = snapshot()
    result = pbl("tune", "apply", *COMPUTED, "--dry-run", "--database-url", tune_url)
    assert result.code == 0, result.err
    assert "-- dry run: nothing changed" in result.out
    assert f"ALTER SYSTEM SET \"work_mem\" = '{EXPECTED_WORK_MEM_KB}kB';" in result.out
    assert "ALTER SYSTEM SET \"shared_buffers\" = '1GB';" in result.out
    assert snapshot() == before
    assert auto_conf(tune_url) == {}
    assert history_count(tune_url) == 0


def test_apply_work_mem_is_in_effect_and_revert_resets_it(
    pbl: Callable[..., Result], tune_url: str
) -> None:
    default = setting(tune_url, "work_mem")[0]
    result = pbl(
        "tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", tune_url, "--json"
    )
    assert result.code == 0, result.err
    outcome = json.loads(result.out)
    assert [s["name"] for s in outcome["steps"]] == ["work_mem"]
    assert outcome["reloaded"] is True and outcome["pending_restart"] == []
    # in effect after the reload, for a new session
    assert setting(tune_url, "work_mem") == (f"{EXPECTED_WORK_MEM_KB}kB", False)

    history = json.loads(pbl("tune", "history", "--database-url", tune_url, "--json").out)
    assert len(history) == 1
    change = history[0]
    assert change["id"] == outcome["change_id"] and change["reverted_at"] is None
    assert change["applied_by"] == "postgres" and "@" in change["client"]
    assert change["settings"] == [
        {
            "name": "work_mem",
            "was_set": False,
            "previous_value": None,
            "previous_effective": default,
            "new_value": f"{EXPECTED_WORK_MEM_KB}kB",
        }
    ]

    preview = pbl("tune", "revert", "--last", "--dry-run", "--database-url", tune_url)
    assert preview.code == 0, preview.err
    assert 'ALTER SYSTEM RESET "work_mem";' in preview.out
    assert setting(tune_url, "work_mem")[0] == f"{EXPECTED_WORK_MEM_KB}kB"

    reverted = pbl("tune", "revert", "--last", "--database-url", tune_url)
    assert reverted.code == 0, reverted.err
    assert setting(tune_url, "work_mem") == (default, False)
    assert "work_mem" not in auto_conf(tune_url)  # not set before: RESET, not SET to the default
    again = json.loads(pbl("tune", "history", "--database-url", tune_url, "--json").out)
    assert again[0]["reverted_at"] is not None and again[0]["reverted_by"] == "postgres"
    nothing_left = pbl("tune", "revert", "--last", "--database-url", tune_url)
    assert nothing_left.code == 2 and "no tune change to revert" in nothing_left.err


def test_revert_restores_a_value_set_by_alter_system_before(
    pbl: Callable[..., Result], cluster: Cluster, tune_url: str
) -> None:
    with psycopg.connect(cluster.server.admin_url, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET work_mem = '6MB'")
        reload_and_wait(admin)
    result = pbl(
        "tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", tune_url, "--json"
    )
    assert result.code == 0, result.err
    assert auto_conf(tune_url)["work_mem"] == f"{EXPECTED_WORK_MEM_KB}kB"
    change = json.loads(pbl("tune", "history", "--database-url", tune_url, "--json").out)[0]
    assert change["settings"][0]["was_set"] is True
    assert change["settings"][0]["previous_value"] == "6MB"

    reverted = pbl("tune", "revert", "--change", str(change["id"]), "--database-url", tune_url)
    assert reverted.code == 0, reverted.err
    assert auto_conf(tune_url)["work_mem"] == "6MB"
    assert setting(tune_url, "work_mem")[0] == "6MB"


def test_shared_buffers_waits_for_a_restart(
    pbl: Callable[..., Result], cluster: Cluster, tune_url: str
) -> None:
    before = setting(tune_url, "shared_buffers")[0]
    result = pbl(
        "tune", "apply", *COMPUTED, "--only", "shared_buffers", "--only", "work_mem",
        "--database-url", tune_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "restart PostgreSQL for shared_buffers to take effect" in result.err
    assert "shared_buffers: " + before + " -> 1GB, in effect after a restart" in result.out
    assert setting(tune_url, "shared_buffers") == (before, True)
    as_json = json.loads(
        pbl("tune", "revert", "--last", "--dry-run", "--json", "--database-url", tune_url).out
    )
    assert {s["name"]: s["restart_required"] for s in as_json["steps"]} == {
        "shared_buffers": True,
        "work_mem": False,
    }

    cluster.server.pg_ctl("restart")
    assert setting(tune_url, "shared_buffers") == ("1GB", False)

    reverted = pbl("tune", "revert", "--last", "--json", "--database-url", tune_url)
    assert reverted.code == 0, reverted.err
    assert json.loads(reverted.out)["pending_restart"] == ["shared_buffers"]
    assert setting(tune_url, "shared_buffers") == ("1GB", True)


def test_rejected_value_reports_the_server_and_applies_nothing(
    pbl: Callable[..., Result], tune_url: str
) -> None:
    # a text setting is judged by the server when it is written (pbl cannot parse time zones)
    before = setting(tune_url, "random_page_cost")
    result = pbl(
        "tune", "apply", *COMPUTED, "--set", "random_page_cost=1.5",
        "--set", "log_timezone=No/Such_Zone", "--only", "random_page_cost",
        "--only", "log_timezone", "--database-url", tune_url,
    )  # fmt: skip
    assert result.code == 2, result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("pbl: the server rejected log_timezone = 'No/Such_Zone': ")
    assert "nothing was changed (random_page_cost put back before any reload)" in last
    assert auto_conf(tune_url) == {}
    assert setting(tune_url, "random_page_cost") == before
    assert history_count(tune_url) == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("work_mem=3TB", "--set work_mem=3TB: outside the allowed range; work_mem takes an "
         "integer from 64 to 2147483647 (in units of kB)"),
        ("work_mem=banana", "--set work_mem=banana: not an integer with a valid unit"),
        ("work_mem=-5MB", "--set work_mem=-5MB: outside the allowed range"),
        ("shared_buffers=9TB", "--set shared_buffers=9TB: outside the allowed range"),
        ("wal_level=bogus", "use one of minimal, replica, logical"),
        ("jit=maybe", "--set jit=maybe: not a boolean"),
    ],
)  # fmt: skip
def test_bad_set_value_is_refused_by_the_dry_run_and_the_real_run_alike(
    pbl: Callable[..., Result], tune_url: str, value: str, message: str
) -> None:
    name = value.partition("=")[0]
    args = ("tune", "apply", *COMPUTED, "--set", "random_page_cost=1.5", "--set", value,
            "--only", "random_page_cost", "--only", name, "--database-url", tune_url)  # fmt: skip
    dry = pbl(*args, "--dry-run")
    assert dry.code == 2, dry.err
    assert message in dry.err and "ALTER SYSTEM" not in dry.out
    real = pbl(*args, "--yes")
    assert real.code == 2, real.err
    assert real.err.strip().splitlines()[-1] == dry.err.strip().splitlines()[-1]
    assert auto_conf(tune_url) == {}  # random_page_cost, which was fine, was not written either
    assert history_count(tune_url) == 0


def test_set_values_are_read_as_the_server_reads_them() -> None:
    info = {"vartype": "integer", "unit": "kB", "min_val": "64", "max_val": "2147483647"}
    for good in ("64MB", "64 MB", "0x100", "1.5GB", "1e3", "2147483647", "  100kB"):
        recommend.check_value("work_mem", good, info)
    for bad in ("banana", "64mb", "1e400", "nan", "2147483648", "3TB", "63", "64 XB", "1 min"):
        with pytest.raises(ConfigError):
            recommend.check_value("work_mem", bad, info)
    assert recommend.pg_bool("tr") is True and recommend.pg_bool("of") is False
    assert recommend.pg_bool("o") is None and recommend.pg_bool("truex") is None


def test_revert_refuses_while_a_later_change_holds_the_setting(
    pbl: Callable[..., Result], tune_url: str
) -> None:
    first = pbl(
        "tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", tune_url, "--json"
    )
    second = pbl(
        "tune", "apply", *COMPUTED, "--set", "work_mem=32MB", "--only", "work_mem",
        "--database-url", tune_url, "--json",
    )  # fmt: skip
    assert first.code == 0 and second.code == 0, first.err + second.err
    first_id = json.loads(first.out)["change_id"]
    second_id = json.loads(second.out)["change_id"]

    refused = pbl("tune", "revert", "--change", str(first_id), "--database-url", tune_url)
    assert refused.code == 4
    assert f"change {second_id} (later, still in place) also set work_mem" in refused.err
    assert auto_conf(tune_url)["work_mem"] == "32MB"

    assert pbl("tune", "revert", "--last", "--database-url", tune_url).code == 0
    assert auto_conf(tune_url)["work_mem"] == f"{EXPECTED_WORK_MEM_KB}kB"
    assert pbl("tune", "revert", "--change", str(first_id), "--database-url", tune_url).code == 0
    assert "work_mem" not in auto_conf(tune_url)
    twice = pbl("tune", "revert", "--change", str(first_id), "--database-url", tune_url)
    assert twice.code == 4 and "was reverted at" in twice.err


def test_revert_refuses_a_setting_changed_by_hand_since(
    pbl: Callable[..., Result], cluster: Cluster, tune_url: str
) -> None:
    applied = pbl("tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", tune_url)
    assert applied.code == 0, applied.err
    with psycopg.connect(cluster.server.admin_url, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET work_mem = '12MB'")
    refused = pbl("tune", "revert", "--last", "--database-url", tune_url)
    assert refused.code == 4 and "work_mem changed in postgresql.auto.conf" in refused.err
    forced = pbl("tune", "revert", "--last", "--force", "--database-url", tune_url)
    assert forced.code == 0, forced.err
    assert "work_mem" not in auto_conf(tune_url)


def test_apply_needs_the_history_table(
    pbl: Callable[..., Result], cluster: Cluster, tune_url: str
) -> None:
    bare = cluster.server.url_for("postgres")
    preview = pbl(
        "tune", "apply", *COMPUTED, "--only", "work_mem", "--dry-run", "--database-url", bare
    )
    assert preview.code == 0, preview.err
    result = pbl("tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", bare)
    assert result.code == 2
    assert "no tune history table (pbl_tune_history)" in result.err and "pbl migrate" in result.err
    assert auto_conf(tune_url) == {}


@pytest.fixture
def tuner(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """A plain LOGIN role on the cluster: (its URL to the tune database, its name)."""
    role = f"tuner_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    with psycopg.connect(cluster.server.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    yield make_conninfo(cluster.url, user=role, password=password), role
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_non_superuser_gets_a_clear_privilege_error(
    pbl: Callable[..., Result], tune_url: str, tuner: tuple[str, str]
) -> None:
    url, role = tuner
    shown = pbl("tune", "show", *COMPUTED, "--database-url", url, "--json")
    assert shown.code == 0, shown.err  # reading needs no privilege
    result = pbl("tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", url)
    assert result.code == 4
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("pbl: ALTER SYSTEM SET work_mem needs a superuser")
    with psycopg.connect(url) as conn:
        if conn.info.server_version >= 150000:
            assert f"GRANT ALTER SYSTEM ON PARAMETER work_mem TO {role}" in last
        else:  # GRANT ... ON PARAMETER is new in 15
            assert "PostgreSQL 13 and 14 allow ALTER SYSTEM to no one else" in last
    assert auto_conf(tune_url) == {}


@pytest.mark.pg(">= 15")
def test_role_granted_alter_system_on_parameter_may_apply(
    pbl: Callable[..., Result], cluster: Cluster, tune_url: str, tuner: tuple[str, str]
) -> None:
    url, role = tuner
    who = sql.Identifier(role)
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute(sql.SQL("GRANT ALTER SYSTEM ON PARAMETER work_mem TO {}").format(who))
        admin.execute(sql.SQL("GRANT EXECUTE ON FUNCTION pg_reload_conf() TO {}").format(who))
        admin.execute(sql.SQL("GRANT SELECT ON pg_file_settings TO {}").format(who))
        admin.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO {}").format(who)
        )
        admin.execute(sql.SQL("GRANT pbl_owner TO {}").format(who))
    result = pbl("tune", "apply", *COMPUTED, "--only", "work_mem", "--database-url", url)
    assert result.code == 0, result.err
    assert setting(tune_url, "work_mem")[0] == f"{EXPECTED_WORK_MEM_KB}kB"
    assert pbl("tune", "revert", "--last", "--database-url", url).code == 0
    assert "work_mem" not in auto_conf(tune_url)


def test_only_names_a_recommended_setting(pbl: Callable[..., Result], tune_url: str) -> None:
    result = pbl(
        "tune", "apply", *COMPUTED, "--only", "max_wal_senders", "--dry-run",
        "--database-url", tune_url,
    )  # fmt: skip
    assert result.code == 2
    assert "--only max_wal_senders: not among the computed recommendations" in result.err
    assert "--set NAME=VALUE" in result.err


def test_show_recommends_the_settings_of_the_servers_major_only(
    pbl: Callable[..., Result], db_url: str, conn: psycopg.Connection
) -> None:
    """17 added io_combine_limit and summarize_wal, 18 asynchronous I/O and a new default of
    effective_io_concurrency: each recommended on that major (and later ones) only."""
    major = conn.info.server_version // 10000
    result = pbl(
        "tune", "show", "--memory", "8GB", "--cpus", "16", "--storage", "hdd",
        "--workload", "olap", "--database-url", db_url, "--json",
    )  # fmt: skip
    rows = {s["name"]: s for s in json.loads(result.out)["settings"]}
    rec = recommended(result)
    for name in ("io_combine_limit", "summarize_wal"):
        assert (name in rec) == (major >= 17), name
    for name in ("io_method", "io_workers", "io_max_combine_limit"):
        assert (name in rec) == (major >= 18), name
    # nothing recommended that the server does not know
    assert not [n for n, r in rows.items() if r["note"] and "not a setting" in r["note"]]
    if major >= 17:
        assert rec["io_combine_limit"] == "256kB" and rec["summarize_wal"] == "off"
    if major >= 18:
        assert rec["io_method"] == "worker"
        assert rec["io_workers"] == "4"  # a quarter of 16 CPUs
        assert rows["io_max_combine_limit"]["restart_required"] is True
    boot = conn.execute(
        "SELECT boot_val FROM pg_settings WHERE name = 'effective_io_concurrency'"
    ).fetchone()
    if boot != ("0",):
        assert rec["effective_io_concurrency"] == ("16" if major >= 18 else "2")


def test_major_settings_follow_the_major_and_workload() -> None:
    from pbl_db.tune.recommend import Inputs, compute

    def names(major: int, workload: str = "web", cpus: int | None = 2) -> dict[str, str]:
        inputs = Inputs(GB_KB * 4, cpus, "ssd", workload, major=major)
        return {r.name: r.value for r in compute(inputs)}

    assert not {"io_combine_limit", "summarize_wal", "io_method"} & set(names(16))
    assert names(17)["io_combine_limit"] == "128kB" and "io_max_combine_limit" not in names(18)
    assert names(18, "olap")["io_max_combine_limit"] == "256kB"
    assert names(18)["io_workers"] == "3"  # at least 18's default
    assert "io_workers" not in names(18, cpus=None)  # no CPU count, no guess
    assert names(18)["effective_io_concurrency"] == "200"  # ssd: pgtune's, above 16
