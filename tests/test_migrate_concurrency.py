"""Two pbl migrate processes at once, and a run killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import pbl_command, run_pbl
from tests.support.postgres import PgServer

GATE = 4242  # advisory lock key the test holds to keep a migration in flight


def add_gated_migration(migrations: Path) -> None:
    """0000_gate runs first and waits until the test releases advisory lock GATE."""
    (migrations / "0000_gate.sql").write_text(
        f"CREATE TABLE gate_passed (id int);\nSELECT pg_advisory_xact_lock({GATE});\n"
    )
    (migrations / "0000_gate.rollback.sql").write_text("DROP TABLE gate_passed;\n")


def wait_for(condition, what: str, limit: float = 60.0) -> None:
    """Poll until condition() holds; the limit only guards against a hung test."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def pbl_backends_waiting_on_gate(admin: psycopg.Connection, dbname: str) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = 'pbl' "
        "AND wait_event_type = 'Lock' AND query LIKE %s",
        (dbname, "%pg_advisory_xact_lock%"),
    ).fetchall()
    return [r[0] for r in rows]


def apply_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply' "
            "GROUP BY migration_id"
        ).fetchall()
    return dict(rows)


@pytest.mark.slow
def test_two_runs_serialize(
    pg_server: PgServer, empty_db_url: str, migrations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_gated_migration(migrations)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    dbname = psycopg.conninfo.conninfo_to_dict(empty_db_url)["dbname"]
    args = ("migrate", "--lock-timeout", "0", "--sql-dir", str(migrations))
    with psycopg.connect(empty_db_url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        first = subprocess.Popen(
            pbl_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_for(
            lambda: pbl_backends_waiting_on_gate(admin, dbname), "the first run to hold the gate"
        )
        second = subprocess.Popen(
            pbl_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert second.stderr is not None
        waiting_line = second.stderr.readline()
        while "using" in waiting_line:  # skip the target notice
            waiting_line = second.stderr.readline()
        assert "waiting for another pbl migrate run" in waiting_line
        admin.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
        _out1, err1 = first.communicate(timeout=120)
        out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "up to date" in out2
    assert apply_counts(empty_db_url) == {
        "0000_gate": 1,
        "0001_create_widgets": 1,
        "0002_add_widget_color": 1,
        "0003_index_widget_name": 1,
    }


@pytest.mark.slow
def test_sigkill_mid_migration_leaves_nothing_blocking(
    pg_server: PgServer, empty_db_url: str, migrations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_gated_migration(migrations)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    dbname = psycopg.conninfo.conninfo_to_dict(empty_db_url)["dbname"]
    with psycopg.connect(empty_db_url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        victim = subprocess.Popen(
            pbl_command("migrate", "--lock-timeout", "0", "--sql-dir", str(migrations)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: pbl_backends_waiting_on_gate(admin, dbname), "the run to be mid-migration")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
        if pg_server.version >= 140000:
            # client_connection_check_interval: the server notices the dead client by itself
            wait_for(
                lambda: not pbl_backends_waiting_on_gate(admin, dbname),
                "the killed run's backend to end while the gate is still held",
            )
        admin.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
    rerun = run_pbl("migrate", "--lock-wait", "60", "--sql-dir", str(migrations))
    assert rerun.code == 0, rerun.err
    assert apply_counts(empty_db_url)["0000_gate"] == 1
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('gate_passed') IS NOT NULL").fetchone() == (True,)
