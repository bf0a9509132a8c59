"""A failover on pg_auto_failover in the middle of a workload through the pbl_db pool.

A monitor and two nodes on loopback (tests/support/auto_failover.py); the workload inserts audit
rows for one tenant through `pbl_db.pool.create_pool` on the formation's multi-host URL while
`pg_autoctl perform failover` promotes the secondary. Then every insert the workload saw
committed must be there, the audit chain must verify, and pbl must work on the new primary.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.conftest import ROOT
from tests.support.auto_failover import Formation, NoAutoFailover, formation

pytestmark = pytest.mark.slow

INSERT = """INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name,
    event_description) VALUES (%s, 'workload.insert', 'system', 'pbl-failover-test', %s)
    RETURNING id"""


@pytest.fixture(scope="module")
def pair_of_nodes() -> Iterator[Formation]:
    try:
        with formation() as made:
            yield made
    except NoAutoFailover as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}: .ci/run installs it")
        pytest.skip(str(exc))


class Workload:
    """Inserts audit rows through the pool until stopped; remembers what it saw commit."""

    def __init__(self, url: str, tenant: uuid.UUID) -> None:
        from pbl_db.pool import create_pool

        self.pool = create_pool(url, min_size=1, max_size=2, timeout=30, connect_timeout=3)
        self.tenant = tenant
        self.committed: list[tuple[float, uuid.UUID]] = []
        self.failures: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                with self.pool.connection() as conn:
                    row = conn.execute(INSERT, (self.tenant, f"insert {n}")).fetchone()
                assert row is not None
                self.committed.append((time.monotonic(), row[0]))  # the commit returned
            except Exception as exc:  # a failover breaks connections: count, retry
                self.failures.append((time.monotonic(), type(exc).__name__))
                time.sleep(0.05)

    def wait_commits(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed) < count:
            assert time.monotonic() < deadline, f"only {len(self.committed)} inserts committed"
            time.sleep(0.02)


def test_failover_loses_no_committed_insert_and_pbl_follows(
    pair_of_nodes: Formation, pbl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = pair_of_nodes
    with psycopg.connect(f.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bpl_failover")
    url = f.url("bpl_failover")
    monkeypatch.setenv("DATABASE_URL", url)
    assert pbl("migrate").code == 0
    tenant = uuid.uuid4()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, slug) VALUES (%s, 'Failover Co', 'failover-co')",
            (tenant,),
        )

    work = Workload(url, tenant)
    work.thread.start()
    try:
        work.wait_commits(200)
        started = time.monotonic()
        f.autoctl("perform", "failover", "--pgdata", str(f.root / "monitor"), timeout=180)
        switched = time.monotonic()
        before = sum(1 for t, _ in work.committed if t < started)
        work.wait_commits(len(work.committed) + 200)
    finally:
        work.stop.set()
        work.thread.join(timeout=60)
        work.pool.close()
    f.wait_for({"node_1": "secondary", "node_2": "primary"})

    ids = [i for _, i in work.committed]
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.info.port == f.node_ports[1]  # libpq found the new primary
        present = conn.execute(
            "SELECT count(*) FROM audit_logs WHERE id = ANY(%s)", (ids,)
        ).fetchone()
    lost = len(ids) - present[0]  # type: ignore[index]
    after = sum(1 for t, _ in work.committed if t >= switched)
    stamps = [t for t, _ in work.committed]
    # the longest stretch without a commit: the writes' outage during the failover
    gap = max((b - a for a, b in itertools.pairwise(stamps)), default=0.0)
    figures = {
        "committed_before": before,
        "committed_after": after,
        "lost": lost,
        "failed_attempts": len(work.failures),
        "failover_s": round(switched - started, 2),
        "longest_write_gap_s": round(gap, 2),
    }
    print(f"\nfailover figures: {json.dumps(figures)}")
    (ROOT / ".cache").mkdir(exist_ok=True)
    (ROOT / ".cache" / "failover-figures.json").write_text(json.dumps(figures) + "\n")
    assert lost == 0 and before >= 200 and after > 0, figures

    verified = pbl("audit", "verify", "--json")
    assert verified.code == 0, verified.out
    assert json.loads(verified.out)["rows"] >= len(ids)

    status = pbl("replica", "status", "--json")
    state = json.loads(status.out)
    assert state["role"] == "primary" and state["server"].endswith(f":{f.node_ports[1]}")
    assert [s["state"] for s in state["standbys"]] == ["streaming"]  # the old primary follows
    health = pbl("health", "--format", "json", "--check", "connection", "--check", "standby",
                 "--check", "replication_lag")  # fmt: skip
    checks = {c["id"]: c for c in json.loads(health.out)["checks"]}
    assert checks["connection"]["status"] == "OK" and checks["standby"]["status"] == "SKIP"
    assert checks["connection"]["details"]["server"] == f"127.0.0.1:{f.node_ports[1]}"
    assert checks["connection"]["details"]["role"] == "primary"
    assert "1 standbys" in checks["replication_lag"]["summary"]

    migrations = tmp_path / "sql" / "migrations"
    shutil.copytree(ROOT / "sql" / "migrations", migrations)
    (migrations / "0099_failover_probe.sql").write_text("CREATE TABLE failover_probe (n int);\n")
    (migrations / "0099_failover_probe.rollback.sql").write_text("DROP TABLE failover_probe;\n")
    applied = pbl("migrate", "--sql-dir", str(tmp_path / "sql"))
    assert applied.code == 0, applied.err
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('failover_probe') IS NOT NULL").fetchone() == (
            True,
        )

    made = pbl("backup", "create", "--dest", str(tmp_path / "backups"), "--json")
    assert made.code == 0, made.err
    assert conninfo_to_dict(url)["dbname"] == json.loads(made.out)["database"]
