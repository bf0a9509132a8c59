"""What the per-tenant audit chain head costs over many inserts, at two fillfactors.

Usage: python bench/chain_heads.py [INSERTS] [WRITERS] [FILLFACTOR] [ORDER]
       (default 1000000, 4, 50, "default-first"; "tuned-first" runs FILLFACTOR first, to see
       how much of a difference is the order)

Every audit insert updates its tenant's row in audit_chain_heads. This runs INSERTS single-row
audit inserts (one per transaction, pgbench, WRITERS concurrent sessions, one tenant) into a
fresh database twice: with the table at the default fillfactor (100) and at FILLFACTOR.
Autovacuum stays on, as in production. Printed per case: inserts/s, the share of head updates
that were HOT, and the heads table's size afterwards; then the ratio FILLFACTOR / default.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from _support import migrated_database, rate, server, table
from pbl_db.backup.tools import child_env

INSERTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
WRITERS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
FILLFACTOR = int(sys.argv[3]) if len(sys.argv) > 3 else 50
TUNED_FIRST = len(sys.argv) > 4 and sys.argv[4] == "tuned-first"
SCRIPT = (
    "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
    "VALUES (:tenant, 'bench', 'bench', 'bench');\n"
)
STATS = (
    "SELECT n_tup_upd, n_tup_hot_upd, pg_relation_size('audit_chain_heads') "
    "FROM pg_stat_user_tables WHERE relname = 'audit_chain_heads'"
)


def pgbench(bindir: Path | None) -> str:
    found = (bindir / "pgbench") if bindir and (bindir / "pgbench").exists() else None
    path = str(found) if found else shutil.which("pgbench")
    if not path:
        raise SystemExit("pgbench not found: install postgresql-client or set PATH")
    return path


def case(pg, fillfactor: int, binary: str) -> tuple[float, float, int]:
    url = migrated_database(pg, f"heads{fillfactor}")
    with psycopg.connect(url, autocommit=True) as conn:
        tenant = conn.execute(
            "INSERT INTO tenants (name, slug) VALUES ('Bench', 'bench-heads') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            sql.SQL("ALTER TABLE audit_chain_heads SET (fillfactor = {})").format(
                sql.Literal(fillfactor)
            )
        )
        conn.execute(
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
            "VALUES (%s, 'bench', 'bench', 'bench')",
            (tenant,),
        )
        conn.execute("VACUUM FULL audit_chain_heads")
        conn.execute("SELECT pg_stat_reset()")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(SCRIPT)
        script.flush()
        started = time.perf_counter()
        # the password reaches pgbench through a 0600 passfile, never its argv
        with child_env(conninfo_to_dict(url)) as env:
            subprocess.run(
                [
                    binary,
                    "-n",
                    "-c",
                    str(WRITERS),
                    "-j",
                    str(min(WRITERS, 2)),
                    "-t",
                    str(INSERTS // WRITERS),
                    "-D",
                    f"tenant='{tenant}'",
                    "-f",
                    script.name,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        seconds = time.perf_counter() - started
    time.sleep(1)  # let the statistics collector (before 15) catch up
    with psycopg.connect(url, autocommit=True) as conn:
        updates, hot, size = conn.execute(STATS).fetchone()
    return rate(INSERTS // WRITERS * WRITERS, seconds), 100.0 * hot / max(updates, 1), size


def main() -> None:
    with server() as pg:
        binary = pgbench(pg.bindir)
        order = f"fillfactor {FILLFACTOR} first" if TUNED_FIRST else "fillfactor 100 first"
        print(f"{INSERTS:,} audit inserts, {WRITERS} writers of one tenant, autovacuum on, {order}")
        if TUNED_FIRST:
            tuned = case(pg, FILLFACTOR, binary)
            base = case(pg, 100, binary)
        else:
            base = case(pg, 100, binary)
            tuned = case(pg, FILLFACTOR, binary)
        rows = [("case", "inserts/s", "HOT updates, heads size")]
        for label, (tps, hot, size) in (
            ("fillfactor 100", base),
            (f"fillfactor {FILLFACTOR}", tuned),
        ):
            rows.append((label, f"{tps:,.0f}", f"{hot:.1f} %, {size // 8192} pages"))
        print(table(rows))
        print(f"ratio fillfactor {FILLFACTOR} / 100: {tuned[0] / base[0]:.2f}x inserts/s")


if __name__ == "__main__":
    main()
