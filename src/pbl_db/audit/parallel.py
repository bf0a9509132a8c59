"""`pbl audit verify --jobs N`: worker processes checking tenants' chains in verify's snapshot.

Each tenant's chain is checked in order by one process, so the unit of work is a tenant. The
tenants are split into N bins by chain length (largest first into the lightest bin); this process
keeps bin 0 and N - 1 workers take the others. A worker is `python -m pbl_db.audit.parallel`, not
a multiprocessing child (which would re-import the caller's main module): it reads its job as
JSON on stdin (the password too: never on a command line), opens its own connection to the
server verify reached, imports verify's exported snapshot (SET TRANSACTION SNAPSHOT) in a
REPEATABLE READ, read-only transaction, so every process reads exactly the same rows, and writes
its results as JSON on stdout. Hashing is Python-bound, which is why processes and not threads.
A worker that cannot start, connect or import the snapshot (a pooler in the way, a server that
refuses) costs only time: its tenants are checked here afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pbl_db import queries
from pbl_db.audit.verify import Problem, TenantResult, TenantRow, verify_tenant

MIN_ROWS = 50_000  # below this, starting processes costs more than it saves


def bins(tenants: list[TenantRow], n: int) -> list[list[TenantRow]]:
    """Tenants into n bins of about equal chain length, longest chains first."""
    out: list[list[TenantRow]] = [[] for _ in range(n)]
    load = [0] * n
    for row in sorted(tenants, key=lambda r: -(r.last_seq or 0)):
        i = load.index(min(load))
        out[i].append(row)
        load[i] += row.last_seq or 0
    return out


def verify_in_workers(
    conn: psycopg.Connection[Any],
    tenants: list[TenantRow],
    since: dt.datetime | None,
    purged_query: str,
    jobs: int,
    step: Callable[[int], None],
) -> dict[str, TenantResult]:
    """Results by tenant id of the tenants with rows, checked by this process and jobs - 1
    workers; {} when too few rows or tenants make it not worth it (the caller checks them)."""
    busy = [t for t in tenants if t.last_seq]
    if len(busy) < 2 or sum(t.last_seq or 0 for t in busy) < MIN_ROWS:
        return {}
    # in verify's transaction itself: PostgreSQL exports no snapshot from a subtransaction
    row = conn.execute(queries.load("get_exported_snapshot")).fetchone()
    assert row is not None
    parts = bins(busy, min(jobs, len(busy)))
    job: dict[str, Any] = {
        "conninfo": _worker_conninfo(conn),
        "snapshot": row[0],
        "since": since.isoformat() if since else None,
        "purged_query": purged_query,
    }
    workers = [(part, _start(job, part, n)) for n, part in enumerate(parts[1:], 1)]
    results: dict[str, TenantResult] = {}
    try:
        for tenant in parts[0]:
            results[str(tenant.id)] = verify_tenant(conn, tenant, since, step, purged_query)
        for part, proc in workers:
            done = _finish(proc)
            if done is None:  # the worker failed: check its tenants here
                done = [verify_tenant(conn, t, since, step, purged_query) for t in part]
            else:
                step(sum(r.rows for r in done))
            results.update((r.tenant_id, r) for r in done)
    finally:
        for _, proc in workers:
            if proc is not None and proc.returncode is None:  # interrupted: stop it
                proc.kill()
                proc.wait()
                if proc.stdout:
                    proc.stdout.close()
    return results


def _worker_conninfo(conn: psycopg.Connection[Any]) -> str:
    """The server this connection reached (not the list a multi-host URL names), with the
    password it used."""
    info = conn.info
    extra: dict[str, Any] = {"host": info.host, "port": str(info.port)}
    if info.hostaddr:
        extra["hostaddr"] = info.hostaddr
    if info.password:
        extra["password"] = info.password
    return make_conninfo(info.dsn, **extra)


def _start(
    job: dict[str, Any], part: list[TenantRow], worker: int
) -> subprocess.Popen[bytes] | None:
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, *sys.path])}
    payload = {**job, "worker": worker, "tenants": [[str(t.id), *t[1:]] for t in part]}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pbl_db.audit.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(payload).encode())
        proc.stdin.close()
    except OSError:
        return None
    return proc


def _finish(proc: subprocess.Popen[bytes] | None) -> list[TenantResult] | None:
    if proc is None:
        return None
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()
    if proc.wait() != 0:
        return None
    try:
        return [_result(r) for r in json.loads(out)]
    except (ValueError, TypeError, KeyError):
        return None


def _result(data: dict[str, Any]) -> TenantResult:
    problem = data.pop("problem")
    return TenantResult(**data, problem=Problem(**problem) if problem else None)


def _work(job: dict[str, Any]) -> list[dict[str, Any]]:
    since = dt.datetime.fromisoformat(job["since"]) if job["since"] else None
    with psycopg.connect(job["conninfo"]) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        conn.execute(
            sql.SQL(queries.load("set_transaction_snapshot")).format(sql.Literal(job["snapshot"]))
        )
        out = []
        for values in job["tenants"]:
            result = verify_tenant(
                conn, TenantRow(*values), since, lambda _n: None, job["purged_query"]
            )
            result.worker = job["worker"]
            out.append(dataclasses.asdict(result))
        conn.rollback()
    return out


if __name__ == "__main__":
    json.dump(_work(json.load(sys.stdin)), sys.stdout)
