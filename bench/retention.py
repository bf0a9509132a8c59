"""Retention: `pbl retention run` against the spec's DELETE + VACUUM, while a writer inserts.

Usage: python bench/retention.py [ROWS] [SCENARIO]
  ROWS      audit rows spread evenly over 120 monthly partitions (default 2000000)
  SCENARIO  uniform | mixed | both (default both)
    uniform: every row under a 7-year policy (GDPR or none): a month is wholly expired or not
    mixed:   the demo's regulation mix (GDPR, FCRA, FCRA, none): months between 7 and 10 years
             old keep their FCRA rows, so their expired rows must go row by row
The months run from 14 to 4 years ago, so most rows are past retention (70 % in uniform, 55 %
in mixed). Each scenario loads one database, clones it (CREATE DATABASE ... TEMPLATE), and runs
  spec:  SET pbl.audit_purge = 'on' (what the append-only guard checks: it refuses a plain
         DELETE); DELETE FROM audit_logs WHERE event_timestamp < NOW() - INTERVAL '7 years'
         AND retention_until < NOW(); VACUUM audit_logs
  pbl:   pbl retention run (a child process, as an operator runs it), then, to be fair to the
         spec's VACUUM, VACUUM of the partitions it thinned row by row (reported apart); once
         with the defaults and once with --max-delay 31d (a month may wait up to 31 days to go
         whole instead of row by row: docs/retention.md)
each on its own clone, from a CHECKPOINT, with fsync, synchronous_commit and full_page_writes on
(a local test cluster, which runs with them off, is restarted with them on). WAL is
pg_current_wal_lsn() before and after, less the writer's own WAL (pg_stat_statements.wal_bytes,
when the extension is there). A writer thread inserts audit rows for the current month all
along and records its worst insert latency per phase.
Goals from the issue: >= 100x less WAL, >= 10x less wall time, no insert waiting > 200 ms.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from _support import ROOT, server
from pbl_db.migrate.engine import Migrator
from pbl_db.partitions import add_months

if TYPE_CHECKING:
    from tests.support.postgres import PgServer

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
SCENARIOS = ["uniform", "mixed"] if len(sys.argv) < 3 or sys.argv[2] == "both" else [sys.argv[2]]
MONTHS = 120
NEWEST_YEARS_AGO = 4
TENANTS = 20
APPLICATIONS = 20_000
WRITER_PAUSE = 0.005  # seconds between the writer's inserts
# pbl runs measured: the defaults, and a month's delay for whole-partition drops (docs)
VARIANTS: dict[str, list[str]] = {"pbl": [], "pbl-delay": ["--max-delay", "31d"]}
DURABLE = ("fsync", "synchronous_commit", "full_page_writes")
MIGRATIONS = Path(os.environ.get("PBL_BENCH_MIGRATIONS", ROOT / "sql" / "migrations"))
REGULATIONS = {
    "uniform": "(ARRAY['GDPR', NULL])[1 + g %% 2]",
    "mixed": "(ARRAY['GDPR', 'FCRA', 'FCRA', NULL])[1 + g %% 4]",
}

# one month of audit rows, in time order (as a service appends them)
LOAD_MONTH = """
INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category, decision,
                        risk_score, user_id, user_role, ip_address, user_agent, service_name,
                        service_version, environment, event_data, regulation, created_at,
                        event_timestamp, updated_at)
SELECT t.ids[1 + (g * 7919 %% {apps}) %% {tenants}],
       md5('app' || (g * 7919 %% {apps}))::uuid,
       (ARRAY['application.created', 'identity.verified', 'credit.pulled', 'decision.made',
              'review.completed'])[1 + g %% 5],
       (ARRAY['application', 'verification', 'verification', 'decision', 'review'])[1 + g %% 5],
       CASE WHEN g %% 5 = 3 THEN (ARRAY['approved', 'declined', 'manual_review'])[1 + g %% 3] END,
       CASE WHEN g %% 5 = 3 THEN g %% 1000 END,
       'svc-' || g %% 50, 'service', ('10.0.' || g %% 250 || '.' || g %% 200)::inet,
       'risk-engine/3.4 (+https://example.test)',
       (ARRAY['risk-engine', 'api-gateway', 'review-console'])[1 + g %% 3], '3.4.1', 'bench',
       jsonb_build_object('request_id', md5(g::text), 'latency_ms', g %% 900,
                          'note', 'bench row ' || g),
       {regulation},
       ts, ts, ts
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
     LATERAL (SELECT %(lo)s::timestamptz
                     + (%(hi)s::timestamptz - %(lo)s::timestamptz)
                       * ((g - %(first)s) / (%(last)s - %(first)s + 1.0)) AS ts) AS w,
     (SELECT array_agg(id ORDER BY slug) AS ids FROM tenants) AS t
