"""Backups: `pbl backup create` / `restore` against the spec's `pg_dump | gzip` / `gunzip | psql`.

Usage: python bench/backup.py [GB]   (default 1.0: demo data is added until the database is that
big). Goals (issue 13): create >= 3.5x faster, restore >= 1.7x faster, with checksums and the
manifest included in pbl's time, and the archive no bigger than pg_dump's own -Z1 gzip one.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from _support import migrated_database, server, table
from pbl_db.backup import repo
from pbl_db.backup.logical import CreateOptions, create, restore
from pbl_db.backup.tools import child_env, find_tool
from pbl_db.connection import Target, parse_conninfo
from pbl_db.crypto.cipher import KeyRing
from pbl_db.crypto.keys import generate_key
from pbl_db.demo import DemoSpec, seed_demo

GB = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def size(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def shell(command: str, params: dict[str, object]) -> float:
    with child_env(params) as env:
        started = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, check=True)
        return time.perf_counter() - started


def main() -> None:
    ring = KeyRing({"bench": generate_key()}, "bench")
    with server() as pg, tempfile.TemporaryDirectory(prefix="pbl-bench-backup-") as tmp:
        url = migrated_database(pg, "bench_backup")
        seed = 1
        while size(url) < GB * 1e9:
            with psycopg.connect(url, autocommit=True) as conn:
                seed_demo(
                    conn,
                    DemoSpec(
                        tenants=20,
                        applications=250_000,
                        devices=2000,
                        audit_logs=500_000,
                        random_seed=seed,
                    ),
                    ring,
                )
            seed += 1
            print(f"  database size {size(url) / 1e9:.2f} GB", flush=True)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        params = parse_conninfo(url)
        major = pg.version // 10000
        pg_dump = find_tool("pg_dump", major, prefer_exact=True)
        psql = find_tool("psql", major, prefer_exact=True)
        dump = Path(tmp) / "backup.sql.gz"

        spec_create = shell(
            f"{shlex.quote(str(pg_dump))} | gzip > {shlex.quote(str(dump))}", params
        )
        backup = create(Target(url, "bench"), CreateOptions(Path(tmp) / "pbl"))
        gzip1 = create(Target(url, "bench"), CreateOptions(Path(tmp) / "gz", compress="gzip:1"))

        plain_db, pbl_db = "bench_restore_plain", "bench_restore_pbl"
        pg.create_database(plain_db)
        spec_restore = shell(
            f"gunzip -c {shlex.quote(str(dump))} | {shlex.quote(str(psql))} -q -X -o /dev/null",
            {**params, "dbname": plain_db},
        )
        started = time.perf_counter()
        restore(Target(url, "bench"), repo.find_backup(Path(tmp) / "pbl", backup.id), pbl_db)
        pbl_restore = time.perf_counter() - started

        print(
            f"backup and restore of {size(url) / 1e9:.2f} GB, server {pg.version}, "
            f"pg_dump {pg_dump}"
        )
        print(
            table(
                [
                    ("step", "seconds", "what"),
                    ("spec create", f"{spec_create:.1f}", "pg_dump | gzip"),
                    (
                        "pbl create",
                        f"{backup.manifest.seconds:.1f}",
                        f"pg_dump -Fd -j{backup.manifest.jobs} + {backup.manifest.compress} "
                        f"({backup.manifest.codec}), row counts, sha256, manifest",
                    ),
                    (
                        "pbl create gzip:1",
                        f"{gzip1.manifest.seconds:.1f}",
                        "the same with pg_dump's own -Z1 (the default before issue 13)",
                    ),
                    ("spec restore", f"{spec_restore:.1f}", "gunzip | psql"),
                    (
                        "pbl restore",
                        f"{pbl_restore:.1f}",
                        "checks + pg_restore -j + row count check",
                    ),
                ]
            )
        )
        mb, gz_mb = backup.manifest.size_bytes / 1e6, gzip1.manifest.size_bytes / 1e6
        print(f"create:  pbl is {spec_create / backup.manifest.seconds:.2f}x faster (goal >= 3.5)")
        print(f"restore: pbl is {spec_restore / pbl_restore:.2f}x faster (goal >= 1.7)")
        print(
            f"size:    {mb:.0f} MB, {mb / gz_mb:.2f}x the {gz_mb:.0f} MB of pg_dump -Z1 (goal <= 1)"
        )
        for name in (plain_db, pbl_db, psycopg.conninfo.conninfo_to_dict(url)["dbname"]):
            pg.drop_database(name)


if __name__ == "__main__":
    main()
