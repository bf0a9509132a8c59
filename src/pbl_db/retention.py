"""Retention: policies, the one-off retention_until backfill, the retention run, legal holds.

The run is planned first (exact counts per table and policy, which partitions go whole), so the
operator sees it before anything changes, then executed in short transactions: a whole monthly
partition is dropped (or detached) when every row in it is past retention_until and none is under
legal hold; a past month that loses most of its rows is rebuilt from the rows it keeps (a
rewrite); other expired rows go in batches through pbl_purge_expired_audit_logs(); soft-deleted
applications, users and devices past the grace period are deleted unless held or referenced.
Every step is its own transaction, so a killed run loses at most one batch and a rerun plans
again from what is left.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pbl_db import partitions, queries
from pbl_db.errors import ConfigError, OperationFailed, shown
from pbl_db.replica import require_primary
from pbl_db.tenant import require_rls_bypass

if TYPE_CHECKING:
    import psycopg

ProgressSink = Callable[[int, int], None]


def _fk_refused() -> tuple[type[Exception], ...]:
    """What a delete that a foreign key refuses raises: PostgreSQL 18 reports an ON DELETE
    RESTRICT key as restrict_violation (23001), older majors as foreign_key_violation (23503)."""
    from psycopg import errors

    return (errors.ForeignKeyViolation, errors.RestrictViolation)


DEFAULT_BATCH_SIZE = 5000
MAX_BATCH_SIZE = 1_000_000
MAX_DURATION = timedelta(days=3650)  # the longest duration any option takes
# whole partitions removed per transaction: fewer commits; audit_logs is held exclusively only
# for the DROPs themselves (a few ms each), after every check in the group is done
WHOLE_PER_TRANSACTION = 8
# how a partition that keeps some rows loses its expired ones: auto rewrites a past month when
# at least REWRITE_SHARE of its rows go (copying the few that stay writes far less WAL than
# deleting the many, and leaves nothing for VACUUM), and deletes in batches otherwise
THIN_METHODS = ("auto", "delete", "rewrite")
REWRITE_SHARE = 0.5
DEFAULT_GRACE = "30d"
SOFT_DELETE_TABLES = ("applications", "users", "devices")
SYSTEM_TENANT_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://pbl/system-tenant")
SYSTEM_TENANT_SLUG = "pbl-system"
ZERO_UUID = uuid.UUID(int=0)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d|w)?", re.IGNORECASE)
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}


def parse_duration(
    text: str, option: str = "duration", maximum: timedelta = MAX_DURATION
) -> timedelta:
    """'30d', '12h', '90min', '45s', '1d12h', '0'; a bare number is seconds; at most maximum
    (ConfigError otherwise, never an overflow)."""
    compact = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    while compact and pos < len(compact):
        match = _DURATION.match(compact, pos)
        if not match:
            break
        total += float(match[1]) * _UNIT_SECONDS[(match[2] or "s").lower()]
        pos = match.end()
    if not compact or pos != len(compact):
        raise ConfigError(
            f"bad {option} {shown(text)!r}",
            "use e.g. 30d, 12h, 90min, 45s or 1d12h (a number: seconds)",
        )
    if not math.isfinite(total) or total > maximum.total_seconds():
        raise ConfigError(
            f"{option} {shown(text)!r} is too long: at most {_days(maximum)}",
            "give a shorter duration, e.g. 30d",
        )
    return timedelta(seconds=total)


def _days(span: timedelta) -> str:
    if span.days >= 1:
        return f"{span.days} day{'s' if span.days != 1 else ''}"
    return f"{span.total_seconds():g} seconds"


def check_batch_size(batch_size: int, option: str = "--batch-size") -> int:
    """Rows per batch: 1 to MAX_BATCH_SIZE (a batch is one statement's LIMIT)."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ConfigError(
            f"{option} must be between 1 and {MAX_BATCH_SIZE:,}", "the default is 5000"
        )
    return batch_size


# --- policies --------------------------------------------------------------------------------