"""


def load(url: str, scenario: str) -> tuple[date, date]:
    """Tenants, applications and ROWS audit rows over MONTHS months ending NEWEST_YEARS_AGO."""
    today = datetime.now(UTC).date()
    newest = add_months(date(today.year - NEWEST_YEARS_AGO, today.month, 1), 0)
    oldest = add_months(newest, -(MONTHS - 1))
    statement = sql.SQL(LOAD_MONTH.format(
        apps=APPLICATIONS, tenants=TENANTS, regulation=REGULATIONS[scenario]
    ))  # fmt: skip
    per_month = ROWS // MONTHS
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pbl_ensure_audit_partitions_between(%s, %s)", (oldest, newest))
        conn.execute(
            "INSERT INTO tenants (name, slug) "
            "SELECT 'Bench ' || i, 'bench-' || lpad(i::text, 3, '0') FROM generate_series(1, %s) i",
            (TENANTS,),
        )
        conn.execute(
            """
            INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                                      employment_status, created_at)
            SELECT md5('app' || i)::uuid, t.ids[1 + i %% %(tenants)s], 'Bench Applicant',
                   'pbl:v1:bench:AAAA', 50000, 'employed', %(created)s
            FROM generate_series(0, %(apps)s - 1) AS i,
                 (SELECT array_agg(id ORDER BY slug) AS ids FROM tenants) AS t
            """,
            {"tenants": TENANTS, "apps": APPLICATIONS, "created": oldest},
        )
        started = time.perf_counter()
        for k in range(MONTHS):
            month = add_months(oldest, k)
            first = k * per_month
            conn.execute(
                statement,
                {
                    "first": first,
                    "last": first + per_month - 1,
                    "lo": datetime(month.year, month.month, 1, tzinfo=UTC),
                    "hi": datetime(*add_months(month, 1).timetuple()[:3], tzinfo=UTC),
                },
            )
            if k % 12 == 11:
                print(
                    f"  loaded {(k + 1) * per_month:,} rows ({time.perf_counter() - started:.0f}s)",
                    flush=True,
                )
        conn.execute("VACUUM ANALYZE")
    return oldest, newest


@dataclass
class Phase:
    name: str
    seconds: float
    wal: int  # bytes, the writer's own WAL taken out
    wal_raw: int
    worst_ms: float
    inserts: int
    detail: str = ""


class Writer:
    """Inserts audit rows for the current month in its own thread; records latencies."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            tenant, app = conn.execute(
                "SELECT tenant_id, id FROM applications ORDER BY id LIMIT 1"
            ).fetchone() or (None, None)
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    conn.execute(
                        "INSERT INTO audit_logs (tenant_id, application_id, event_type, "
                        "event_category, service_name, regulation, event_data) "
                        "VALUES (%s, %s, 'bench.writer', 'decision', 'bench-writer', 'GDPR', "
                        "'{\"live\": true}')",
                        (tenant, app),
                    )
                except psycopg.Error as exc:
                    self.errors.append(str(exc).splitlines()[0])
                self.latencies.append(time.perf_counter() - started)
                time.sleep(WRITER_PAUSE)


def grid(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def one(conn: psycopg.Connection, query: str) -> str:
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return str(row[0]) if row else "?"


def lsn(admin: psycopg.Connection) -> str:
    row = admin.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def wal_between(admin: psycopg.Connection, start: str, end: str) -> int:
    row = admin.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (end, start)).fetchone()
    assert row is not None
    return int(row[0])


def writer_wal(admin: psycopg.Connection, has_pgss: bool) -> int:
    if not has_pgss:
        return 0
    row = admin.execute(
        "SELECT coalesce(sum(wal_bytes), 0) FROM pg_stat_statements "
        "WHERE query LIKE 'INSERT INTO audit_logs%%bench-writer%%'"
    ).fetchone()
    return int(row[0]) if row else 0


WALDUMP = os.environ.get("PBL_BENCH_WALDUMP") == "1"  # print pg_waldump --stats per pbl phase


