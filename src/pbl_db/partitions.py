"""audit_logs monthly partitions: list them, make missing ones ahead of time, empty the default.

Partitions are `audit_logs_yYYYYmMM` on UTC month bounds (0007). DDL on a partition of
audit_logs takes locks that inserts wait for (CREATE ... PARTITION OF, DETACH and DROP: ACCESS
EXCLUSIVE on audit_logs and its default partition), so every DDL transaction here runs with a
short lock_timeout and is retried a few times with a pause: it never queues in front of the
application's inserts for longer than the timeout.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pbl_db import queries
from pbl_db.errors import BusyError, ConfigError, OperationFailed, RefusedError, shown
from pbl_db.replica import require_primary
from pbl_db.timeouts import normalise_timeout

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

T = TypeVar("T")

DEFAULT_LOCK_TIMEOUT = "100ms"
LOCK_ATTEMPTS = 5
RETRY_PAUSE = 0.2  # seconds, doubled after each lock timeout


def partition_name(month: date) -> str:
    """The name 0007's pbl_ensure_audit_partitions_between() gives a month's partition."""
    return f"audit_logs_y{month.year:04d}m{month.month:02d}"


def add_months(month: date, months: int) -> date:
    """The first day of the month `months` after month's (negative: before)."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    """UTC midnight of the first day of month's month (a partition's lower bound)."""
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def ident(name: str) -> sql.Identifier:
    """public.<name>, quoted."""
    from psycopg import sql

    return sql.Identifier("public", name)


def query(name: str, **parts: sql.Composable) -> sql.Composed:
    """queries/<name>.sql with {placeholders} filled by identifiers or literals."""
    from psycopg import sql

    return sql.SQL(queries.load(name)).format(**parts)


def with_lock_retry(
    conn: psycopg.Connection[Any],
    work: Callable[[], T],
    *,
    what: str,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    attempts: int = LOCK_ATTEMPTS,
) -> T:
    """Run work() in one transaction under lock_timeout; on a lock timeout roll back, pause and
    try again, up to attempts times, then raise BusyError. In autocommit mode each attempt is a
    transaction of its own; inside an open transaction it is a savepoint, so only work() is
    undone and retried."""
    import psycopg

    pause = RETRY_PAUSE
    timeout = normalise_timeout(lock_timeout)
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                try:
                    conn.execute(
                        queries.load("set_partition_lock_timeout"), {"lock_timeout": timeout}
                    )
                except psycopg.errors.InvalidParameterValue as exc:
                    raise ConfigError(
                        f"bad --lock-timeout {shown(lock_timeout)}: the server refused it "
                        f"({shown(exc.diag.message_primary or exc)})",
                        "use e.g. 100ms, 2s or 0 for none",
                    ) from None
                return work()
        except psycopg.errors.LockNotAvailable:
            if attempt == attempts:
                break
            time.sleep(pause)
            pause *= 2
    raise BusyError(
        f"{what}: could not get its locks within lock_timeout={timeout} in {attempts} attempts "
        "(long transactions on audit_logs hold them)",
        "retry later, or find the blocking sessions with `pbl locks`",
    )


def infinity_cursor(conn: psycopg.Connection[Any], *, dicts: bool = False) -> psycopg.Cursor[Any]:
    """A cursor that reads an 'infinity' timestamptz (say, a retention_until kept forever) as
    datetime.max (and '-infinity' as datetime.min) instead of failing; so too a value Python
    cannot hold (after year 9999, or BC), such as a partition bound of '10000-01-01'."""
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row) if dicts else conn.cursor()
    cur.adapters.register_loader("timestamptz", _infinity_loader())
    return cur


@cache
def _infinity_loader() -> type:
    from psycopg import DataError
    from psycopg.types.datetime import TimestamptzLoader

    class InfinityTimestamptzLoader(TimestamptzLoader):
        def load(self, data: Any) -> datetime:
            raw = bytes(data)
            if raw == b"infinity":
                return datetime.max.replace(tzinfo=UTC)
            if raw == b"-infinity":
                return datetime.min.replace(tzinfo=UTC)
            try:
                value: datetime = super().load(data)
            except DataError:  # "timestamp too large (after year 10K)" or "too small"
                early = raw.rstrip().endswith(b"BC")
                return (datetime.min if early else datetime.max).replace(tzinfo=UTC)
            return value

    return InfinityTimestamptzLoader


# --- listing ---------------------------------------------------------------------------------


