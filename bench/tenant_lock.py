"""What the tenant lock (migration 0024) costs the services' queries.

Usage: python bench/tenant_lock.py [TRANSACTIONS] [ROWS]   (default 3000, 200000)

Three ways to scope a transaction to a tenant, as application_user, interleaved 3 times:
- before: the plain SET with pbl_current_tenant_id() as it was before 0024 (the baseline),
- plain:  the same SET after 0024 (a role not required to lock),
- locked: pbl_lock_tenant().
Workloads: TRANSACTIONS short transactions (set the tenant, read one application by id,
commit), and a count over one tenant's ROWS/2 rows by index and by a forced sequential scan
(where the policy's function runs once per row). Medians printed, with the ratio to before.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

import psycopg

from _support import migrated_database, server, table

TRANSACTIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
BEFORE = (
    "CREATE OR REPLACE FUNCTION pbl_current_tenant_id() RETURNS uuid LANGUAGE sql STABLE "
    "PARALLEL SAFE AS $$ SELECT nullif(pg_catalog.current_setting('app.current_tenant_id', "
    "true), '')::pg_catalog.uuid $$"
)
SET_PLAIN = "SELECT set_config('app.current_tenant_id', %s, true)"
SET_LOCKED = "SELECT pbl_lock_tenant(%s::uuid)"


def prepare(url: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        tenants = [
            conn.execute(
                "INSERT INTO tenants (name, slug) VALUES (%s, %s) RETURNING id", (f"T{i}", f"t-{i}")
            ).fetchone()[0]
            for i in range(2)
        ]
        conn.execute("ALTER TABLE applications DISABLE TRIGGER USER")
        conn.execute(
            "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status) SELECT CASE WHEN g %% 2 = 0 THEN %s ELSE %s END::uuid, 'Bench', "
            "'pbl:v1:k:AAAA', 1, 'employed' FROM generate_series(1, %s) AS g",
            (tenants[0], tenants[1], ROWS),
        )
        conn.execute("ALTER TABLE applications ENABLE TRIGGER USER")
        conn.execute("VACUUM ANALYZE applications")
        one = conn.execute(
            "SELECT id FROM applications WHERE tenant_id = %s LIMIT 1", (tenants[0],)
        ).fetchone()[0]
        current = conn.execute(
            "SELECT pg_get_functiondef('pbl_current_tenant_id'::regproc)"
        ).fetchone()[0]
    return tenants[0], one, current


def short(url: str, setter: str, tenant: uuid.UUID, app: uuid.UUID) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("SET ROLE application_user")
        conn.commit()
        start = time.perf_counter()
        for _ in range(TRANSACTIONS):
            conn.execute(setter, (str(tenant),))
            conn.execute("SELECT full_legal_name FROM applications WHERE id = %s", (app,))
            conn.commit()
        return time.perf_counter() - start


def count(url: str, setter: str, tenant: uuid.UUID, seq: bool) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("SET ROLE application_user")
        if seq:
            conn.execute("SET enable_indexscan = off")
            conn.execute("SET enable_bitmapscan = off")
            conn.execute("SET enable_indexonlyscan = off")
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute(setter, (str(tenant),))
        start = time.perf_counter()
        counted = conn.execute("SELECT count(*) FROM applications").fetchone()[0]
        seconds = time.perf_counter() - start
        assert counted == ROWS // 2, counted
        return seconds


def main() -> None:
    with server() as pg:
        url = migrated_database(pg, "tenantlock")
        tenant, app, after = prepare(url)
        cases = {"before": SET_PLAIN, "plain": SET_PLAIN, "locked": SET_LOCKED}
        results: dict[str, dict[str, list[float]]] = {c: {} for c in cases}
        for _ in range(3):
            for case, setter in cases.items():
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute(BEFORE if case == "before" else after)
                for load, run in (
                    ("short", lambda s=setter: short(url, s, tenant, app)),
                    ("index count", lambda s=setter: count(url, s, tenant, False)),
                    ("seq count", lambda s=setter: count(url, s, tenant, True)),
                ):
                    results[case].setdefault(load, []).append(run())
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(after)
        rows = [("workload", "case", "median, ratio to before")]
        for load in results["before"]:
            base = statistics.median(results["before"][load])
            for case in cases:
                value = statistics.median(results[case][load])
                shown = (
                    f"{TRANSACTIONS / value:,.0f} tx/s"
                    if load == "short"
                    else f"{value * 1000:.1f} ms"
                )
                ratio = base / value if load == "short" else value / base
                rows.append((load, case, f"{shown}, {ratio:.2f}x"))
        print(f"{TRANSACTIONS} short transactions; counts over {ROWS // 2:,} rows of one tenant")
        print(table(rows))


if __name__ == "__main__":
    main()