def waldump(pg: PgServer | None, start: str, end: str) -> None:
    """What the WAL between two positions is made of, by record type (pg_waldump --stats)."""
    if not WALDUMP or pg is None or pg.bindir is None or pg.data_dir is None:
        return
    proc = subprocess.run(
        [str(pg.bindir / "pg_waldump"), "--stats=record", "-s", start, "-e", end,
         "-p", str(pg.data_dir / "pg_wal")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    rows = [line for line in proc.stdout.splitlines() if line.strip()]

    def combined(line: str) -> int:
        sizes = re.findall(r"(\d+)\s+\(\s*[\d.]+\)", line)
        return -int(sizes[-1]) if sizes else 0

    body = sorted((r for r in rows[3:] if not r.lstrip().startswith(("-", "Total"))), key=combined)
    print("\n".join(["    " + line for line in (rows[:2] + body[:12] + rows[-1:])]), flush=True)
    if proc.returncode:
        print(f"    pg_waldump: {proc.stderr.strip()[:300]}", flush=True)


def measure(
    admin: psycopg.Connection,
    url: str,
    name: str,
    has_pgss: bool,
    work: Callable[[], str],
    pg: PgServer | None = None,
) -> Phase:
    admin.execute("CHECKPOINT")
    if has_pgss:
        admin.execute("SELECT pg_stat_statements_reset()")
    with Writer(url) as writer:
        before = lsn(admin)
        started = time.perf_counter()
        detail = work()
        seconds = time.perf_counter() - started
        after = lsn(admin)
        time.sleep(0.2)
    raw = wal_between(admin, before, after)
    waldump(pg, before, after)
    own = writer_wal(admin, has_pgss)
    if writer.errors:
        detail = f"{detail}; writer errors: {writer.errors[:3]}"
    return Phase(
        name,
        seconds,
        max(raw - own, 0),
        raw,
        max(writer.latencies) * 1000 if writer.latencies else 0.0,
        len(writer.latencies),
        str(detail or ""),
    )


def spec_delete(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET pbl.audit_purge = 'on'")
        deleted = conn.execute(
            "DELETE FROM audit_logs WHERE event_timestamp < NOW() - INTERVAL '7 years' "
            "AND retention_until < NOW()"
        ).rowcount
        conn.execute("VACUUM audit_logs")
    return f"{deleted:,} rows deleted"


def pbl_run(url: str, report: dict[str, object], options: list[str]) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pbl_db",
            "retention",
            "run",
            *options,
            "--json",
            "--database-url",
            url,
        ],
        env={**os.environ, "PBL_QUIET": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"pbl retention run failed ({proc.returncode}): {proc.stderr}")
    out = json.loads(proc.stdout)
    report.update(out)
    r = out["report"]
    return (
        f"{sum(r['removed'].values()):,} rows: {len(r['dropped'])} partitions dropped "
        f"({r['rows_in_removed_partitions']:,} rows), "
        + (
            f"{len(r['rewritten'])} rewritten ({r['rows_in_rewrites']:,} rows), "
            if r.get("rewritten")
            else ""
        )
        + f"{r['rows_deleted']:,} rows deleted"
        + (f", {sum(r['waiting'].values()):,} waiting" if r["waiting"] else "")
    )


def vacuum_thinned(url: str, report: dict[str, object]) -> str:
    plan = report["plan"]
    assert isinstance(plan, dict)
    thinned = [p["name"] for p in plan["partitions"] if p["action"] == "purge"]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in thinned:
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(name)))
    return f"{len(thinned)} partitions"


def remaining(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM audit_logs WHERE service_name <> 'bench-writer' "
            "AND event_type <> 'retention.run'"
        ).fetchone()
    return int(row[0]) if row else 0