def catalog(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """audit_logs' partitions from the catalog only (no table is read): name, is_default,
    range_from, range_to, rows_estimate (reltuples; None before the first ANALYZE), size."""
    with infinity_cursor(conn, dicts=True) as cur:
        return list(cur.execute(queries.load("list_audit_partitions")))


def default_partition(parts: Sequence[dict[str, Any]]) -> str | None:
    return next((p["name"] for p in parts if p["is_default"]), None)


def policy_keys(conn: psycopg.Connection[Any]) -> list[str]:
    """The regulations audit_retention_policies names (DEFAULT among them)."""
    return [row[0] for row in conn.execute(queries.load("list_retention_policy_keys"))]


def longest_retention_seconds(conn: psycopg.Connection[Any]) -> float:
    row = conn.execute(queries.load("get_retention_longest_policy")).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def held_applications(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    """Applications under an active legal hold."""
    return [row[0] for row in conn.execute(queries.load("list_hold_application_ids"))]


@dataclass
class RegulationCount:
    """One partition's rows under one retention policy."""

    regulation: str
    rows: int
    expired: int
    held: int
    expired_held: int
    newest_retention_until: datetime | None
    oldest_expired: datetime | None  # the earliest retention_until already past


def partition_counts(
    conn: psycopg.Connection[Any],
    name: str,
    policies: Sequence[str],
    held: Sequence[uuid.UUID],
) -> list[RegulationCount]:
    """Exact counts of one partition per policy (one scan of it)."""
    with infinity_cursor(conn) as cur:
        rows = cur.execute(
            query("count_audit_partition_retention", partition=ident(name)),
            {"policies": list(policies), "held": list(held)},
        ).fetchall()
    return [RegulationCount(*row) for row in rows]


def whole_partition_removable(
    *,
    rows: int,
    expired: int,
    held: int,
    range_to: datetime | None,
    now: datetime,
    longest_retention: float,
) -> bool:
    """Whether a monthly partition may go as a whole: its month is over, every row in it is past
    retention_until and none is under a legal hold. An empty one only once its month is older
    than the longest policy (no row a service could still file there would be retained)."""
    if range_to is None or range_to > now:
        return False
    if rows == 0:
        return (now - range_to).total_seconds() > longest_retention
    return expired == rows and held == 0


def list_partitions(conn: psycopg.Connection[Any], *, exact: bool = False) -> list[dict[str, Any]]:
    """Every partition of audit_logs, oldest first, the default partition last.

    Keys: name, is_default, range_from, range_to, rows, rows_exact, size_bytes, size, and with
    exact=True (one scan of every partition) newest_retention_until, expired_rows, held_rows,
    droppable. Without exact, rows is the planner's estimate (pg_class.reltuples, None before
    the first ANALYZE) and the retention columns are None. The default partition is always
    counted exactly (it should be empty; `non_empty_default` flags it when it is not).
    """
    parts = catalog(conn)
    policies = policy_keys(conn) if exact else []
    held = held_applications(conn) if exact else []
    now = _clock(conn)[0]
    longest = longest_retention_seconds(conn) if exact else 0.0
    result = []
    for part in parts:
        item: dict[str, Any] = {
            "name": part["name"],
            "is_default": part["is_default"],
            "range_from": part["range_from"],
            "range_to": part["range_to"],
            "rows": part["rows_estimate"],
            "rows_exact": False,
            "size_bytes": part["size_bytes"],
            "size": part["size"],
            "newest_retention_until": None,
            "expired_rows": None,
            "held_rows": None,
            "droppable": None,
            "non_empty_default": False,
        }
        if exact:
            counts = partition_counts(conn, part["name"], policies, held)
            rows = sum(c.rows for c in counts)
            expired = sum(c.expired for c in counts)
            held_rows = sum(c.held for c in counts)
            newest = [c.newest_retention_until for c in counts if c.newest_retention_until]
            item.update(
                rows=rows,
                rows_exact=True,
                newest_retention_until=max(newest) if newest else None,
                expired_rows=expired,
                held_rows=held_rows,
                droppable=not part["is_default"]
                and whole_partition_removable(
                    rows=rows,
                    expired=expired,
                    held=held_rows,
                    range_to=part["range_to"],
                    now=now,
                    longest_retention=longest,
                ),
            )
        elif part["is_default"]:
            row = conn.execute(
                query("count_partition_rows", partition=ident(part["name"]))
            ).fetchone()
            item.update(rows=int(row[0]) if row else 0, rows_exact=True)
        if part["is_default"]:
            item["non_empty_default"] = bool(item["rows"])
            item["droppable"] = False if exact else None
        result.append(item)
    return result


def _clock(conn: psycopg.Connection[Any]) -> tuple[datetime, date]:
    row = conn.execute(queries.load("get_partition_clock")).fetchone()
    assert row is not None
    return row[0], row[1]


# --- ensure ----------------------------------------------------------------------------------


@dataclass
class Blocked:
    """A month whose partition could not be made, and why."""

    name: str
    month: date
    reason: str
    rows_in_default: int = 0


@dataclass
class EnsureReport:
    first_month: date
    last_month: date
    dry_run: bool
    present: list[str] = field(default_factory=list)  # already there (or a partition covers it)
    created: list[str] = field(default_factory=list)  # made now (dry run: would be made)
    blocked: list[Blocked] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # lock not had in time: rerun

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure(
    conn: psycopg.Connection[Any],
    *,
    months_ahead: int = 3,
    months_back: int = 1,
    dry_run: bool = False,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    attempts: int = LOCK_ATTEMPTS,
) -> EnsureReport:
    """Make the missing monthly partitions from months_back months before the current UTC month
    to months_ahead after it, one month per transaction through
    pbl_ensure_audit_partitions_between(). A month whose rows already sit in the default
    partition is not made (CREATE would fail): it is reported as blocked, for
    `pbl partitions repair`. Idempotent."""
    require_primary(conn, "pbl partitions ensure")
    import psycopg

    if months_ahead < 0 or months_back < 0:
        raise ConfigError("--months-ahead and --months-back must be >= 0")
    if months_ahead + months_back > 12 * 50:
        raise ConfigError("at most 50 years of partitions at a time")
    _, this_month = _clock(conn)
    first, last = add_months(this_month, -months_back), add_months(this_month, months_ahead)
    report = EnsureReport(first, last, dry_run)
    parts = catalog(conn)
    default = default_partition(parts)
    ranges = [
        (p["range_from"], p["range_to"], p["name"])
        for p in parts
        if not p["is_default"] and p["range_from"] is not None and p["range_to"] is not None
    ]
    month = first
    while month <= last:
        name = partition_name(month)
        lo, hi = month_start(month), month_start(add_months(month, 1))
        covering = [n for a, b, n in ranges if a < hi and lo < b]
        month, current = add_months(month, 1), month
        if covering:
            report.present.extend(n for n in covering if n not in report.present)
            continue
        in_the_way = conn.execute(queries.load("get_partition_relkind"), {"name": name}).fetchone()
        if in_the_way:
            report.blocked.append(
                Blocked(
                    name,
                    current,
                    f"a relation named {name} exists but is not a partition of audit_logs: "
                    "rename or drop it",
                )
            )
            continue
        strays = _default_rows(conn, default, lo, hi)
        if strays:
            report.blocked.append(
                Blocked(
                    name,
                    current,
                    f"{strays} row(s) for this month sit in {default}: run `pbl partitions repair`",
                    strays,
                )
            )
            continue
        if dry_run:
            report.created.append(name)
            continue

        def create(day: date = current) -> list[str]:
            rows = conn.execute(
                queries.load("create_audit_partitions"), {"first": day, "last": day}
            ).fetchall()
            return [r[0] for r in rows]

        try:
            made = with_lock_retry(
                conn,
                create,
                what=f"creating {name}",
                lock_timeout=lock_timeout,
                attempts=attempts,
            )
        except BusyError:
            report.busy.append(name)
            continue
        except psycopg.errors.CheckViolation:
            # rows for the month reached the default partition after the check above
            report.blocked.append(
                Blocked(
                    name,
                    current,
                    f"rows for this month arrived in {default}: run `pbl partitions repair`",
                    _default_rows(conn, default, lo, hi),
                )
            )
            continue
        except psycopg.errors.InsufficientPrivilege:
            raise RefusedError(
                f"{conn.info.user} may not create audit_logs partitions",
                "connect as the migration role (a member of pbl_owner) or a superuser",
            ) from None
        report.created.extend(made)
        report.present.extend(n for n in [name] if n not in made)
    return report


def _default_rows(
    conn: psycopg.Connection[Any], default: str | None, lo: datetime, hi: datetime
) -> int:
    if default is None:
        return 0
    row = conn.execute(
        query("count_partition_default_month_rows", partition=ident(default)),
        {"lo": lo, "hi": hi},
    ).fetchone()
    return int(row[0]) if row else 0


# --- repair ----------------------------------------------------------------------------------


@dataclass
class Move:
    partition: str
    month: date
    rows: int
    created: bool = True


@dataclass
class RepairReport:
    default: str | None
    dry_run: bool
    rows: int = 0  # in the default partition before
    moves: list[Move] = field(default_factory=list)
    kept_in_default: int = 0  # rows with an infinite event_timestamp: no month holds them
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def repair(
    conn: psycopg.Connection[Any],
    *,
    dry_run: bool = False,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    attempts: int = LOCK_ATTEMPTS,
) -> RepairReport:
    """Move the rows of the default partition into monthly partitions, byte for byte and
    without firing row triggers, in one transaction: detach the default partition, build each
    month as a standalone table (LIKE audit_logs INCLUDING ALL), copy its rows in, attach it,
    attach a fresh default (holding only rows no month can take), drop the old one."""
    require_primary(conn, "pbl partitions repair")
    started = time.monotonic()
    parts = catalog(conn)
    default = default_partition(parts)
    report = RepairReport(default, dry_run)
    if default is None:
        return report
    months = _default_months(conn, default)
    report.rows = sum(n for _, n in months)
    report.kept_in_default = sum(n for m, n in months if m is None)
    plan = [(m, n) for m, n in months if m is not None]
    for month, n in plan:
        name = partition_name(month)
        if conn.execute(queries.load("get_partition_relkind"), {"name": name}).fetchone():
            raise RefusedError(
                f"{n} row(s) of {month:%Y-%m} sit in {default}, but a relation named {name} "
                "already exists outside audit_logs",
                f"rename or drop {name}, then run `pbl partitions repair` again",
            )
        report.moves.append(Move(name, month, n))
    if dry_run or not plan:
        report.seconds = time.monotonic() - started
        return report
    _require_owner(conn)

    def move() -> None:
        _move_default(conn, default, report)

    with_lock_retry(
        conn,
        move,
        what=f"moving rows out of {default}",
        lock_timeout=lock_timeout,
        attempts=attempts,
    )
    report.seconds = time.monotonic() - started
    return report


def _default_months(conn: psycopg.Connection[Any], default: str) -> list[tuple[date | None, int]]:
    rows = conn.execute(query("list_partition_default_months", partition=ident(default)))
    return [(row[0], int(row[1])) for row in rows]


def _require_owner(conn: psycopg.Connection[Any]) -> None:
    """Repair acts as owner of audit_logs, and attaching checks the foreign keys of the moved
    rows against tenants and applications, which row-level security would hide."""
    row = conn.execute(queries.load("get_partition_owner_rights")).fetchone()
    bypass = conn.execute(queries.load("get_rls_bypass")).fetchone()
    if not row or not row[0] or not bypass or not bypass[0]:
        raise RefusedError(
            f"{conn.info.user} may not move rows between audit_logs partitions",
            "connect as a superuser, or a member of pbl_owner with BYPASSRLS",
        )


def _move_default(conn: psycopg.Connection[Any], default: str, report: RepairReport) -> None:
    from psycopg import sql

    columns = sql.SQL(", ").join(
        sql.Identifier(r[0]) for r in conn.execute(queries.load("list_partition_columns"))
    )
    old = f"{default}_repair"[:63]
    conn.execute(query("detach_audit_partition", partition=ident(default)))
    conn.execute(
        query("rename_partition_table", partition=ident(default), new_name=sql.Identifier(old))
    )
    before = conn.execute(query("count_partition_rows", partition=ident(old))).fetchone()
    total = int(before[0]) if before else 0
    moved = 0
    # months found again inside the lock: rows may have arrived since the plan
    months = _default_months(conn, old)
    report.moves = []
    for month, _rows in months:
        if month is None:
            continue
        name = partition_name(month)
        lo, hi = month_start(month), month_start(add_months(month, 1))
        conn.execute(query("create_partition_like_audit_logs", partition=ident(name)))
        conn.execute(query("set_partition_table_owner", partition=ident(name)))
        copied = conn.execute(
            query("copy_partition_rows", target=ident(name), source=ident(old), columns=columns),
            {"lo": lo, "hi": hi},
        ).rowcount
        conn.execute(
            query(
                "attach_audit_partition",
                partition=ident(name),
                lo=sql.Literal(lo.isoformat()),
                hi=sql.Literal(hi.isoformat()),
            )
        )
        moved += copied
        report.moves.append(Move(name, month, copied))
    conn.execute(query("create_partition_like_audit_logs", partition=ident(default)))
    conn.execute(query("set_partition_table_owner", partition=ident(default)))
    kept = conn.execute(
        query("copy_partition_rows", target=ident(default), source=ident(old), columns=columns),
        {"lo": None, "hi": None},
    ).rowcount
    conn.execute(query("attach_audit_partition_default", partition=ident(default)))
    if moved + kept != total:
        raise OperationFailed(
            f"repair copied {moved + kept} of the {total} rows of {default}; nothing was changed",
            "report this: rerun with --debug",
        )
    conn.execute(query("drop_partition_table", partition=ident(old)))
    report.rows = total
    report.kept_in_default = kept