def policies(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """audit_retention_policies: regulation, retention (interval text), seconds, description."""
    with partitions.infinity_cursor(conn, dicts=True) as cur:
        return [
            {**row, "seconds": float(row["seconds"])}
            for row in cur.execute(queries.load("list_retention_policies"))
        ]


# --- backfill --------------------------------------------------------------------------------


@dataclass
class BackfillReport:
    dry_run: bool
    to_update: dict[str, int] = field(default_factory=dict)  # per policy, before
    updated: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    stopped: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def backfill(
    conn: psycopg.Connection[Any],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    max_runtime: timedelta | None = None,
    lock_timeout: str = partitions.DEFAULT_LOCK_TIMEOUT,
    on_progress: ProgressSink | None = None,
) -> BackfillReport:
    """The spec's one-off UPDATE of retention_until, per policy, never lowering a later value:
    partition by partition, in (event_timestamp, id) order, one committed batch at a time.
    Only rows still below their policy are touched, so a rerun continues where one stopped."""
    check_batch_size(batch_size)
    require_primary(conn, "pbl retention backfill")
    require_rls_bypass(conn, "pbl retention backfill")
    started = time.monotonic()
    deadline = None if max_runtime is None else started + max_runtime.total_seconds()
    report = BackfillReport(dry_run)
    report.to_update = {
        r[0]: int(r[1]) for r in conn.execute(queries.load("count_retention_backfill"))
    }
    total = sum(report.to_update.values())
    progress = on_progress or (lambda _d, _t: None)
    if dry_run or not total:
        report.seconds = time.monotonic() - started
        return report
    keys = partitions.policy_keys(conn)
    done = 0
    for part in partitions.catalog(conn):
        after_ts, after_id = "-infinity", ZERO_UUID
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                report.stopped = "max-runtime"
                report.seconds = time.monotonic() - started
                return report
            statement = partitions.query(
                "backfill_retention_batch", partition=partitions.ident(part["name"])
            )
            params = {
                "after_ts": after_ts,
                "after_id": after_id,
                "limit": batch_size,
                "policies": keys,
            }

            def batch(
                statement: Any = statement, params: dict[str, Any] = params
            ) -> list[tuple[Any, ...]]:
                return conn.execute(statement, params).fetchall()

            rows = partitions.with_lock_retry(
                conn, batch, what=f"backfill of {part['name']}", lock_timeout=lock_timeout
            )
            if not rows:
                break
            report.batches += 1
            count = 0
            for regulation, n, last_ts, last_id in rows:
                report.updated[regulation] = report.updated.get(regulation, 0) + int(n)
                count += int(n)
                after_ts, after_id = last_ts, last_id
            done += count
            progress(done, total)
            if count < batch_size:
                break
    report.seconds = time.monotonic() - started
    return report


# --- the run: plan ---------------------------------------------------------------------------


@dataclass
class PartitionPlan:
    name: str
    is_default: bool
    range_from: datetime | None
    range_to: datetime | None
    rows: int
    expired: int  # past retention_until
    held: int  # of those, under legal hold (kept)
    newest_retention_until: datetime | None
    action: str  # drop | detach | rewrite | purge | wait | keep
    expired_by_regulation: dict[str, int] = field(default_factory=dict)
    held_by_regulation: dict[str, int] = field(default_factory=dict)

    @property
    def removable(self) -> int:
        return self.expired - self.held


def _removable(parts: list[PartitionPlan], regulation: str) -> int:
    """Expired rows of one policy that are not under hold, over some partitions."""
    return sum(
        p.expired_by_regulation.get(regulation, 0) - p.held_by_regulation.get(regulation, 0)
        for p in parts
    )


@dataclass
class SoftDeletePlan:
    table: str
    past_grace: int  # soft-deleted before the cutoff
    held: int
    referenced: int

    @property
    def to_purge(self) -> int:
        return self.past_grace - self.held - self.referenced


@dataclass
class RunPlan:
    now: datetime
    cutoff: datetime  # soft-deleted before this: past the grace period
    grace_seconds: float
    keep_tables: bool
    note_removals: bool  # pbl_audit_note_partition_removal() exists
    max_delay_seconds: float = 0.0
    thin: str = "auto"
    partitions: list[PartitionPlan] = field(default_factory=list)
    soft_deleted: list[SoftDeletePlan] = field(default_factory=list)

    @property
    def whole(self) -> list[PartitionPlan]:
        return [p for p in self.partitions if p.action in ("drop", "detach")]

    @property
    def partial(self) -> list[PartitionPlan]:
        return [p for p in self.partitions if p.action == "purge"]

    @property
    def rewrites(self) -> list[PartitionPlan]:
        return [p for p in self.partitions if p.action == "rewrite"]

    @property
    def waiting(self) -> list[PartitionPlan]:
        return [p for p in self.partitions if p.action == "wait"]

    def total_work(self) -> int:
        """Rows the run expects to remove."""
        audit = sum(p.rows for p in self.whole) + sum(
            p.removable for p in self.partial + self.rewrites
        )
        return audit + sum(s.to_purge for s in self.soft_deleted)

    def counts(self) -> list[dict[str, Any]]:
        """Per table and policy: what is due, what is kept under hold or by references, and
        how it goes (whole partitions, row deletes)."""
        out: list[dict[str, Any]] = []
        regulations = sorted({r for p in self.partitions for r in p.expired_by_regulation})
        for regulation in regulations:
            whole = sum(p.expired_by_regulation.get(regulation, 0) for p in self.whole)
            rows = _removable(self.partial, regulation)
            rewritten = _removable(self.rewrites, regulation)
            held = sum(p.held_by_regulation.get(regulation, 0) for p in self.partitions)
            waiting = sum(p.expired_by_regulation.get(regulation, 0) for p in self.waiting)
            out.append(
                {
                    "table": "audit_logs",
                    "regulation": regulation,
                    "due": whole + rewritten + rows + held + waiting,
                    "held": held,
                    "referenced": 0,
                    "waiting": waiting,
                    "in_whole_partitions": whole,
                    "in_rewrites": rewritten,
                    "row_deletes": rows,
                    "to_remove": whole + rewritten + rows,
                }
            )
        for s in self.soft_deleted:
            out.append(
                {
                    "table": s.table,
                    "regulation": None,
                    "due": s.past_grace,
                    "held": s.held,
                    "referenced": s.referenced,
                    "waiting": 0,
                    "in_whole_partitions": 0,
                    "in_rewrites": 0,
                    "row_deletes": s.to_purge,
                    "to_remove": s.to_purge,
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "cutoff": self.cutoff,
            "grace_seconds": self.grace_seconds,
            "max_delay_seconds": self.max_delay_seconds,
            "keep_tables": self.keep_tables,
            "thin": self.thin,
            "counts": self.counts(),
            "partitions": [
                {
                    "name": p.name,
                    "range_from": p.range_from,
                    "range_to": p.range_to,
                    "rows": p.rows,
                    "expired": p.expired,
                    "held": p.held,
                    "newest_retention_until": p.newest_retention_until,
                    "action": p.action,
                }
                for p in self.partitions
                if p.action != "keep"
            ],
            "rows_to_remove": self.total_work(),
        }


def plan(
    conn: psycopg.Connection[Any],
    *,
    grace: timedelta = timedelta(days=30),
    keep_tables: bool = False,
    max_delay: timedelta = timedelta(0),
    thin: str = "auto",
) -> RunPlan:
    """What a run would do now: one read-only scan of every audit_logs partition (exact counts)
    and counts of soft-deleted rows past the grace period.

    max_delay: how long an expired row may stay past its retention_until so that its month goes
    as a whole (no hold in it, and every row in it expired by then) instead of row by row now;
    such partitions are planned as "wait". 0 (the default) deletes every expired row now.
    thin: how a month that keeps some rows loses its expired ones: "rewrite" (a past month is
    rebuilt from the rows it keeps), "delete" (batches through the purge function) or "auto"
    (rewrite when at least REWRITE_SHARE of its rows go). Never rewrites with keep_tables, the
    default partition or a month not yet over."""
    if thin not in THIN_METHODS:
        raise ConfigError(f"--thin {shown(thin)!r} is not one of {', '.join(THIN_METHODS)}")
    require_rls_bypass(conn, "pbl retention run")
    now = _now(conn)
    note = conn.execute(queries.load("get_partition_removal_note")).fetchone()
    rewrite = conn.execute(queries.load("get_partition_rewrite_function")).fetchone()
    can_rewrite = bool(rewrite and rewrite[0]) and not keep_tables and thin != "delete"
    result = RunPlan(
        now=now,
        cutoff=now - grace,
        grace_seconds=grace.total_seconds(),
        keep_tables=keep_tables,
        note_removals=bool(note and note[0]),
        max_delay_seconds=max_delay.total_seconds(),
        thin=thin,
    )
    keys = partitions.policy_keys(conn)
    held = partitions.held_applications(conn)
    longest = partitions.longest_retention_seconds(conn)
    for part in partitions.catalog(conn):
        counts = partitions.partition_counts(conn, part["name"], keys, held)
        rows = sum(c.rows for c in counts)
        expired = sum(c.expired for c in counts)
        held_rows = sum(c.held for c in counts)
        expired_held = sum(c.expired_held for c in counts)
        newest = max(
            (c.newest_retention_until for c in counts if c.newest_retention_until), default=None
        )
        oldest = min((c.oldest_expired for c in counts if c.oldest_expired), default=None)
        whole = not part["is_default"] and partitions.whole_partition_removable(
            rows=rows,
            expired=expired,
            held=held_rows,
            range_to=part["range_to"],
            now=now,
            longest_retention=longest,
        )
        if whole:
            action = "detach" if keep_tables else "drop"
        elif expired > expired_held:
            action = "purge"
            if (
                max_delay > timedelta(0)
                and not part["is_default"]
                and held_rows == 0
                and part["range_to"] is not None
                and part["range_to"] <= now
                and newest is not None
                and oldest is not None
                and newest - oldest <= max_delay
            ):
                action = "wait"  # the whole month goes by then: no row deletes now
            elif (
                can_rewrite
                and not part["is_default"]
                and part["range_from"] is not None
                and part["range_to"] is not None
                and part["range_to"] <= now
                and (thin == "rewrite" or expired - expired_held >= REWRITE_SHARE * rows)
            ):
                action = "rewrite"
        else:
            action = "keep"
        result.partitions.append(
            PartitionPlan(
                name=part["name"],
                is_default=part["is_default"],
                range_from=part["range_from"],
                range_to=part["range_to"],
                rows=rows,
                expired=expired,
                held=expired_held,
                newest_retention_until=newest,
                action=action,
                expired_by_regulation={c.regulation: c.expired for c in counts if c.expired},
                held_by_regulation={c.regulation: c.expired_held for c in counts if c.expired_held},
            )
        )
    for table in SOFT_DELETE_TABLES:
        row = conn.execute(
            queries.load(f"count_retention_soft_deleted_{table}"),
            {"cutoff": result.cutoff, "retained_only": True},
        ).fetchone()
        assert row is not None
        result.soft_deleted.append(SoftDeletePlan(table, int(row[0]), int(row[1]), int(row[2])))
    return result


def _now(conn: psycopg.Connection[Any]) -> datetime:
    row = conn.execute(queries.load("get_partition_clock")).fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


# --- the run: execute ------------------------------------------------------------------------


@dataclass
class RunReport:
    dry_run: bool
    started_at: datetime
    completed: bool = False
    stopped: str | None = None  # "max-runtime" when it stopped early
    dropped: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)  # the names they have now
    removed: dict[str, int] = field(default_factory=dict)  # audit rows per policy
    rows_in_removed_partitions: int = 0
    rows_deleted: int = 0  # audit rows deleted through pbl_purge_expired_audit_logs()
    rewritten: list[str] = field(default_factory=list)  # partitions rebuilt from kept rows
    rows_in_rewrites: int = 0  # audit rows those rewrites removed
    # planned rewrites thinned row by row instead: name -> busy (locks not had in time) or
    # refused (by the database: malformed chain hashes, the month no longer past)
    not_rewritten: dict[str, str] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)  # expired audit rows kept under hold
    waiting: dict[str, int] = field(default_factory=dict)  # expired, left for a whole drop
    soft_deleted: dict[str, dict[str, int]] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)  # lock not had in time: the next run retries
    batches: int = 0
    seconds: float = 0.0
    event_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """What the run's audit event records."""
        data = self.as_dict()
        data.pop("event_id")
        data["started_at"] = self.started_at.isoformat()
        return data


