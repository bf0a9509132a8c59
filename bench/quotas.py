"""What the quota and suspension triggers (migration 0022) cost a tenant's application inserts.

Usage: python bench/quotas.py [TRANSACTIONS_PER_WRITER] [REPEATS]   (default 300, 3)

Services' sessions (application_user, the tenant set) insert one application per transaction,
with 1, 4 and 16 concurrent writers of the same tenant, and one COPY of 50,000 rows (as
an administrator: COPY FROM is refused under row-level security). Each case
runs with the triggers on and with them disabled (the baseline: no quota at all), interleaved,
REPEATS times; medians printed, and the ratio on / off. The escrow slots are what keep 16
writers of one tenant from queueing behind one counter row.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid

import psycopg

from _support import migrated_database, rate, server, table

PER_WRITER = int(sys.argv[1]) if len(sys.argv) > 1 else 300
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
COPY_ROWS = 50_000
TRIGGERS = ("applications_quota_insert", "applications_refuse_suspended")
INSERT = (
    "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
    "employment_status) VALUES (%s, 'Bench', 'pbl:v1:k:AAAA', 1, 'employed')"
)


def service(url: str, tenant: uuid.UUID) -> psycopg.Connection:
    conn = psycopg.connect(url)
    conn.execute("SET ROLE application_user")
    conn.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(tenant),))
    conn.commit()
    return conn


def switch(url: str, on: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in TRIGGERS:
            verb = "ENABLE" if on else "DISABLE"
            conn.execute(
                psycopg.sql.SQL("ALTER TABLE applications {} TRIGGER {}").format(
                    psycopg.sql.SQL(verb), psycopg.sql.Identifier(name)
                )
            )


def writers(url: str, tenant: uuid.UUID, count: int) -> float:
    """Seconds for `count` writers to commit PER_WRITER one-row transactions each."""
    conns = [service(url, tenant) for _ in range(count)]
    start = threading.Barrier(count + 1)

    def work(conn: psycopg.Connection) -> None:
        start.wait()
        for _ in range(PER_WRITER):
            conn.execute(INSERT, (tenant,))
            conn.commit()

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    for c in conns:
        c.close()
    return seconds


def copy(url: str, tenant: uuid.UUID) -> float:
    """COPY is refused under row-level security: bulk loads run as an administrator."""
    with psycopg.connect(url) as conn:
        began = time.perf_counter()
        with conn.cursor().copy(
            "COPY applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status) FROM STDIN"
        ) as cp:
            for _ in range(COPY_ROWS):
                cp.write_row((tenant, "Bench", "pbl:v1:k:AAAA", 1, "employed"))
        conn.commit()
        return time.perf_counter() - began


def main() -> None:
    with server() as pg:
        url = migrated_database(pg, "bench_quotas")
        tenant = uuid.uuid4()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tenants (id, name, slug, max_applications_per_month) "
                "VALUES (%s, 'Bench', %s, 2000000000)",
                (tenant, f"bench-{tenant.hex[:8]}"),
            )
        cases = [(f"{n} writer(s), 1 row per transaction", n) for n in (1, 4, 16)]
        results: dict[tuple[str, bool], list[float]] = {}
        writers(url, tenant, 1)  # the month's slots exist before timing
        for _ in range(REPEATS):
            for on in (True, False):
                switch(url, on)
                for label, n in cases:
                    results.setdefault((label, on), []).append(writers(url, tenant, n))
                results.setdefault(("COPY of 50,000 rows", on), []).append(copy(url, tenant))
        switch(url, True)
        rows = [("case", "quotas on / off (rows/s)", "on / off")]
        for label, n in [*cases, ("COPY of 50,000 rows", 0)]:
            done = n * PER_WRITER if n else COPY_ROWS
            on_s = statistics.median(results[(label, True)])
            off_s = statistics.median(results[(label, False)])
            rows.append((
                label,
                f"{rate(done, on_s):,.0f} / {rate(done, off_s):,.0f}",
                f"{off_s / on_s:.2f}x",
            ))  # fmt: skip
        print(f"quota triggers, one tenant, PostgreSQL {pg.version // 10000}, medians of {REPEATS}")
        print(table(rows))
        print("(on / off = throughput with the triggers over throughput without; 1.00x: free)")


if __name__ == "__main__":
    main()