def scenario(pg: PgServer, admin: psycopg.Connection, name: str, has_pgss: bool) -> None:
    tag = uuid.uuid4().hex[:6]
    src = f"bench_ret_{name}_{tag}"
    url = pg.create_database(src)
    Migrator(url, MIGRATIONS).apply()
    print(f"scenario {name}: loading {ROWS:,} audit rows over {MONTHS} months", flush=True)
    started = time.perf_counter()
    load(url, name)
    with psycopg.connect(url) as conn:
        total, expired = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE retention_until < now()) FROM audit_logs"
        ).fetchone() or (0, 0)
        size = conn.execute(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
            "WHERE inhparent = 'audit_logs'::regclass"
        ).fetchone()
    print(
        f"  {total:,} rows, {expired:,} past retention ({expired / max(total, 1):.0%}), "
        f"audit_logs {size[0] if size else '?'}, loaded in {time.perf_counter() - started:.0f}s",
        flush=True,
    )
    strategy = " STRATEGY FILE_COPY" if pg.version >= 150000 else ""
    urls = {}
    for which in ("spec", *VARIANTS):
        copy = f"{src}_{which.replace('-', '_')}"
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
                sql.Identifier(copy), sql.Identifier(src)
            )
        )
        urls[which] = pg.url_for(copy)
    spec = measure(
        admin, urls["spec"], "spec DELETE + VACUUM", has_pgss, lambda: spec_delete(urls["spec"])
    )
    phases = [spec]
    lines = []
    for which, options in VARIANTS.items():
        url, report = urls[which], {}
        run = measure(
            admin,
            url,
            f"pbl retention run {' '.join(options)}".strip(),
            has_pgss,
            lambda url=url, report=report, options=options: pbl_run(url, report, options),
            pg,
        )
        vac = measure(
            admin,
            url,
            "  + VACUUM of thinned",
            has_pgss,
            lambda url=url, report=report: vacuum_thinned(url, report),
            pg,
        )
        phases += [run, vac]
        both_wal, both_seconds = run.wal + vac.wal, run.seconds + vac.seconds
        lines.append(
            f"{run.name}: WAL {spec.wal / max(run.wal, 1):.0f}x less "
            f"({spec.wal / max(both_wal, 1):.0f}x with the VACUUM; goal >= 100x), "
            f"time {spec.seconds / run.seconds:.1f}x less "
            f"({spec.seconds / both_seconds:.1f}x with the VACUUM; goal >= 10x), "
            f"rows left {remaining(url):,}"
        )
    print(
        f"\nscenario {name}: {ROWS:,} rows, {MONTHS} months from {NEWEST_YEARS_AGO + 10} to "
        f"{NEWEST_YEARS_AGO} years ago; server {pg.version}; "
        f"rows left after the spec: {remaining(urls['spec']):,}"
    )
    print(
        grid(
            [
                ("phase", "wall s", "WAL MB (raw)", "writer worst ms (inserts)", "what"),
                *[
                    (
                        p.name,
                        f"{p.seconds:.1f}",
                        f"{p.wal / 1e6:.1f} ({p.wal_raw / 1e6:.1f})",
                        f"{p.worst_ms:.0f} ({p.inserts})",
                        p.detail,
                    )
                    for p in phases
                ],
            ]
        )
    )
    for line in lines:
        print(line)
    ours = max(p.worst_ms for p in phases[1:])
    print(
        f"writer: worst insert {ours:.0f} ms while pbl ran (goal <= 200 ms); "
        f"{spec.worst_ms:.0f} ms during the spec's DELETE + VACUUM\n",
        flush=True,
    )
    for url in urls.values():
        pg.drop_database(str(psycopg.conninfo.conninfo_to_dict(url)["dbname"]))
    pg.drop_database(src)


def durable(pg: PgServer) -> None:
    """The test clusters run with fsync, synchronous_commit and full_page_writes off; a
    production server has them on, and full-page images are much of a DELETE's WAL."""
    if pg.data_dir is None:
        return  # PBL_BENCH_DATABASE_URL: the server is measured as it is configured
    args = shlex.split((pg.data_dir / "postmaster.opts").read_text().strip())[1:]
    on = {f"{name}=off": f"{name}=on" for name in DURABLE}
    log = str(pg.data_dir.parent / "log")
    pg.pg_ctl("restart", "-m", "fast", "-l", log, "-o", shlex.join(on.get(a, a) for a in args))


def main() -> None:
    with server() as pg:
        durable(pg)
        with psycopg.connect(pg.admin_url, autocommit=True) as admin:
            run_all(pg, admin)


def run_all(pg: PgServer, admin: psycopg.Connection) -> None:
    try:
        admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        has_pgss = True
    except psycopg.Error:
        has_pgss = False
    settings = ", ".join(f"{name}={one(admin, f'SHOW {name}')}" for name in DURABLE)
    print(
        f"server {pg.version} ({pg.how}); {settings}; "
        + ("writer WAL from pg_stat_statements" if has_pgss else "writer WAL included")
    )
    for name in SCENARIOS:
        scenario(pg, admin, name, has_pgss)


if __name__ == "__main__":
    main()