def execute(
    conn: psycopg.Connection[Any],
    the_plan: RunPlan,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_runtime: timedelta | None = None,
    lock_timeout: str = partitions.DEFAULT_LOCK_TIMEOUT,
    attempts: int = partitions.LOCK_ATTEMPTS,
    on_progress: ProgressSink | None = None,
) -> RunReport:
    """Carry out the_plan: whole partitions first (cheapest per row), then rewrites, then row
    deletes in the partitions that keep some rows, then soft-deleted rows; stop cleanly at
    max_runtime; at the end write one audit event (event_type retention.run) with the counts.
    Every transaction runs under READ COMMITTED whatever the session's default: each step locks
    first and then reads, which protects what it reads only if every statement sees what
    committed before it."""
    check_batch_size(batch_size)
    require_primary(conn, "pbl retention run")
    import psycopg

    previous = conn.isolation_level
    conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
    try:
        return _execute(
            conn,
            the_plan,
            batch_size=batch_size,
            max_runtime=max_runtime,
            lock_timeout=lock_timeout,
            attempts=attempts,
            on_progress=on_progress,
        )
    finally:
        conn.isolation_level = previous


def _execute(
    conn: psycopg.Connection[Any],
    the_plan: RunPlan,
    *,
    batch_size: int,
    max_runtime: timedelta | None,
    lock_timeout: str,
    attempts: int,
    on_progress: ProgressSink | None,
) -> RunReport:
    from pbl_db.errors import BusyError

    check_batch_size(batch_size)
    require_rls_bypass(conn, "pbl retention run")
    started = time.monotonic()
    deadline = None if max_runtime is None else started + max_runtime.total_seconds()
    report = RunReport(dry_run=False, started_at=datetime.now(UTC))
    total = the_plan.total_work()
    progress = on_progress or (lambda _d, _t: None)
    done = 0
    keys = partitions.policy_keys(conn)

    def out_of_time() -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            report.stopped = "max-runtime"
            return True
        return False

    def add(target: dict[str, int], counts: dict[str, int]) -> None:
        for key, n in counts.items():
            if n:
                target[key] = target.get(key, 0) + n

    try:
        purge = list(the_plan.partial)
        whole = the_plan.whole
        for first in range(0, len(whole), WHOLE_PER_TRANSACTION):
            if out_of_time():
                break
            group = whole[first : first + WHOLE_PER_TRANSACTION]
            try:
                removals = partitions.with_lock_retry(
                    conn,
                    functools.partial(_remove_whole, conn, the_plan, group, keys),
                    what=f"removing {', '.join(p.name for p in group)}",
                    lock_timeout=lock_timeout,
                    attempts=attempts,
                )
            except BusyError:
                report.busy.extend(p.name for p in group)
                continue
            for removal in removals:
                if removal.by_regulation is None:  # changed since the plan: row by row
                    purge.append(removal.part)
                    continue
                if removal.new_name:
                    report.detached.append(removal.new_name)
                else:
                    report.dropped.append(removal.part.name)
                add(report.removed, removal.by_regulation)
                n = sum(removal.by_regulation.values())
                report.rows_in_removed_partitions += n
                done += n
            progress(done, total)
        for part in the_plan.rewrites:
            if out_of_time():
                break
            try:
                outcome = partitions.with_lock_retry(
                    conn,
                    functools.partial(_rewrite, conn, part, lock_timeout, attempts),
                    what=f"rewriting {part.name}",
                    lock_timeout=lock_timeout,
                    attempts=attempts,
                )
            except BusyError:  # the swap's locks were not had in time: remove the rows anyway
                report.not_rewritten[part.name] = "busy"
                purge.append(part)
                continue
            if outcome is None:  # refused (malformed chain hashes, the month changed)
                report.not_rewritten[part.name] = "refused"
                purge.append(part)
                continue
            if not outcome:  # nothing was left to remove
                continue
            report.rewritten.append(part.name)
            removed = sum(outcome.values())
            add(report.removed, outcome)
            report.rows_in_rewrites += removed
            done += removed
            progress(done, total)
        for part in purge:
            if report.stopped:
                break
            after: str | None = None
            while not out_of_time():
                try:
                    row = partitions.with_lock_retry(
                        conn,
                        functools.partial(_purge_batch, conn, part.name, after, batch_size),
                        what=f"purging {part.name}",
                        lock_timeout=lock_timeout,
                        attempts=attempts,
                    )
                except BusyError:
                    report.busy.append(part.name)
                    break
                purged, last_event, by_regulation = row
                report.batches += 1
                report.rows_deleted += purged
                add(report.removed, by_regulation)
                done += purged
                progress(done, total)
                if purged < batch_size:
                    break
                after = last_event
        for table in SOFT_DELETE_TABLES:
            if report.stopped:
                break
            done = _purge_soft_deleted(
                conn,
                table,
                the_plan.cutoff,
                batch_size,
                report,
                out_of_time,
                lambda n: progress(n, total),
                done,
                lock_timeout,
                attempts,
            )
        report.completed = report.stopped is None and not report.busy
    except BaseException as exc:
        # record what was done before the failure, but never hide the failure itself
        with contextlib.suppress(Exception):
            report.stopped = f"error: {exc.__class__.__name__}"
            _finish(conn, the_plan, report, started)
        raise
    _finish(conn, the_plan, report, started)
    return report


