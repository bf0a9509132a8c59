"""Review of issue 6 (pbl health): PostgreSQL 13 catalogs, a failing snapshot, perfdata syntax,
archiver timestamps in different UTC offsets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql

from pbl_db import queries
from pbl_db.health import Report
from pbl_db.health.config import Settings
from pbl_db.health.formats import nagios
from pbl_db.health.model import Check, Status
from pbl_db.health.postgres import check_archiving
from tests.conftest import Result

pytestmark = pytest.mark.matrix

Pbl = Callable[..., Result]


def test_snapshot_does_not_rely_on_catalog_primary_keys(conn: psycopg.Connection) -> None:
    """pg_class has a primary key from PostgreSQL 14 on only; on 13 `GROUP BY c.oid` does not
    cover c.relpages. A key-less copy of pg_class ahead of pg_catalog on the search_path
    stands in for PostgreSQL 13's catalog."""
    conn.execute("CREATE SCHEMA pg13_catalog")
    conn.execute("CREATE TABLE pg13_catalog.pg_class AS SELECT * FROM pg_catalog.pg_class")
    conn.execute("SET search_path = pg13_catalog, pg_catalog, public")
    shadowed = conn.execute("SELECT 'pg_class'::regclass <> 'pg_catalog.pg_class'::regclass")
    assert shadowed.fetchone() == (True,)
    params = {
        "idle_min_seconds": 0,
        "min_dead_rows": 1000,
        "min_dead_table_bytes": 0,
        "min_bloat_table_bytes": 0,
    }
    row = conn.execute(queries.load("get_health_snapshot"), params).fetchone()
    assert row is not None
    assert row[0]["server_version_num"] >= 130000


def test_a_failing_snapshot_makes_the_checks_unknown_not_a_crash(
    pbl: Pbl, conn: psycopg.Connection, db_url: str
) -> None:
    """Nagios reads exit 1 as WARNING: a check that could not run must say UNKNOWN (3)."""
    conn.execute("CREATE SCHEMA trap")
    conn.execute(
        "CREATE FUNCTION trap.pg_is_in_recovery() RETURNS boolean LANGUAGE plpgsql AS "
        "$$BEGIN RAISE EXCEPTION 'snapshot trap'; END$$"
    )
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET search_path = trap, pg_catalog, public").format(
            sql.Identifier(conn.info.dbname)
        )
    )
    result = pbl("health", "--database-url", db_url, "--json", "--skip", "migrations")
    assert "internal error" not in result.err, result.err
    checks = {c["id"]: c for c in json.loads(result.out)["checks"]}
    assert checks["connection"]["status"] == "OK"
    assert checks["wraparound"]["status"] == "UNKNOWN"
    assert "snapshot trap" in checks["wraparound"]["summary"]
    assert result.code == 0  # table/json: 1 only for CRIT

    plugin = pbl("health", "--database-url", db_url, "--format", "nagios", "--check", "wraparound")
    assert plugin.code == 3, (plugin.out, plugin.err)
    assert plugin.out.startswith("PBL HEALTH UNKNOWN - wraparound UNKNOWN")


def test_perfdata_numbers_are_plain_decimals_and_text_has_no_pipe() -> None:
    report = Report(
        [
            Check("long_query", Status.CRIT, "pid 7 in a|b for 3.4h", 12345.6, "s", 60, 300),
            Check("connection", Status.OK, "fine\nsecond line", 0.5321, "ms", 100, 1000),
        ],
        0.01,
    )
    text, code = nagios(report)
    assert code == 2
    first = text.splitlines()[0]
    head, perf = first.split(" | ")
    assert "a/b" in head
    assert text.count("|") == 1  # only the perfdata separator
    assert perf.split() == ["long_query=12345.6s;60;300;0;", "connection=0.532ms;100;1000;0;"]
    for item in perf.split():
        assert re.fullmatch(r"[a-z_]+=[-0-9.]+[a-zA-Z%]*(;[-0-9.:]*){2,4}", item), item
    assert len(text.splitlines()) == 3  # head and one line per check: no stray newline


def test_archiving_failure_is_judged_by_instant_not_by_text(conn: psycopg.Connection) -> None:
    """The archiver's times come as JSON texts in the session's offset, which moves with DST:
    02:10+01:00 is after 02:30+02:00."""
    archiver = {
        "archive_mode": "on",
        "archived_count": 10,
        "failed_count": 1,
        "last_archived_time": "2024-10-27T02:30:00+02:00",
        "last_failed_time": "2024-10-27T02:10:00+01:00",
        "last_failed_wal": "000000010000000000000042",
    }
    check = check_archiving({"archiver": archiver}, Settings(), conn, None)
    assert check.status is Status.CRIT, check.summary
    assert "failing" in check.summary

    archiver["last_failed_time"] = "2024-10-27T02:40:00+02:00"
    archiver["last_archived_time"] = "2024-10-27T02:10:00+01:00"  # later: 01:10 UTC
    check = check_archiving({"archiver": archiver}, Settings(), conn, None)
    assert check.status is Status.OK, check.summary
