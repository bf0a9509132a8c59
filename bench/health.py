"""Health checks: `pbl health` (all checks, one process) against check_postgres's equivalent
actions (one process each, as Nagios runs them), measured in the same run.

Usage: python bench/health.py [ROUNDS]   (default 5; the median round is reported).
Goal from the issue: pbl at most a quarter of check_postgres's time.
Needs check_postgres (Debian package check-postgres) on PATH.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

from _support import migrated_database, redis_server, server, table
from pbl_db.connection import parse_conninfo

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5

# check_postgres action -> the options it needs; together they cover what pbl health checks.
ACTIONS: dict[str, list[str]] = {
    "connection": [],
    "version": ["--warning=13"],
    "backends": ["--warning=90%", "--critical=95%"],
    "txn_idle": ["--warning=60s", "--critical=300s"],
    "query_time": ["--warning=60s", "--critical=300s"],
    "txn_time": ["--warning=300s", "--critical=1800s"],
    "locks": ["--warning=100", "--critical=200"],
    "txn_wraparound": ["--warning=1300000000", "--critical=1400000000"],
    "hitratio": ["--warning=95%", "--critical=90%"],
    "bloat": ["--warning=1GB", "--critical=5GB"],
    "sequence": ["--warning=85%", "--critical=95%"],
    "archive_ready": ["--warning=10", "--critical=100"],
    "replication_slots": ["--warning=1GB", "--critical=10GB"],
    "database_size": ["--warning=100GB", "--critical=200GB"],
    "wal_files": ["--warning=1000", "--critical=2000"],
    "autovac_freeze": ["--warning=90%", "--critical=95%"],
}


def run_check_postgres(params: dict[str, object], env: dict[str, str]) -> float:
    base = [
        "check_postgres",
        f"--host={params['host']}",
        f"--port={params['port']}",
        f"--dbuser={params['user']}",
        f"--dbname={params['dbname']}",
    ]
    started = time.perf_counter()
    for action, options in ACTIONS.items():
        proc = subprocess.run(
            [*base, f"--action={action}", *options], env=env, capture_output=True, text=True
        )
        if proc.returncode == 3:
            raise SystemExit(f"check_postgres {action} could not run: {proc.stdout or proc.stderr}")
    return time.perf_counter() - started


def run_pbl(url: str, redis_url: str) -> float:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PBL_QUIET": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pbl_db", "health", "--format", "nagios"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode == 3 or "cannot connect" in proc.stdout:
        raise SystemExit(f"pbl health could not run: {proc.stdout} {proc.stderr}")
    return elapsed


def main() -> None:
    if not shutil.which("check_postgres"):
        raise SystemExit("check_postgres not found: apt-get install check-postgres")
    with server() as pg, redis_server() as redis_url:
        url = migrated_database(pg, "bench_health")
        params = parse_conninfo(url)
        env = {**os.environ, "PGPASSWORD": str(params.get("password", ""))}
        pbl_times, cp_times = [], []
        for _ in range(ROUNDS):
            cp_times.append(run_check_postgres(params, env))
            pbl_times.append(run_pbl(url, redis_url))
        pbl_s, cp_s = statistics.median(pbl_times), statistics.median(cp_times)
        checks = subprocess.run(
            [sys.executable, "-m", "pbl_db", "health", "--list", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.count('"id"')
        print(
            table(
                [
                    ("what", "median wall time", "note"),
                    (
                        f"check_postgres, {len(ACTIONS)} actions",
                        f"{cp_s:.3f} s",
                        "one process per action",
                    ),
                    (f"pbl health, {checks} checks", f"{pbl_s:.3f} s", "one process, incl. Redis"),
                    ("ratio pbl / check_postgres", f"{pbl_s / cp_s:.3f}", "goal <= 0.25"),
                ]
            )
        )


if __name__ == "__main__":
    main()