def _finish(
    conn: psycopg.Connection[Any], the_plan: RunPlan, report: RunReport, started: float
) -> None:
    """Count what was left behind (held, referenced) and write the run's one audit event."""
    report.held = _held_after(the_plan)
    for p in the_plan.waiting:
        for key, n in p.expired_by_regulation.items():
            report.waiting[key] = report.waiting.get(key, 0) + n
    for table in SOFT_DELETE_TABLES:
        entry = report.soft_deleted.setdefault(table, {"purged": 0, "held": 0, "referenced": 0})
        row = conn.execute(
            queries.load(f"count_retention_soft_deleted_{table}"),
            {"cutoff": the_plan.cutoff, "retained_only": False},
        ).fetchone()
        if row is not None:
            entry["held"], entry["referenced"] = int(row[1]), int(row[2])
    report.seconds = time.monotonic() - started
    report.event_id = str(write_event(conn, "retention.run", _describe(report), report))


def _held_after(the_plan: RunPlan) -> dict[str, int]:
    held: dict[str, int] = {}
    for p in the_plan.partitions:
        for key, n in p.held_by_regulation.items():
            held[key] = held.get(key, 0) + n
    return held


def _purge_batch(
    conn: psycopg.Connection[Any], name: str, after: str | None, limit: int
) -> tuple[int, str | None, dict[str, int]]:
    """One pbl_purge_expired_audit_logs() batch in one partition: (purged, cursor, per policy)."""
    row = conn.execute(
        queries.load("purge_retention_partition_batch"),
        {"limit": limit, "partition": f"public.{name}", "after": after},
    ).fetchone()
    assert row is not None
    return int(row[0]), row[1], {k: int(v) for k, v in (row[2] or {}).items()}


