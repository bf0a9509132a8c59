"""Start-up: how long `pbl --help`, `pbl --version` and `pbl health` take as new processes,
against the floor of a Python process that imports psycopg and runs `select 1`, measured side by
side in one run (medians of ROUNDS interleaved rounds; the machine is noisy).

Usage: python bench/startup.py [ROUNDS]   (default 15)
Goals from issue 13: --help <= 0.12 s, --version <= 0.1 s, health --json and --format nagios
<= 1.5x the floor.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from _support import migrated_database, server, table

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
PBL = [sys.executable, "-m", "pbl_db"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # health may say WARNING/CRITICAL; that is still a run
        raise SystemExit(f"{argv[2:]} exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return elapsed


def main() -> None:
    with server() as pg:
        url = migrated_database(pg, "bench_startup")
        env = {**os.environ, "DATABASE_URL": url, "PBL_QUIET": "1", "PBL_EMBEDDED": "off"}
        env.pop("REDIS_URL", None)
        floor = [
            sys.executable,
            "-c",
            "import os, psycopg; psycopg.connect(os.environ['DATABASE_URL'])"
            ".execute('select 1').fetchone()",
        ]
        runs = {
            "floor (psycopg select 1)": floor,
            "pbl --version": [*PBL, "--version"],
            "pbl --help": [*PBL, "--help"],
            "pbl health --json": [*PBL, "health", "--json"],
            "pbl health --format nagios": [*PBL, "health", "--format", "nagios"],
        }
        for argv in runs.values():  # warm the page cache and .pyc files
            timed(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(ROUNDS):
            for name, argv in runs.items():
                samples[name].append(timed(argv, env))
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["floor (psycopg select 1)"]
    goals = {
        "pbl --version": "<= 0.10 s",
        "pbl --help": "<= 0.12 s",
        "pbl health --json": "<= 1.5x floor",
        "pbl health --format nagios": "<= 1.5x floor",
    }
    rows = [("run", "median", "vs floor / goal")]
    for name, value in median.items():
        rows.append((name, f"{value:.3f} s", f"{value / base:.2f}x  {goals.get(name, '')}"))
    print(f"start-up, {ROUNDS} rounds, PostgreSQL {pg.version // 10000}")
    print(table(rows))


if __name__ == "__main__":
    main()
