"""Key rotation: `pbl crypto rotate` against a naive per-row UPDATE loop and the crypto alone.

Usage: python bench/rotate.py [ROWS]   (default 200000 applications, 3 encrypted values each)
"""

from __future__ import annotations

import sys
import time

import psycopg

from _support import migrated_database, rate, server, table
from pbl_db.crypto.cipher import Context, KeyRing
from pbl_db.crypto.fields import decrypt_json, encrypt_json
from pbl_db.crypto.keys import generate_key
from pbl_db.crypto.rotate import rotate
from pbl_db.demo import DemoSpec, seed_demo

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
NAIVE_ROWS = min(ROWS, 20_000)  # the naive loop is timed on a sample: same rows/s, less waiting
KEYS = {name: generate_key() for name in ("old", "new", "naive")}


def fetch_all(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, tenant_id, ssn_encrypted, address, identity_verification FROM applications"
        ).fetchall()


def crypto_only(rows: list[tuple[object, ...]], ring: KeyRing) -> float:
    started = time.perf_counter()
    for row_id, tenant_id, ssn, address, identity in rows:
        ctx = Context("applications", "ssn_encrypted", row_id, tenant_id)
        ring.encrypt(ring.decrypt(ssn, ctx), ctx)
        ctx = Context("applications", "address", row_id, tenant_id)
        encrypt_json(ring, decrypt_json(ring, address, ctx), ctx)
        ctx = Context("applications", "identity_verification", row_id, tenant_id)
        encrypt_json(ring, decrypt_json(ring, identity, ctx), ctx)
    return time.perf_counter() - started


def naive(url: str, rows: list[tuple[object, ...]], ring: KeyRing) -> float:
    from psycopg.types.json import Jsonb

    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for n, (row_id, tenant_id, ssn, address, identity) in enumerate(rows, 1):
            c1 = Context("applications", "ssn_encrypted", row_id, tenant_id)
            c2 = Context("applications", "address", row_id, tenant_id)
            c3 = Context("applications", "identity_verification", row_id, tenant_id)
            conn.execute(
                "UPDATE applications SET ssn_encrypted = %s, address = %s, "
                "identity_verification = %s WHERE id = %s",
                (
                    ring.encrypt(ring.decrypt(ssn, c1), c1),
                    Jsonb(encrypt_json(ring, decrypt_json(ring, address, c2), c2)),
                    Jsonb(encrypt_json(ring, decrypt_json(ring, identity, c3), c3)),
                    row_id,
                ),
            )
            if n % 1000 == 0:
                conn.commit()  # short transactions, as a careful naive job would
        conn.commit()
    return time.perf_counter() - started


def main() -> None:
    with server() as pg:
        url = migrated_database(pg, "bench_rotate")
        with psycopg.connect(url, autocommit=True) as conn:
            seed_demo(
                conn,
                DemoSpec(tenants=10, applications=ROWS, devices=0, audit_logs=0, random_seed=1),
                KeyRing({"old": KEYS["old"]}, "old"),
            )
            conn.execute("VACUUM ANALYZE applications")
        rows = fetch_all(url)
        ring_new = KeyRing({"old": KEYS["old"], "new": KEYS["new"]}, "new")
        crypto_seconds = crypto_only(rows, ring_new)

        with (
            psycopg.connect(url, autocommit=True) as conn,
            psycopg.connect(url, autocommit=True) as writer,
        ):
            report = rotate(conn, ring_new, writer_conn=writer)  # as the CLI runs it
        assert report.rows_updated == ROWS and not report.failures

        ring_naive = KeyRing({"new": KEYS["new"], "naive": KEYS["naive"]}, "naive")
        naive_seconds = naive(url, fetch_all(url)[:NAIVE_ROWS], ring_naive)

        pbl_rate = rate(ROWS, report.seconds)
        naive_rate = rate(NAIVE_ROWS, naive_seconds)
        crypto_rate = rate(ROWS, crypto_seconds)
        print(f"key rotation, {ROWS} applications x 3 encrypted values, server {pg.version}")
        print(
            table(
                [
                    ("method", "rows", "rows/s"),
                    (
                        "pbl crypto rotate (COPY out/in, UPDATE ... FROM, writer thread)",
                        str(ROWS),
                        f"{pbl_rate:,.0f}",
                    ),
                    (
                        "naive per-row UPDATE, commit every 1000",
                        str(NAIVE_ROWS),
                        f"{naive_rate:,.0f}",
                    ),
                    (
                        "crypto only (decrypt + encrypt, no database)",
                        str(ROWS),
                        f"{crypto_rate:,.0f}",
                    ),
                ]
            )
        )
        print(f"ratio pbl / naive:  {pbl_rate / naive_rate:.2f}x")
        print(
            f"ratio pbl / crypto: {pbl_rate / crypto_rate:.2f} (share of the crypto-only ceiling)"
        )
        pg.drop_database(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


if __name__ == "__main__":
    main()