def _delete_ids(
    conn: psycopg.Connection[Any],
    statement: str,
    ids: list[uuid.UUID],
    cutoff: datetime,
    lock_holds: bool = False,
) -> int:
    """Delete a batch by id. lock_holds (in a transaction): first freeze legal_holds until it
    commits, so that no hold is placed while the delete, which cannot see it, removes rows it
    covers (devices: nothing but the statement's own check ties them to a hold)."""
    if lock_holds:
        conn.execute(queries.load("lock_retention_holds"))
    return int(conn.execute(statement, {"ids": ids, "cutoff": cutoff}).rowcount)


@dataclass
class _Removal:
    part: PartitionPlan
    by_regulation: dict[str, int] | None = None  # None: not removable after all
    new_name: str | None = None  # detached: the name it has now


def _remove_whole(
    conn: psycopg.Connection[Any], the_plan: RunPlan, group: list[PartitionPlan], keys: list[str]
) -> list[_Removal]:
    """In the caller's transaction, for a group of partitions: freeze them and the holds, check
    again that every row is expired and none held, note each removal for the audit chain, then
    drop (or detach) them one after the other. The exclusive lock on audit_logs that DROP needs
    is taken only after every check, and held only for the DDL and the commit. A partition that
    fails the check is left (by_regulation None): the caller thins it row by row instead."""
    from psycopg import errors, sql

    conn.execute(queries.load("lock_retention_holds"))
    held = partitions.held_applications(conn)
    now = _now(conn)
    longest = partitions.longest_retention_seconds(conn)
    results = []
    for part in group:
        ident = partitions.ident(part.name)
        conn.execute(partitions.query("lock_retention_partition", partition=ident))
        if the_plan.note_removals:
            # the ledger function checks (every row expired, none held) as it notes: one scan
            try:
                with conn.transaction():
                    noted = conn.execute(
                        queries.load("note_partition_removal"),
                        {"partition": f"public.{part.name}"},
                    ).fetchone()
            except errors.ObjectNotInPrerequisiteState:
                results.append(_Removal(part))
                continue
            rows, blocking = int(noted[0]) if noted else -1, 0
            if rows != part.rows or rows == 0:  # rows came or went, or are not chained: count
                row = conn.execute(
                    partitions.query("count_partition_rows", partition=ident)
                ).fetchone()
                rows = int(row[0]) if row else 0
        else:
            row = conn.execute(
                partitions.query("count_retention_partition_check", partition=ident),
                {"held": held},
            ).fetchone()
            rows, blocking = (int(row[0]), int(row[1])) if row else (0, 1)
        removable = blocking == 0 and partitions.whole_partition_removable(
            rows=rows,
            expired=rows,
            held=0,
            range_to=part.range_to,
            now=now,
            longest_retention=longest,
        )
        if not removable:
            results.append(_Removal(part))
            continue
        by_regulation = dict(part.expired_by_regulation)
        if rows != part.rows:  # rows came or went since the plan: count them again
            counts = partitions.partition_counts(conn, part.name, keys, held)
            by_regulation = {c.regulation: c.rows for c in counts if c.rows}
        results.append(_Removal(part, by_regulation))
    going = [r for r in results if r.by_regulation is not None]
    # every other lock DROP needs first (waiting, if at all, for readers of old months and of
    # the default partition), so that the lock on audit_logs itself, which inserts queue
    # behind, is asked for last and held only for the DDL and the commit
    default = conn.execute(queries.load("get_partition_default")).fetchone() if going else None
    for name in [r.part.name for r in going] + ([default[0]] if default else []):
        conn.execute(
            partitions.query("lock_retention_partition_exclusive", partition=partitions.ident(name))
        )
    for removal in going:
        ident = partitions.ident(removal.part.name)
        if not the_plan.keep_tables:
            conn.execute(partitions.query("drop_partition_table", partition=ident))
            continue
        removal.new_name = _detached_name(conn, removal.part.name)
        conn.execute(partitions.query("detach_audit_partition", partition=ident))
        conn.execute(
            partitions.query(
                "rename_partition_table",
                partition=ident,
                new_name=sql.Identifier(removal.new_name),
            )
        )
    return results


