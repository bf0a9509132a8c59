"""`pbl audit verify --jobs N`: workers in verify's snapshot find what one process finds."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import pbl_db.audit.parallel as parallel
from pbl_db.audit.seal import seal
from pbl_db.audit.verify import verify
from tests.conftest import Result
from tests.test_audit_chain import DAYS_AGO, add, make_tenant, tamper

pytestmark = pytest.mark.matrix

Pbl = Callable[..., Result]


@pytest.fixture
def tenants(conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Four tenants of different chain lengths, partly sealed; parallel from the first row."""
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    out: dict[str, list[Any]] = {}
    for i, slug in enumerate(("alpha", "bravo", "charlie", "delta")):
        tid = make_tenant(conn, slug)
        out[slug] = [add(conn, tid, event_description=f"{slug} {n}") for n in range(3 + 4 * i)]
    seal(conn, "day")
    newer = DAYS_AGO.replace(hour=0) + (DAYS_AGO - DAYS_AGO.replace(hour=0)) / 2
    for slug in out:  # unsealed rows after the sealed ones
        row = conn.execute("SELECT tenant_id FROM audit_logs WHERE id = %s", (out[slug][0],))
        tid = row.fetchone()[0]  # type: ignore[index]
        out[slug].append(add(conn, tid, when=newer, event_description="later"))
    return out


def _plain(report: Any) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in dataclasses.asdict(t).items() if k != "worker"} for t in report.tenants
    ]


def test_workers_report_what_one_process_reports(conn, tenants) -> None:
    alone = verify(conn, jobs=1)
    shared = verify(conn, jobs=3)
    assert alone.ok and shared.ok, shared.problems
    assert (alone.jobs, shared.jobs) == (1, 3)
    assert {t.worker for t in shared.tenants} == {0, 1, 2}
    assert _plain(shared) == _plain(alone)
    assert shared.rows == sum(len(v) for v in tenants.values())
    assert all(t.blocks >= 1 and t.unsealed >= 1 for t in shared.tenants)


def test_a_worker_finds_changed_content(conn, db_url: str, tenants) -> None:
    slug = next(t.slug for t in verify(conn, jobs=3).tenants if t.worker != 0)
    assert slug is not None
    victim = tenants[slug][1]
    tamper(db_url, "UPDATE audit_logs SET event_description = 'x' WHERE id = %s", (victim,))
    report = verify(conn, jobs=3)
    found = next(t for t in report.tenants if t.slug == slug)
    assert found.worker != 0
    assert [(p.reason, p.row_id, p.chain_seq) for p in report.problems] == [
        ("content_changed", str(victim), 2)
    ]
    assert found.problem is not None and found.problem.tenant_id == found.tenant_id


def test_workers_read_verify_s_snapshot(conn, db_url: str, tenants) -> None:
    """Rows committed after verify began (here: at its first progress report, before any worker
    has connected) are seen by no process: each would otherwise be past its chain head."""
    ids = [r[0] for r in conn.execute("SELECT id FROM tenants")]
    before = sum(len(v) for v in tenants.values())
    added: list[uuid.UUID] = []

    def insert_more(_done: int, _total: int) -> None:
        if not added:
            with psycopg.connect(db_url, autocommit=True) as other:
                added.extend(add(other, tid, event_description="meanwhile") for tid in ids)

    report = verify(conn, jobs=4, on_progress=insert_more)
    assert added and report.ok, report.problems
    assert report.jobs == 4 and report.rows == before
    assert verify(conn, jobs=4).rows == before + len(ids)


def test_a_worker_that_cannot_connect_leaves_its_tenants_to_this_process(
    conn, tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        parallel, "_worker_conninfo", lambda _c: "host=127.0.0.1 port=1 connect_timeout=2"
    )
    report = verify(conn, jobs=3)
    assert report.ok and report.jobs == 1
    assert report.rows == sum(len(v) for v in tenants.values())


def test_bins_balance_chain_lengths() -> None:
    from pbl_db.audit.verify import TenantRow

    rows = [TenantRow(str(n), None, 1, size, None, None) for n, size in enumerate((9, 7, 5, 3, 1))]
    parts = parallel.bins(rows, 2)
    assert [sum(r.last_seq or 0 for r in p) for p in parts] == [13, 12]
    assert sorted(r.id for p in parts for r in p) == [str(n) for n in range(5)]


def test_cli_jobs(pbl: Pbl, db_url: str, tenants) -> None:
    import json

    result = pbl("audit", "verify", "--database-url", db_url, "--json", "--jobs", "2")
    assert result.code == 0, result.err
    assert json.loads(result.out)["jobs"] == 2
    refused = pbl("audit", "verify", "--database-url", db_url, "--jobs", "65")
    assert refused.code == 2 and "--jobs" in refused.err
