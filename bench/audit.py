"""Sealing and verifying the audit chain: `pbl audit seal` and `pbl audit verify` on demo data.

Usage: python bench/audit.py [ROWS] [REPEATS]   (default 300000 audit rows, 3 repeats)

Seeds one database with `pbl seed demo` (10 tenants, 12 months, ROWS audit events), then on
fresh clones of it (CREATE DATABASE ... TEMPLATE) runs, REPEATS times each, medians printed:
  seal:    pbl_db.audit.seal(period='day') from nothing sealed
  stamp:   the floor of writing the spec's seal columns onto every row, as one bare UPDATE
           (what sealing costs at least while it stamps rows), for the breakdown
  verify:  pbl_db.audit.verify() of the sealed chain, in one process and with the CLI's
           default --jobs (up to 4 processes, one per CPU)
  read:    the floor of reading the rows' content: COPY of the columns verify hashes, to
           /dev/null, for the breakdown
Goals from the issue: seal <= 10 s and verify <= 5 s for 300k rows, same tamper detection.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable

import psycopg
from psycopg import sql

from _support import migrated_database, server, table
from pbl_db.audit.seal import seal
from pbl_db.audit.verify import verify
from pbl_db.crypto.cipher import KeyRing
from pbl_db.crypto.keys import generate_key
from pbl_db.demo import DemoSpec, seed_demo

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
SEAL_GOAL, VERIFY_GOAL = 10.0 * ROWS / 300_000, 5.0 * ROWS / 300_000
JOBS = min(4, os.cpu_count() or 1)

STAMP = """UPDATE audit_logs SET block_number = '1', merkle_root = repeat('a', 64),
    block_timestamp = now()"""
READ = """COPY (SELECT id, chain_seq, chain_prev_hash, verification_hash, application_id,
    tenant_id, blockchain_tx_hash, event_type, event_category, event_description, decision,
    risk_score, confidence, user_id, user_role, ip_address, user_agent, service_name,
    service_version, environment, event_data, previous_state, new_state, metadata,
    compliance_requirement, regulation, audit_required, signature, signing_key_id,
    event_timestamp, created_at, deleted_at FROM audit_logs ORDER BY tenant_id, chain_seq)
    TO STDOUT"""


def clone(admin: str, template: str) -> str:
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return name


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def copy_out(url: str) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(READ) as copy:
        for _chunk in copy:
            pass


def main() -> None:
    spec = DemoSpec(
        tenants=10,
        applications=max(1, ROWS // 15),
        devices=500,
        audit_logs=ROWS,
        months=12,
        random_seed=3,
    )
    with server() as pg:
        seeded = migrated_database(pg, "bench_audit_seed")
        template = psycopg.conninfo.conninfo_to_dict(seeded)["dbname"]
        with psycopg.connect(seeded, autocommit=True) as conn:
            seed_demo(conn, spec, KeyRing({"bench": generate_key()}, "bench"))
            conn.execute("VACUUM ANALYZE")
        times: dict[str, list[float]] = {
            k: [] for k in ("seal", "stamp", "verify", "verify1", "read")
        }
        blocks = 0
        for _ in range(REPEATS):
            name = clone(pg.admin_url, template)
            url = pg.url_for(name)
            with psycopg.connect(url, autocommit=True) as conn:
                started = time.perf_counter()
                sealed = seal(conn, "day")
                times["seal"].append(time.perf_counter() - started)
                blocks = len(sealed)
                for key, jobs in (("verify1", 1), ("verify", JOBS)):
                    started = time.perf_counter()
                    report = verify(conn, jobs=jobs)
                    times[key].append(time.perf_counter() - started)
                    if not report.ok or report.rows != ROWS:
                        raise SystemExit(f"verify: {report.problems[:1]} ({report.rows} rows)")
            times["read"].append(timed(lambda url=url: copy_out(url)))
            pg.drop_database(name)
            name = clone(pg.admin_url, template)
            with psycopg.connect(pg.url_for(name), autocommit=True) as conn:
                times["stamp"].append(timed(lambda conn=conn: conn.execute(STAMP)))
            pg.drop_database(name)
        pg.drop_database(template)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"audit chain, {ROWS} rows of {spec.tenants} tenants, {blocks} day blocks, "
        f"PostgreSQL {pg.version // 10000}"
    )
    print(
        table(
            [
                ("step", "median s", "vs"),
                ("pbl audit seal --period day", f"{med['seal']:.2f}", f"goal {SEAL_GOAL:.1f} s"),
                ("  floor: one UPDATE stamping every row", f"{med['stamp']:.2f}", ""),
                ("pbl audit verify --jobs 1", f"{med['verify1']:.2f}", ""),
                (
                    f"pbl audit verify --jobs {JOBS} (default)",
                    f"{med['verify']:.2f}",
                    f"goal {VERIFY_GOAL:.1f} s",
                ),
                ("  floor: COPY of the hashed columns", f"{med['read']:.2f}", ""),
            ]
        )
    )
    print(
        f"ratio seal / goal: {med['seal'] / SEAL_GOAL:.2f} (goal <= 1); "
        f"verify / goal: {med['verify'] / VERIFY_GOAL:.2f} (goal <= 1); "
        f"verify / read floor: {med['verify'] / med['read']:.2f}"
    )


if __name__ == "__main__":
    main()