def _rewrite(
    conn: psycopg.Connection[Any], part: PartitionPlan, lock_timeout: str, attempts: int
) -> dict[str, int] | None:
    """In the caller's transaction: rebuild one past month from the rows it keeps, with three
    database functions (0019). prepare copies the kept rows into a new table and readies it
    (indexes, a bounds CHECK) under a SHARE lock on the partition only; keys adds and validates
    the foreign keys (as the caller, who sees every tenant's rows); swap checks the holds and
    the rows again, notes the removed rows in the audit ledger and puts the new table in the
    old one's place, taking audit_logs last and only for the DDL and the commit. The swap
    alone is retried on a lock timeout (in a savepoint: the copy is kept), up to attempts
    times, then BusyError. Returns the removed rows per policy; {} when nothing was left to
    remove; None when the database refused (the caller thins the month row by row instead). A
    refusal or a BusyError changes nothing."""
    from psycopg import errors

    refused: tuple[type[Exception], ...] = (
        errors.DataCorrupted,
        errors.ObjectNotInPrerequisiteState,
        errors.InvalidParameterValue,
        errors.DuplicateTable,
        errors.CheckViolation,
        *_fk_refused(),  # a role that does not see every tenant's applications
    )
    new_name = f"{part.name[:54]}_rewrite"
    try:
        with conn.transaction():  # a savepoint: a refusal is undone, the caller's locks kept
            row = conn.execute(
                queries.load("rewrite_retention_partition"),
                {"partition": f"public.{part.name}", "new_table": new_name},
            ).fetchone()
            assert row is not None
            kept, removed, by_regulation = int(row[0]), int(row[1]), dict(row[2] or {})
            if removed == 0:
                raise _NothingToRemove
            conn.execute(queries.load("add_rewrite_partition_keys"), {"new_table": new_name})
            _wait_for_wal_flush(conn)
            partitions.with_lock_retry(
                conn,
                functools.partial(
                    conn.execute,
                    queries.load("swap_retention_partition"),
                    {"partition": f"public.{part.name}", "new_table": new_name, "kept": kept},
                ),
                what=f"swapping the rewritten {part.name} in",
                lock_timeout=lock_timeout,
                attempts=attempts,
            )
    except _NothingToRemove:
        return {}
    except refused:
        return None
    return {str(k): int(v) for k, v in by_regulation.items()}


