"""Demo seeding: `pbl seed demo` rows/s next to a raw COPY of the very same rows.

Usage: python bench/seed_demo.py [APPLICATIONS]   (default 200000, plus as many audit events)
"""

from __future__ import annotations

import io
import sys
import time

import psycopg
from psycopg import sql

from _support import migrated_database, rate, server, table
from pbl_db.crypto.cipher import KeyRing
from pbl_db.crypto.keys import generate_key
from pbl_db.demo import DemoSpec, seed_demo

APPLICATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
TABLES = ("tenants", "applications", "devices", "audit_logs")


def dump(url: str) -> dict[str, bytes]:
    out = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for name in TABLES:
            buf = io.BytesIO()
            query = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT").format(sql.Identifier(name))
            with cur.copy(query) as copy:
                for chunk in copy:
                    buf.write(chunk)
            out[name] = buf.getvalue()
    return out


def raw_copy(url: str, data: dict[str, bytes], first: object, last: object) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(
            "SELECT count(*) FROM pbl_ensure_audit_partitions_between(%s, %s)",
            (first, last),
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for name in TABLES:
                with cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))) as copy:
                    copy.write(data[name])
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    spec = DemoSpec(
        tenants=20,
        applications=APPLICATIONS,
        devices=2000,
        audit_logs=APPLICATIONS,
        months=36,
        random_seed=2,
    )
    ring = KeyRing({"bench": generate_key()}, "bench")
    with server() as pg:
        seeded = migrated_database(pg, "bench_seed")
        with psycopg.connect(seeded, autocommit=True) as conn:
            report = seed_demo(conn, spec, ring)
        data = dump(seeded)
        target = migrated_database(pg, "bench_raw")
        with psycopg.connect(seeded) as conn:
            span = conn.execute("SELECT min(event_timestamp), max(event_timestamp) FROM audit_logs")
            first, last = (moment.date() for moment in span.fetchone() or ())
        raw_seconds = raw_copy(target, data, first, last)
        pbl_rate = rate(report.total, report.seconds)
        raw_rate = rate(report.total, raw_seconds)
        print(
            f"demo seeding, {report.total} rows ({APPLICATIONS} applications), server {pg.version}"
        )
        print(
            table(
                [
                    ("method", "seconds", "rows/s"),
                    (
                        "pbl seed demo (generate, encrypt, COPY)",
                        f"{report.seconds:.2f}",
                        f"{pbl_rate:,.0f}",
                    ),
                    ("raw COPY of the same rows", f"{raw_seconds:.2f}", f"{raw_rate:,.0f}"),
                ]
            )
        )
        print(f"ratio pbl / raw COPY: {pbl_rate / raw_rate:.2f} (goal >= 0.5)")
        for url in (seeded, target):
            pg.drop_database(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


if __name__ == "__main__":
    main()
