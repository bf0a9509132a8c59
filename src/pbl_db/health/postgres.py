"""PostgreSQL checks: one connection, one snapshot query, a few follow-ups only when needed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import PblError
from pbl_db.health.config import Settings
from pbl_db.health.model import Check, Status, human_bytes

if TYPE_CHECKING:
    import psycopg

    from pbl_db.connection import Target

# Community end-of-life dates (https://www.postgresql.org/support/versioning/).
OLDEST_SUPPORTED = 13


def run(
    target: Target, settings: Settings, wanted: list[str], migrations_dir: Path | None
) -> list[Check]:
    """Run the wanted PostgreSQL checks; a failed connection makes them UNKNOWN."""
    from pbl_db.connection import connect

    started = time.perf_counter()
    try:
        conn = connect(target, connect_timeout=5)
    except PblError as exc:
        checks = [
            Check("connection", Status.CRIT, f"cannot connect: {exc.message}", hint=exc.hint or "")
        ]
        return checks + [
            Check(i, Status.UNKNOWN, "not run: no connection") for i in wanted if i != "connection"
        ]
    with conn:
        connect_ms = (time.perf_counter() - started) * 1000
        return _run_on(conn, settings, wanted, migrations_dir, connect_ms)


def _run_on(
    conn: psycopg.Connection[Any],
    settings: Settings,
    wanted: list[str],
    migrations_dir: Path | None,
    connect_ms: float,
) -> list[Check]:
    import psycopg

    params = {
        "idle_min_seconds": settings.option("idle_in_transaction.min_age"),
        "min_dead_rows": int(settings.option("dead_tuples.min_rows")),
        "min_dead_table_bytes": int(settings.option("dead_tuples.min_table_size")),
        "min_bloat_table_bytes": int(settings.option("bloat.min_table_size")),
    }
    try:
        started = time.perf_counter()
        conn.execute(queries.load("get_round_trip")).fetchone()
        rtt_ms = (time.perf_counter() - started) * 1000
    except psycopg.Error as exc:
        return _not_run(wanted, f"SELECT 1 failed: {_first_line(exc)}", connection_failed=True)
    try:
        row = conn.execute(queries.load("get_health_snapshot"), params).fetchone()
    except psycopg.Error as exc:
        # every check but connection reads the snapshot: UNKNOWN (Nagios 3), not a crash
        unknown = _not_run(wanted, f"the health snapshot query failed: {_first_line(exc)}")
        if "connection" in wanted:
            snap_rtt = {"rtt_ms": rtt_ms, "connect_ms": connect_ms}
            unknown.insert(0, check_connection(snap_rtt, settings, conn, migrations_dir))
        return unknown
    assert row is not None
    snap: dict[str, Any] = row[0]
    snap["rtt_ms"], snap["connect_ms"] = rtt_ms, connect_ms
    checks: list[Check] = []
    for check_id in wanted:
        try:
            checks.append(CHECKS[check_id](snap, settings, conn, migrations_dir))
        except PblError as exc:
            checks.append(Check(check_id, Status.UNKNOWN, exc.message, hint=exc.hint or ""))
        except psycopg.Error as exc:  # a check that cannot run must not hide the others
            checks.append(Check(check_id, Status.UNKNOWN, f"query failed: {_first_line(exc)}"))
    return checks


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _not_run(wanted: list[str], reason: str, *, connection_failed: bool = False) -> list[Check]:
    """The checks that could not run, UNKNOWN with the reason (connection CRIT if it broke)."""
    hint = "the server log has the failing statement; report it with the server version"
    checks = []
    for check_id in wanted:
        if check_id == "connection":
            if connection_failed:
                checks.append(Check("connection", Status.CRIT, reason, hint=hint))
            continue
        checks.append(Check(check_id, Status.UNKNOWN, f"not run: {reason}", hint=hint))
    return checks


CheckFn = Callable[[dict[str, Any], Settings, Any, Path | None], Check]


def _limit(check_id: str, settings: Settings, value: float, summary: str, **kw: Any) -> Check:
    th = settings.threshold(check_id)
    return Check(
        check_id, th.judge(value), summary, value, th.unit, th.warn, th.crit, below=th.below, **kw
    )


def _none(check_id: str, settings: Settings, summary: str, **kw: Any) -> Check:
    """Nothing to measure (no session, no standby...): OK whatever the limits."""
    th = settings.threshold(check_id)
    return Check(check_id, Status.OK, summary, 0.0, th.unit, th.warn, th.crit, below=th.below, **kw)


def _seconds(value: float) -> str:
    if value < 120:
        return f"{value:.1f}s"
    if value < 7200:
        return f"{value / 60:.1f}min"
    return f"{value / 3600:.1f}h"


def check_connection(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    rtt = round(snap["rtt_ms"], 3)
    # which node answered: with a multi-host URL, the one libpq chose
    server = f"{conn.info.host}:{conn.info.port}"
    recovery = snap.get("in_recovery")  # missing when the snapshot query itself failed
    role = "unknown role" if recovery is None else ("standby" if recovery else "primary")
    return _limit(
        "connection",
        s,
        rtt,
        f"round trip {rtt:.2f} ms (connect {snap['connect_ms']:.0f} ms) to {server}, {role}",
        hint="slow round trips: check the network path and the server's load",
        details={"connect_ms": round(snap["connect_ms"], 3), "server": server, "role": role},
    )


def check_version(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    num = snap["server_version_num"]
    major = num // 10000
    text = snap["server_version"]
    from pbl_db.health.eol import END_OF_LIFE, SOURCE, next_supported

    eol = END_OF_LIFE.get(major)
    details = {"major": major, "end_of_life": eol.isoformat() if eol else None, "source": SOURCE}
    if major < OLDEST_SUPPORTED:
        return Check(
            "version",
            Status.CRIT,
            f"PostgreSQL {text} is older than pbl supports (13)",
            float(major),
            hint="upgrade to PostgreSQL 15 or later",
            details=details,
        )
    today = date.today()
    if eol and today >= eol:
        target = next_supported(major, today)
        details["next_supported"] = target
        return Check(
            "version",
            Status.WARN,
            f"PostgreSQL {text}: major {major} reached end of life {eol}"
            + (f"; the next supported major is {target}" if target else ""),
            float(major),
            hint=f"plan a major upgrade to {target or 'a supported major'} or later "
            "(pg_upgrade or logical replication); dates: " + SOURCE,
            details=details,
        )
    return Check("version", Status.OK, f"PostgreSQL {text}", float(major), details=details)


def check_connections(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    used, limit = snap["connections"], snap["max_connections"]
    pct = round(100.0 * used / limit, 1)
    return _limit(
        "connections",
        s,
        pct,
        f"{used} of {limit} connections ({pct}%)",
        hint="use a pooler (pgbouncer) or raise max_connections (needs a restart)",
        details={"used": used, "max_connections": limit},
    )


def check_active(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    active = snap["active"]
    return _limit("active_sessions", s, active, f"{active} other sessions running a statement")


def check_idle_in_transaction(
    snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None
) -> Check:
    idle = snap["idle_in_transaction"]
    seconds = round(idle["seconds"], 1)
    if not idle["count"]:
        return _none("idle_in_transaction", s, "no session idle in transaction")
    return _limit(
        "idle_in_transaction",
        s,
        seconds,
        f"{idle['count']} idle in transaction, oldest pid {idle['pid']} for {_seconds(seconds)}",
        hint="fix the client that leaves transactions open; "
        "idle_in_transaction_session_timeout ends them",
        details=idle,
    )


def check_long_query(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    q = snap["longest_query"]
    if not q:
        return _none("long_query", s, "no other statement running")
    seconds = round(q["seconds"], 1)
    return _limit(
        "long_query",
        s,
        seconds,
        f"pid {q['pid']} running for {_seconds(seconds)}",
        hint="see `pbl activity`; `pbl activity cancel PID` stops it",
        details=q,
    )


def check_long_transaction(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    t = snap["longest_transaction"]
    if not t:
        return _none("long_transaction", s, "no other transaction open")
    seconds = round(t["seconds"], 1)
    return _limit(
        "long_transaction",
        s,
        seconds,
        f"pid {t['pid']} ({t['state']}) in a transaction for {_seconds(seconds)}",
        hint="long transactions hold back vacuum and locks; see `pbl activity`",
        details=t,
    )


def check_blocked(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    blocked = snap["blocked"]
    if not blocked:
        return _none("blocked_sessions", s, "no session waiting on a lock")
    first = blocked[0]
    states = {b["pid"]: b["state"] for b in first.get("blocker_states") or []}
    blockers = ", ".join(f"{pid} ({states.get(pid) or 'unknown'})" for pid in first["blockers"])
    return _limit(
        "blocked_sessions",
        s,
        len(blocked),
        f"{len(blocked)} blocked; pid {first['pid']} waits {_seconds(first['seconds'])} "
        f"on pid {blockers}",
        hint="see `pbl locks` for the tree; end the blocker with `pbl activity terminate PID`",
        details={"blocked": blocked},
    )


def check_wraparound(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    age = snap["xid_age"]
    return _limit(
        "wraparound",
        s,
        age,
        f"oldest transaction-ID age {age:,} in {snap['xid_oldest_database']} "
        f"({100.0 * age / 2**31:.1f}% of wraparound); multixact age {snap['mxid_age']:,}",
        hint="run VACUUM (FREEZE) on the oldest tables; look for what holds back the xmin horizon",
        details={"database": snap["xid_oldest_database"], "mxid_age": snap["mxid_age"]},
    )


def check_cache_hit(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    hit, read = snap["blks_hit"] or 0, snap["blks_read"] or 0
    total = hit + read
    if total < s.option("cache_hit.min_blocks"):
        th = s.threshold("cache_hit")
        return Check(
            "cache_hit",
            Status.OK,
            f"too little traffic to judge ({total} block reads)",
            None,
            th.unit,
            th.warn,
            th.crit,
            below=th.below,
        )
    pct = round(100.0 * hit / total, 2)
    return _limit(
        "cache_hit",
        s,
        pct,
        f"{pct}% of {total:,} block reads from shared buffers",
        hint="the working set does not fit: raise shared_buffers (see `pbl tune show`)",
    )


def _io_stats(snap: dict[str, Any], conn: Any) -> dict[str, Any]:
    """Checkpoint and buffer-write counters from the views of this major (one query, once)."""
    if "io" not in snap:
        version = snap["server_version_num"]
        name = "get_io_stats"
        if version >= 170000:  # pg_stat_checkpointer split from pg_stat_bgwriter
            name = "get_io_stats_17"
        elif version >= 160000:  # pg_stat_io
            name = "get_io_stats_16"
        row = conn.execute(queries.load(name)).fetchone()
        snap["io"] = row[0] if row else {}
    io: dict[str, Any] = snap["io"]
    return io


def check_checkpoints(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    """Requested (WAL-triggered, forced) against timed checkpoints: reported, not judged."""
    io = _io_stats(snap, conn)
    timed, requested = int(io["timed"] or 0), int(io["requested"] or 0)
    total = timed + requested
    details = {k: io[k] for k in ("checkpoints_view", "timed", "requested", "stats_reset")}
    if total == 0:
        return _none("checkpoints", s, "no checkpoint since the statistics reset", details=details)
    pct = round(100.0 * requested / total, 1)
    return _limit(
        "checkpoints",
        s,
        pct,
        f"{requested:,} of {total:,} checkpoints requested rather than timed ({pct}%, "
        f"{io['checkpoints_view']})",
        hint="many WAL-triggered checkpoints: raise max_wal_size (see `pbl tune show`); "
        "the server log says why each one started (log_checkpoints)",
        details=details,
    )


def check_backend_writes(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    """Shared buffers that client backends had to write themselves (judged from 16 on)."""
    io = _io_stats(snap, conn)
    mine = int(io["backend_writes"] or 0)
    total = mine + int(io["checkpointer_writes"] or 0) + int(io["bgwriter_writes"] or 0)
    details = {
        k: io[k]
        for k in (
            "writes_view", "bulk_included", "backend_writes", "bgwriter_writes",
            "checkpointer_writes", "stats_reset",
        )
    }  # fmt: skip
    th = s.threshold("backend_writes")
    pct = round(100.0 * mine / total, 1) if total else 0.0
    summary = f"{pct}% of {total:,} buffer writes by client backends ({io['writes_view']})"
    if io["bulk_included"]:
        # before 16 the counter mixes in bulk loads' ring buffers: a restore reads as 100 %
        return Check(
            "backend_writes", Status.OK, summary + "; before 16 bulk loads are counted in, "
            "so it is reported, not judged", pct, th.unit, th.warn, th.crit, details=details,
        )  # fmt: skip
    if total < s.option("backend_writes.min_buffers"):
        return Check(
            "backend_writes", Status.OK, f"too few buffer writes to judge ({total:,})",
            pct, th.unit, th.warn, th.crit, details=details,
        )  # fmt: skip
    return _limit(
        "backend_writes",
        s,
        pct,
        summary,
        hint="backends evict dirty buffers themselves: raise shared_buffers, or make the "
        "background writer busier (bgwriter_lru_maxpages, bgwriter_delay)",
        details=details,
    )


def check_dead_tuples(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    """The table autovacuum has left longest above its own threshold (tiny tables never count)."""
    dead = snap["dead"]
    if not dead:
        return _none(
            "dead_tuples",
            s,
            "no table of at least "
            f"{human_bytes(s.option('dead_tuples.min_table_size'))} above its autovacuum threshold",
        )
    waited = _seconds(dead["waited_seconds"])
    if dead["vacuumed_at"] is None:
        when = f"never vacuumed in the {waited} of statistics"
    else:
        when = f"last vacuumed {waited} ago"
    others = f" (+{dead['tables'] - 1} more)" if dead["tables"] > 1 else ""
    summary = (
        f"{dead['table']}: {when}; {dead['dead']:,} dead rows, "
        f"autovacuum threshold {dead['threshold']:,}{others}"
    )
    if dead["autovacuum_on"]:
        hint = (
            "autovacuum is not keeping up: look for long transactions and busy workers "
            f"(`pbl activity --all`), run `pbl maintenance vacuum --table {dead['table']}`, "
            "lower the table's autovacuum_vacuum_scale_factor"
        )
    else:
        summary += "; autovacuum is off for it"
        hint = (
            f"autovacuum never runs on it: ALTER TABLE {dead['table']} RESET (autovacuum_enabled) "
            "(or turn autovacuum on), or vacuum it on a schedule"
        )
    return _limit("dead_tuples", s, dead["waited_seconds"], summary, hint=hint, details=dead)


def check_bloat(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    b = snap["bloat"]
    if not b:
        return _none("bloat", s, "no table large enough to estimate")
    return _limit(
        "bloat",
        s,
        b["bloat_bytes"],
        f"{b['table']}: ~{human_bytes(b['bloat_bytes'])} of {human_bytes(b['bytes'])} "
        "estimated bloat",
        hint="an estimate from pg_stats: confirm with pgstattuple, reclaim with pg_repack",
        details=b,
    )


def check_invalid_indexes(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    names = snap["invalid_indexes"]
    summary = f"invalid: {', '.join(names)}" if names else "no invalid index"
    return _limit(
        "invalid_indexes",
        s,
        len(names),
        summary,
        hint="a failed CREATE INDEX CONCURRENTLY: `pbl maintenance reindex --concurrently`",
        details={"indexes": names},
    )


def check_sequences(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    seq = snap["sequence"]
    if not seq:
        return _none("sequences", s, "no sequence in use")
    pct = round(seq["pct"], 2)
    return _limit(
        "sequences",
        s,
        pct,
        f"{seq['name']} has used {pct}% of its range",
        hint="move the column and sequence to bigint before it runs out",
        details=seq,
    )


def check_archiving(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    a = snap["archiver"]
    if a["archive_mode"] == "off":
        return Check(
            "archiving",
            Status.SKIP,
            "archive_mode is off (no PITR)",
            hint="`pbl pitr enable --archive-dir DIR` turns it on",
        )
    th = s.threshold("archiving")
    import psycopg

    try:
        row = conn.execute(queries.load("count_ready_wal")).fetchone()
        backlog: int | None = row[0] if row else None
    except psycopg.Error:  # pg_ls_archive_statusdir needs pg_monitor
        backlog = None
    failed_at, archived_at = _timestamp(a["last_failed_time"]), _timestamp(a["last_archived_time"])
    # compared as instants: the JSON texts carry the session's UTC offset, which changes with DST
    failing = failed_at is not None and (archived_at is None or failed_at > archived_at)
    details = {**a, "backlog": backlog}
    if failing:
        return Check(
            "archiving",
            Status.CRIT,
            f"archive_command is failing (last failure {a['last_failed_wal']} at "
            f"{a['last_failed_time']}); {backlog if backlog is not None else '?'} segments waiting",
            backlog,
            th.unit,
            th.warn,
            th.crit,
            hint="see the server log for archive_command's error; `pbl pitr status`",
            details=details,
        )
    if backlog is None:
        return Check(
            "archiving",
            Status.UNKNOWN,
            f"archiving works ({a['archived_count']} archived); backlog unreadable",
            hint="grant pg_monitor to read the archive_status directory",
            details=details,
        )
    return _limit(
        "archiving",
        s,
        backlog,
        f"{a['archived_count']} archived, {a['failed_count']} failed, {backlog} waiting",
        hint="archive_command cannot keep up: check the archive's disk and network",
        details=details,
    )


def _timestamp(value: str | None) -> datetime | None:
    """A timestamptz as json_build_object writes it ('2024-10-27T02:10:00.5+01:00')."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # a form Python cannot read: the wall-clock time, offset ignored
        return datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)