def _wait_for_wal_flush(conn: psycopg.Connection[Any], limit: float = 1.0) -> None:
    """Wait (up to limit seconds) until the WAL the copy wrote is on disk but for its last
    megabyte, flushed by the WAL writer in the background (which flushes whenever a megabyte
    is pending: wal_writer_flush_after). Otherwise the swap's commit would flush megabytes of
    it while holding audit_logs exclusively, and every insert would wait for that fsync."""
    row = conn.execute(queries.load("get_wal_insert_lsn")).fetchone()
    if row is None:
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = conn.execute(
            queries.load("get_wal_flushed_past"), {"lsn": row[0], "slack": 1 << 20}
        ).fetchone()
        if done and done[0]:
            return
        time.sleep(0.01)


class _NothingToRemove(Exception):
    """Undoes a prepared rewrite of a month that has nothing left to remove."""


def _detached_name(conn: psycopg.Connection[Any], name: str) -> str:
    """<partition>_detached, or _detached_2, _3, ... when an archive of that month (detached by
    an earlier run, after rows for the month came back and expired again) still has the name."""
    for n in range(1, 1000):
        suffix = "_detached" if n == 1 else f"_detached_{n}"
        candidate = name[: 63 - len(suffix)] + suffix
        if not conn.execute(queries.load("get_partition_relkind"), {"name": candidate}).fetchone():
            return candidate
    raise OperationFailed(
        f"no free name for detaching {name}: {name}_detached ... _999 all exist",
        "archive and drop the old detached tables",
    )


def _purge_soft_deleted(
    conn: psycopg.Connection[Any],
    table: str,
    cutoff: datetime,
    batch_size: int,
    report: RunReport,
    out_of_time: Callable[[], bool],
    progress: Callable[[int], None],
    done: int,
    lock_timeout: str,
    attempts: int,
) -> int:
    """Delete `table`'s soft-deleted rows past the cutoff in id order, batch by batch. A batch
    a foreign key refuses (a reference the checks did not see, e.g. a detached archive) is
    retried row by row; the rows still refused are counted as referenced, never fatal."""

    from pbl_db.errors import BusyError

    entry = report.soft_deleted.setdefault(table, {"purged": 0, "held": 0, "referenced": 0})
    after = ZERO_UUID
    refused = 0
    while not out_of_time():
        ids = [
            r[0]
            for r in conn.execute(
                queries.load(f"list_retention_soft_deleted_{table}"),
                {"cutoff": cutoff, "after": after, "limit": batch_size},
            )
        ]
        if not ids:
            break
        after = ids[-1]
        statement = queries.load(f"delete_retention_soft_deleted_{table}")
        try:
            deleted = partitions.with_lock_retry(
                conn,
                functools.partial(
                    _delete_ids, conn, statement, ids, cutoff, lock_holds=table == "devices"
                ),
                what=f"purging soft-deleted {table}",
                lock_timeout=lock_timeout,
                attempts=attempts,
            )
        except BusyError:
            report.busy.append(table)
            break
        except _fk_refused():
            deleted = 0
            for one in ids:
                try:
                    deleted += _delete_ids(conn, statement, [one], cutoff)
                except _fk_refused():
                    refused += 1
        report.batches += 1
        entry["purged"] += deleted
        done += deleted
        progress(done)
        if len(ids) < batch_size:
            break
    entry["refused_by_foreign_key"] = entry.get("refused_by_foreign_key", 0) + refused
    return done


def _describe(report: RunReport) -> str:
    parts = [
        f"removed {sum(report.removed.values())} audit row(s)",
        f"{len(report.dropped)} partition(s) dropped",
    ]
    if report.rewritten:
        parts.append(f"{len(report.rewritten)} rewritten")
    if report.detached:
        parts.append(f"{len(report.detached)} detached")
    purged = sum(e.get("purged", 0) for e in report.soft_deleted.values())
    parts.append(f"{purged} soft-deleted row(s) purged")
    if report.stopped:
        parts.append(f"stopped early ({report.stopped})")
    if report.busy:
        parts.append(f"busy: {', '.join(report.busy)}")
    return "pbl retention run: " + ", ".join(parts)


# --- audit events ----------------------------------------------------------------------------


