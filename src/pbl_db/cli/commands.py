"""Every pbl command: its module, help panel and the one-line help the root help shows.

Read by the typer app (pbl_db.cli.app) and by the root help drawn without typer
(pbl_db.cli.root_help); tests/test_cli.py keeps the one-line helps equal to the commands' own.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "Schema and data"
BACKUPS = "Backups and recovery"
OBSERVE = "Observability and maintenance"
LIFECYCLE = "Lifecycle and compliance"
LOCAL = "Local server"

EPILOG = (
    "Exit codes: 0 ok, 1 failed, 2 usage or configuration, 3 cannot connect, "
    "4 refused for safety, 5 busy (lock not available), 6 target is a standby, 130 interrupted."
)


@dataclass(frozen=True)
class Entry:
    name: str
    module: str  # under pbl_db.cli
    attr: str  # a Typer sub-app, or a command function
    group: bool
    panel: str
    help: str  # what the root help shows: the real help's short form


COMMANDS = (
    Entry("migrate", "migrate", "app", True, SCHEMA,
          "Apply, inspect and roll back schema migrations."),
    Entry("seed", "seed", "app", True, SCHEMA,
          "Load seed data (sql/seeds) or generate demo data."),
    Entry("schema", "schema", "app", True, SCHEMA,
          "Checks of the live schema against a planned layout (Citus); schema options."),
    Entry("tenants", "tenants", "app", True, SCHEMA,
          "Tenants: create, list, show, update plan and quotas, suspend, resume, usage."),
    Entry("users", "users", "app", True, SCHEMA,
          "A tenant's users: create, list, show, lock, unlock, set-role, reset-password, MFA."),
    Entry("stats", "stats", "stats", False, SCHEMA,
          "Aggregated application statistics of a tenant: total, approved, declined, average "
          "risk score (soft-deleted applications left out)."),
    Entry("backup", "backup", "app", True, BACKUPS,
          "Logical backups: create, list, verify, restore, prune."),
    Entry("pitr", "pitr", "app", True, BACKUPS,
          "Point-in-time recovery: enable archiving, base backups, restore."),
    Entry("replica", "replica", "app", True, BACKUPS,
          "Streaming standbys: create one from a primary, replication status."),
    Entry("health", "health", "health", False, OBSERVE,
          "Check PostgreSQL (and Redis): connections, locks, wraparound, bloat, archiving, ..."),
    Entry("report", "report", "report", False, OBSERVE,
          "Health summary, top slow queries, largest tables and indexes and their growth, as "
          "HTML."),
    Entry("slow-queries", "slow_queries", "app", True, OBSERVE,
          "Slow-query report from pg_stat_statements or a server log."),
    Entry("tables", "inspect", "tables", False, OBSERVE,
          "Tables by size: rows, dead tuples, last vacuum and analyze (partitioned ones summed)."),
    Entry("indexes", "inspect", "indexes", False, OBSERVE,
          "Indexes by size with scans; flags unused, redundant and invalid ones."),
    Entry("activity", "inspect", "activity_app", True, OBSERVE,
          "Sessions, longest transactions first; cancel or terminate one."),
    Entry("locks", "inspect", "locks", False, OBSERVE,
          "The blocking tree: who waits for which lock, for how long, and who holds it."),
    Entry("maintenance", "maintenance", "app", True, OBSERVE,
          "ANALYZE, VACUUM and REINDEX (CONCURRENTLY) from sql/maintenance."),
    Entry("tune", "tune", "app", True, OBSERVE,
          "Configuration recommendations; apply with ALTER SYSTEM; revert."),
    Entry("partitions", "partitions", "app", True, LIFECYCLE,
          "audit_logs monthly partitions: ensure, list, repair."),
    Entry("retention", "retention", "app", True, LIFECYCLE,
          "Retention: run, backfill, legal holds."),
    Entry("audit", "audit", "app", True, LIFECYCLE,
          "Tamper-evident audit trail: seal, proof, verify."),
    Entry("gdpr", "gdpr", "app", True, LIFECYCLE, "GDPR: export and erase a data subject."),
    Entry("crypto", "crypto", "app", True, LIFECYCLE,
          "Field encryption keys, encrypt/decrypt, password hashes, key rotation."),
    Entry("local", "local", "app", True, LOCAL,
          "Manage the embedded PostgreSQL (data in $PBL_HOME, default ./.pbl)."),
)  # fmt: skip
NAMES = {entry.name: entry for entry in COMMANDS}