def check_replication_lag(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    standby = snap.get("standby")
    if standby:  # this server is a standby: its own replay lag
        lag = round(standby["replay_lag"] or 0, 1)
        return _limit(
            "replication_lag",
            s,
            lag,
            f"this standby replays {_seconds(lag)} behind its primary "
            f"({human_bytes(standby['replay_lag_bytes'] or 0)} received, not replayed yet)",
            hint="check this standby's disk and CPU, and recovery conflicts "
            "(max_standby_streaming_delay)",
            details={"standby": standby},
        )
    standbys = snap["standbys"]
    if not standbys:
        return _none("replication_lag", s, "no standby connected", details={"standbys": []})
    worst = max(standbys, key=lambda x: x["replay_lag"] or 0)
    lag = round(worst["replay_lag"] or 0, 1)
    return _limit(
        "replication_lag",
        s,
        lag,
        f"{len(standbys)} standbys; slowest {worst['name']} ({worst['state']}) "
        f"lags {_seconds(lag)}",
        hint="check the standby's disk, network and recovery conflicts",
        details={"standbys": standbys},
    )


def check_replication_slots(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    slots = snap["inactive_slots"]
    if not slots:
        return _none("replication_slots", s, "no inactive replication slot", details={"slots": []})
    worst = max(slots, key=lambda x: x["retained_bytes"] or 0)
    held = worst["retained_bytes"] or 0
    return _limit(
        "replication_slots",
        s,
        held,
        f"{len(slots)} inactive slots; {worst['name']} holds {human_bytes(held)} of WAL",
        hint="an inactive slot keeps WAL forever: reconnect its consumer or "
        "pg_drop_replication_slot() it",
        details={"slots": slots},
    )


def check_standby(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    standby = snap.get("standby")
    if not standby:
        return Check("standby", Status.SKIP, "not a standby")
    conflicts = standby["conflicts"] or 0
    noted = f"; {conflicts} queries cancelled by recovery conflicts since the statistics reset"
    if standby["receiver"] is None and standby.get("receiver_running"):
        return Check(
            "standby",
            Status.UNKNOWN,
            "a WAL receiver runs, but its state needs pg_read_all_stats" + noted,
            hint="GRANT pg_monitor TO the monitoring role",
            details={"standby": standby},
        )
    if standby["receiver"] != "streaming":
        return Check(
            "standby",
            Status.CRIT,
            f"WAL receiver is {standby['receiver'] or 'not running'}: this standby does not "
            "follow its primary" + noted,
            hint="check primary_conninfo, the primary's pg_hba.conf (replication) and both logs",
            details={"standby": standby},
        )
    return Check(
        "standby",
        Status.OK,
        f"WAL receiver streaming from {standby['upstream']}" + noted,
        details={"standby": standby},
    )


def check_database_size(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    size = snap["database_size"]
    return _limit("database_size", s, size, f"{human_bytes(size)}")


def check_migrations(snap: dict[str, Any], s: Settings, conn: Any, mdir: Path | None) -> Check:
    from pbl_db.migrate.state import status_on

    if mdir is None:
        return Check("migrations", Status.SKIP, "no migrations directory")
    statuses = status_on(conn, mdir)
    pending = [m.id for m in statuses if m.state == "pending"]
    drifted = [m.id for m in statuses if m.state in ("drifted", "missing")]
    applied = sum(1 for m in statuses if m.state == "applied")
    details = {"applied": applied, "pending": pending, "drifted": drifted}
    if drifted:
        return Check(
            "migrations",
            Status.CRIT,
            f"drifted or missing: {', '.join(drifted)}",
            float(len(drifted)),
            "count",
            hint="`pbl migrate status` explains; restore the files or `pbl migrate accept`",
            details=details,
        )
    if pending:
        return Check(
            "migrations",
            Status.WARN,
            f"{len(pending)} pending: {', '.join(pending[:3])}"
            + (" ..." if len(pending) > 3 else ""),
            float(len(pending)),
            "count",
            hint="run `pbl migrate`",
            details=details,
        )
    return Check(
        "migrations", Status.OK, f"{applied} applied, none pending", 0.0, "count", details=details
    )


_BOUND = re.compile(r"FROM \('(\d{4}-\d{2}-\d{2})[^']*'\) TO \('(\d{4}-\d{2}-\d{2})[^']*'\)")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def check_audit_partitions(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    if not snap["audit_logs"]:
        return Check("audit_partitions", Status.SKIP, "no audit_logs table (not migrated)")
    ranges = []
    default = None
    for part in snap["audit_partitions"]:
        if part["bound"] == "DEFAULT":
            default = part["name"]
            continue
        match = _BOUND.search(part["bound"])
        if match:
            ranges.append((date.fromisoformat(match[1]), date.fromisoformat(match[2])))
    this_month = date.fromisoformat(snap["now_utc_month"])
    ahead = 0
    while ahead < 120 and any(lo <= _add_months(this_month, ahead + 1) < hi for lo, hi in ranges):
        ahead += 1
    covered_now = any(lo <= this_month < hi for lo, hi in ranges)
    strays = False
    if default:
        row = conn.execute(queries.load("count_default_audit_rows")).fetchone()
        strays = bool(row and row[0])
    th = s.threshold("audit_partitions")
    status = th.judge(ahead) if covered_now else Status.CRIT
    summary = (
        f"partitions through {ahead} months ahead"
        if covered_now
        else "no partition for the current month: inserts land in the default partition"
    )
    if strays:
        status = max(status, Status.WARN, key=lambda x: x.severity)
        summary += f"; rows sit in {default}"
    return Check(
        "audit_partitions",
        status,
        summary,
        float(ahead),
        th.unit,
        th.warn,
        th.crit,
        below=th.below,
        hint="`pbl partitions ensure` makes them; rows in the default partition: "
        "`pbl partitions repair`",
        details={
            "months_ahead": ahead,
            "current_month": covered_now,
            "default_partition_rows": strays,
        },
    )


def check_pg_stat_statements(
    snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None
) -> Check:
    preloaded = "pg_stat_statements" in [x.strip() for x in (snap["preload"] or "").split(",")]
    if snap["pgss_installed"] and preloaded:
        return Check("pg_stat_statements", Status.OK, "installed and preloaded")
    if not snap["pgss_available"]:
        return Check(
            "pg_stat_statements",
            Status.WARN,
            "not available on this server",
            hint="install the contrib package (Debian postgresql-contrib); "
            "`pbl slow-queries --from-log` works without it",
        )
    if not preloaded:
        return Check(
            "pg_stat_statements",
            Status.WARN,
            "not in shared_preload_libraries",
            hint="`pbl slow-queries enable` states the change and the restart it needs",
        )
    return Check(
        "pg_stat_statements",
        Status.WARN,
        "preloaded but not created in this database",
        hint="`pbl slow-queries enable` creates the extension",
    )


def check_tenant_quotas(snap: dict[str, Any], s: Settings, conn: Any, _m: Path | None) -> Check:
    """WARN from 90 % of a quota: the tenant will soon be refused (a matter for the account
    owner, not a page at night: never CRIT unless configured)."""
    if not snap.get("tenant_quotas"):
        return Check("tenant_quotas", Status.SKIP, "no quota counters (migration 0022) readable")
    if snap.get("tenants_limited"):
        return Check(
            "tenant_quotas",
            Status.UNKNOWN,
            f"{conn.info.user} is subject to row-level security and sees one tenant at most",
            hint="run health as a superuser or BYPASSRLS role for this check",
        )
    th = s.threshold("tenant_quotas")
    rows = conn.execute(queries.load("list_tenant_quota_usage")).fetchall()
    if not rows:
        return _none("tenant_quotas", s, "no tenants")
    full = [r for r in rows if th.judge(float(r[4])) is not Status.OK]
    worst = rows[0]
    shown = full[:3] or [worst]
    summary = "; ".join(f"{r[0]}: {r[1]} {r[2]:,}/{r[3]:,} ({float(r[4]):.0f}%)" for r in shown)
    if len(full) > 3:
        summary += f"; and {len(full) - 3} more"
    return _limit(
        "tenant_quotas",
        s,
        round(float(worst[4]), 1),
        summary,
        hint="`pbl tenants usage` lists them; raise with `pbl tenants update --max-...`",
        details={
            "at_or_above_warn": [
                {"tenant": r[0], "quota": r[1], "used": r[2], "limit": r[3],
                 "percent": round(float(r[4]), 1)}
                for r in full
            ]
        },
    )  # fmt: skip


CHECKS: dict[str, CheckFn] = {
    "connection": check_connection,
    "version": check_version,
    "connections": check_connections,
    "active_sessions": check_active,
    "idle_in_transaction": check_idle_in_transaction,
    "long_query": check_long_query,
    "long_transaction": check_long_transaction,
    "blocked_sessions": check_blocked,
    "wraparound": check_wraparound,
    "cache_hit": check_cache_hit,
    "checkpoints": check_checkpoints,
    "backend_writes": check_backend_writes,
    "dead_tuples": check_dead_tuples,
    "bloat": check_bloat,
    "invalid_indexes": check_invalid_indexes,
    "sequences": check_sequences,
    "archiving": check_archiving,
    "replication_lag": check_replication_lag,
    "replication_slots": check_replication_slots,
    "standby": check_standby,
    "database_size": check_database_size,
    "migrations": check_migrations,
    "audit_partitions": check_audit_partitions,
    "pg_stat_statements": check_pg_stat_statements,
    "tenant_quotas": check_tenant_quotas,
}