def system_tenant(conn: psycopg.Connection[Any]) -> uuid.UUID:
    """The inactive tenant `pbl-system` that pbl files its own cross-tenant events under
    (audit_logs.tenant_id is NOT NULL); made on first use."""
    from pbl_db.tenant import tenant_transaction

    with tenant_transaction(conn, SYSTEM_TENANT_ID):
        conn.execute(
            queries.load("ensure_retention_system_tenant"),
            {"id": SYSTEM_TENANT_ID, "slug": SYSTEM_TENANT_SLUG},
        )
        row = conn.execute(
            queries.load("get_retention_system_tenant"), {"id": SYSTEM_TENANT_ID}
        ).fetchone()
    if row is None:
        raise OperationFailed(
            f"cannot make pbl's system tenant: the slug {SYSTEM_TENANT_SLUG!r} is taken",
            f"rename the tenant with slug {SYSTEM_TENANT_SLUG!r}",
        )
    return SYSTEM_TENANT_ID


def write_event(
    conn: psycopg.Connection[Any],
    event_type: str,
    description: str,
    report: RunReport | None = None,
    *,
    data: dict[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """INSERT one compliance event (service_name pbl) into audit_logs; its id."""
    import json

    from psycopg.types.json import Jsonb

    from pbl_db import __version__
    from pbl_db.tenant import tenant_transaction

    tenant = tenant_id or system_tenant(conn)
    payload = report.summary() if report is not None else (data or {})
    with tenant_transaction(conn, tenant):
        row = conn.execute(
            queries.load("insert_retention_event"),
            {
                "tenant_id": tenant,
                "application_id": application_id,
                "event_type": event_type,
                "description": description,
                "version": __version__,
                "data": Jsonb(json.loads(json.dumps(payload, default=str))),
            },
        ).fetchone()
    assert row is not None
    event_id: uuid.UUID = row[0]
    return event_id


# --- legal holds -----------------------------------------------------------------------------


def _application(conn: psycopg.Connection[Any], application_id: uuid.UUID) -> tuple[Any, ...]:
    require_rls_bypass(conn, "legal holds")
    row = conn.execute(
        queries.load("get_hold_application"), {"application_id": application_id}
    ).fetchone()
    if row is None:
        raise ConfigError(
            f"no application {application_id}", "check the id (applications.id, a UUID)"
        )
    return tuple(row)


def hold(conn: psycopg.Connection[Any], application_id: uuid.UUID, reason: str) -> dict[str, Any]:
    """Place a legal hold on an application (tenant from the application) and record it as an
    audit event (retention.hold) in that tenant's trail."""
    require_primary(conn, "pbl retention hold")
    import psycopg
    from psycopg.rows import dict_row

    reason = _reason(reason)
    _, tenant_id, hold_id = _application(conn, application_id)
    if hold_id is not None:
        raise OperationFailed(
            f"application {application_id} is already under legal hold {hold_id}",
            "release it first to place a new one (`pbl retention release`)",
        )
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            placed = cur.execute(
                queries.load("insert_hold"),
                {"tenant_id": tenant_id, "application_id": application_id, "reason": reason},
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise OperationFailed(
            f"application {application_id} is already under legal hold",
            "release it first to place a new one (`pbl retention release`)",
        ) from None
    assert placed is not None
    placed["event_id"] = str(
        write_event(
            conn,
            "retention.hold",
            f"legal hold {placed['id']} placed: {reason}",
            data={"hold_id": placed["id"], "reason": reason},
            tenant_id=tenant_id,
            application_id=application_id,
        )
    )
    return dict(placed)


def release(
    conn: psycopg.Connection[Any], application_id: uuid.UUID, reason: str
) -> dict[str, Any]:
    """Release the application's active hold (the hold row stays, with the release beside it)
    and record it as an audit event (retention.release)."""
    require_primary(conn, "pbl retention release")
    from psycopg.rows import dict_row

    reason = _reason(reason)
    _, tenant_id, hold_id = _application(conn, application_id)
    if hold_id is None:
        raise OperationFailed(
            f"application {application_id} is not under legal hold",
            "`pbl retention holds` lists the active ones",
        )
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        released = cur.execute(
            queries.load("release_hold"), {"application_id": application_id, "reason": reason}
        ).fetchone()
    if released is None:
        raise OperationFailed(
            f"application {application_id} is not under legal hold (released meanwhile)",
            "`pbl retention holds` lists the active ones",
        )
    released["event_id"] = str(
        write_event(
            conn,
            "retention.release",
            f"legal hold {released['id']} released: {reason}",
            data={"hold_id": released["id"], "reason": reason},
            tenant_id=tenant_id,
            application_id=application_id,
        )
    )
    return dict(released)


def holds(conn: psycopg.Connection[Any], *, include_released: bool = False) -> list[dict[str, Any]]:
    """Legal holds, newest first (active only unless include_released)."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(queries.load("list_holds"), {"all": include_released}))


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise ConfigError("--reason must be 1 to 1000 characters")
    return reason
