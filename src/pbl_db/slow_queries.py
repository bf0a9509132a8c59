"""pg_stat_statements: the top statements, enabling it, resetting it, snapshots and deltas.

The view's columns follow the installed *extension* version, not the server's: total_time and
mean_time became total_exec_time and mean_exec_time in 1.8 (PostgreSQL 13), blk_read_time and
blk_write_time became shared_blk_read_time / shared_blk_write_time (plus local_*) in 1.11
(PostgreSQL 17), and a cluster upgraded with pg_upgrade keeps the old version until
`ALTER EXTENSION pg_stat_statements UPDATE`. So every query here is built with psycopg.sql from
the columns the catalog says the view has.

Times are milliseconds. total_ms = execution + planning time (planning is 0 unless
pg_stat_statements.track_planning is on); mean_ms = total_ms / calls; io_ms = time spent reading
and writing blocks (0 unless track_io_timing is on).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from pbl_db import queries
from pbl_db.errors import ConfigError, RefusedError, shown
from pbl_db.server_settings import SettingChange, alter_system

ORDER_KEYS = {"total": "total_ms", "mean": "mean_ms", "calls": "calls", "io": "io_ms"}
EXTENSION = "pg_stat_statements"
# block I/O time columns by extension version: 1.8-1.10 blk_*; 1.10+ temp_blk_*; 1.11+ shared/local
IO_COLUMNS = (
    "blk_read_time",
    "blk_write_time",
    "shared_blk_read_time",
    "shared_blk_write_time",
    "local_blk_read_time",
    "local_blk_write_time",
    "temp_blk_read_time",
    "temp_blk_write_time",
)
REQUIRED_COLUMNS = ("userid", "dbid", "queryid", "query", "calls", "rows")
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|min|h)?\s*$", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}
_INT_MAX = 2**31 - 1
MAX_TOP = 100_000
MAX_MIN_CALLS = 2**63 - 1  # calls (and snapshot ids) are bigints
_OVERRIDING_SOURCES = ("database", "user", "database user", "client", "session")


class StatementsUnavailable(ConfigError):
    """pg_stat_statements cannot be read in this database (exit code 2); the hint says why."""


@dataclass(frozen=True)
class ExtensionState:
    """What the catalog says about pg_stat_statements for this database and server."""

    database: str
    dbid: int
    available_version: str | None  # None: not installed on the server (no contrib)
    installed_version: str | None  # None: no CREATE EXTENSION in this database
    schema: str | None
    columns: tuple[str, ...]
    preload: tuple[str, ...]  # shared_preload_libraries as running
    preload_pending: bool  # shared_preload_libraries changed, waiting for a restart
    track_io_timing: bool
    track: str | None  # pg_stat_statements.track (None when the library is not loaded)
    superuser: bool

    @property
    def preloaded(self) -> bool:
        return EXTENSION in self.preload

    @property
    def version(self) -> tuple[int, ...]:
        return version_tuple(self.installed_version or "0")


def version_tuple(text: str) -> tuple[int, ...]:
    """'1.10' -> (1, 10)."""
    return tuple(int(p) for p in re.findall(r"\d+", text))


def preload_list(setting: str) -> tuple[str, ...]:
    """shared_preload_libraries as a list of library names."""
    return tuple(p.strip().strip('"').strip() for p in setting.split(",") if p.strip())


def extension_state(conn: psycopg.Connection[Any]) -> ExtensionState:
    """One round trip: the extension on the server and here, the view's columns, preloading."""
    row = conn.cursor(row_factory=dict_row).execute(queries.load("get_statements_state")).fetchone()
    assert row is not None
    return ExtensionState(
        database=str(row["database"]),
        dbid=int(row["dbid"]),
        available_version=row["available_version"],
        installed_version=row["installed_version"],
        schema=row["schema"],
        columns=tuple(row["columns"] or ()),
        preload=preload_list(str(row["preload"] or "")),
        preload_pending=bool(row["preload_pending"]),
        track_io_timing=str(row["track_io_timing"]) == "on",
        track=row["track"],
        superuser=bool(row["superuser"]),
    )


def unavailable_reason(state: ExtensionState) -> StatementsUnavailable | None:
    """Why the view cannot be read here, as the one-line error with its fix; None if it can."""
    fallback = "or report from the server log with --from-log FILE"
    if state.available_version is None:
        return StatementsUnavailable(
            "pg_stat_statements is not installed on this server (no contrib package; the "
            "embedded server has none)",
            f"install the server's contrib package (Debian: postgresql-contrib) {fallback}",
        )
    if not state.preloaded:
        pending = " (a change is waiting for a restart)" if state.preload_pending else ""
        return StatementsUnavailable(
            f"pg_stat_statements is not in shared_preload_libraries{pending}",
            f"`pbl slow-queries enable` prints the change and the restart it needs, {fallback}",
        )
    if state.installed_version is None:
        return StatementsUnavailable(
            f"the pg_stat_statements extension is not created in database {state.database}",
            f"run `pbl slow-queries enable` as a superuser (CREATE EXTENSION pg_stat_statements), "
            f"{fallback}",
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in state.columns]
    if not ({"total_exec_time", "total_time"} & set(state.columns)):
        missing.append("total_exec_time")
    if missing:
        return StatementsUnavailable(
            f"pg_stat_statements {state.installed_version} in {state.schema} has no column "
            f"{', '.join(missing)}",
            "ALTER EXTENSION pg_stat_statements UPDATE (as a superuser)",
        )
    return None


def require(conn: psycopg.Connection[Any]) -> ExtensionState:
    """The extension state, or StatementsUnavailable naming what is missing and the fix."""
    state = extension_state(conn)
    problem = unavailable_reason(state)
    if problem is not None:
        raise problem
    return state


def column_expressions(columns: Sequence[str]) -> dict[str, sql.Composable]:
    """The view's columns -> the expressions the queries read (exec_ms, plan_ms, io_ms, ...)."""
    present = set(columns)

    def col(name: str) -> sql.Composable:
        return sql.Identifier("s", name)

    io = [col(c) for c in IO_COLUMNS if c in present]
    return {
        "exec_ms": col("total_exec_time" if "total_exec_time" in present else "total_time"),
        "plan_ms": col("total_plan_time") if "total_plan_time" in present else sql.SQL("0"),
        "io_ms": sql.SQL("(") + sql.SQL(" + ").join(io) + sql.SQL(")") if io else sql.SQL("0"),
        "toplevel": col("toplevel") if "toplevel" in present else sql.SQL("true"),
        "stats_since": col("stats_since")
        if "stats_since" in present
        else sql.SQL("NULL::timestamptz"),
    }


def _view(state: ExtensionState, name: str = "pg_stat_statements") -> sql.Identifier:
    assert state.schema is not None
    return sql.Identifier(state.schema, name)


def _query(name: str, state: ExtensionState, **extra: sql.Composable) -> sql.Composed:
    return sql.SQL(queries.load(name)).format(
        **column_expressions(state.columns), view=_view(state), **extra
    )


def _check_order(order_by: str) -> sql.Composable:
    if order_by not in ORDER_KEYS:
        raise ConfigError(
            f"--order-by {shown(repr(order_by))} is not known",
            f"use one of {', '.join(ORDER_KEYS)}",
        )
    return sql.Identifier("r", ORDER_KEYS[order_by])


def _check_counts(top: int, min_calls: int) -> None:
    if not 1 <= top <= MAX_TOP:
        raise ConfigError(f"--top must be between 1 and {MAX_TOP:,}", "use e.g. --top 10")
    if not 0 <= min_calls <= MAX_MIN_CALLS:
        raise ConfigError(
            f"--min-calls must be between 0 and {MAX_MIN_CALLS:,}", "use e.g. --min-calls 5"
        )


@dataclass
class Snapshot:
    """A stored copy of this database's pg_stat_statements counters."""

    id: int
    label: str | None
    taken_at: datetime
    taken_by: str
    dbid: int
    extension_version: str
    stats_reset: datetime | None
    dealloc: int | None
    statements: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "taken_at": self.taken_at.isoformat(),
            "taken_by": self.taken_by,
            "extension_version": self.extension_version,
            "statements": self.statements,
        }


@dataclass
class Report:
    """Ranked statements, what they were measured over, and notes for the operator."""

    rows: list[dict[str, Any]]
    database: str
    extension_version: str
    order_by: str
    since: Snapshot | None = None
    notes: list[str] = field(default_factory=list)


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


# pg_stat_statements keeps utility statements as they were sent (PostgreSQL 13-15 replace no
# constant in them): CREATE/ALTER ROLE ... PASSWORD 'x', USER MAPPING ... OPTIONS (password 'x'),
# SUBSCRIPTION ... CONNECTION '... password=x'. Reports mask those values.
_PASSWORD_LITERAL = re.compile(
    r"\b(password)(\s+)(?:[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\$(\w*)\$.*?\$\3\$)",
    re.IGNORECASE | re.DOTALL,
)
_CONNINFO_PASSWORD = re.compile(r"\b(password\s*=\s*)(?:''(?:[^']|'''')*''|[^\s']+)", re.I)
MASK = "********"


def redact_secrets(text: str) -> str:
    """The statement with password values masked (the rest as pg_stat_statements has it)."""
    if "password" not in text.lower():
        return text
    text = _PASSWORD_LITERAL.sub(rf"\1\2'{MASK}'", text)
    return _CONNINFO_PASSWORD.sub(rf"\g<1>{MASK}", text)


def _row(rank: int, raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "rank": rank,
        "queryid": raw["queryid"],
        "user": raw["username"],
        "calls": int(raw["calls"]),
        "total_ms": _round(raw["total_ms"]),
        "mean_ms": _round(raw["mean_ms"]),
        "rows": int(raw["rows"]),
        "share_pct": _round(raw["share_pct"], 2),
        "io_ms": _round(raw["io_ms"]),
        "exec_ms": _round(raw["exec_ms"]),
        "plan_ms": _round(raw["plan_ms"]),
        "toplevel": bool(raw["toplevel"]),
        "new": bool(raw["is_new"]),
        "reset": bool(raw["restarted"]),
        "query": redact_secrets(raw["query"] or ""),
    }


def report(
    conn: psycopg.Connection[Any],
    *,
    top: int = 10,
    order_by: str = "total",
    min_calls: int = 1,
    since: str | None = None,
) -> Report:
    """The top statements of this database now, or their delta since a snapshot (id or label)."""
    order_key = _check_order(order_by)
    _check_counts(top, min_calls)
    if since is not None:
        _snapshot_params(since)
    state = require(conn)
    notes: list[str] = []
    snapshot: Snapshot | None = None
    if since is None:
        source = _query("list_current_statements", state)
    else:
        snapshot = find_snapshot(conn, since)
        if snapshot.dbid != state.dbid:
            raise RefusedError(
                f"snapshot {snapshot.id} was taken in another incarnation of database "
                f"{state.database} (oid {snapshot.dbid}, now {state.dbid}): its counters do not "
                "apply",
                "take a new snapshot with `pbl slow-queries snapshot`",
            )
        notes.extend(_reset_notes(conn, state, snapshot))
        source = _query("list_statements_delta", state)
    ranking = sql.SQL(queries.load("list_top_statements")).format(
        source=source, order_key=order_key
    )
    params = {
        "dbid": state.dbid,
        "top": top,
        "min_calls": min_calls,
        "snapshot_id": snapshot.id if snapshot else None,
    }
    try:
        raw = conn.cursor(row_factory=dict_row).execute(ranking, params).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState as exc:
        raise StatementsUnavailable(
            f"pg_stat_statements cannot be read: {str(exc).splitlines()[0]}",
            "add it to shared_preload_libraries and restart (`pbl slow-queries enable` says how)",
        ) from None
    except psycopg.errors.UndefinedTable:
        raise _no_snapshot_table() from None
    rows = [_row(i, r) for i, r in enumerate(raw, 1)]
    if snapshot is not None and any(r["reset"] for r in rows):
        notes.append(
            "statements marked reset had lower counters than in the snapshot (a reset or an "
            "eviction since): their numbers count from that point, not from the snapshot"
        )
    if order_by == "io" and not state.track_io_timing:
        notes.append("track_io_timing is off: io time is 0 for every statement")
    if any(r["queryid"] is None for r in rows):
        notes.append(
            "some statements belong to other roles and are hidden (<insufficient privilege>): "
            "connect as a member of pg_read_all_stats to see them"
        )
    if state.track == "none":
        notes.append("pg_stat_statements.track is 'none': no statements are being recorded")
    return Report(rows, state.database, str(state.installed_version), order_by, snapshot, notes)


def top(
    conn: psycopg.Connection[Any], *, top: int = 10, order_by: str = "total", min_calls: int = 1
) -> list[dict[str, Any]]:
    """The top statements of this database (keys: queryid, query, calls, total_ms, mean_ms,
    rows, share_pct, io_ms, ...). Raises StatementsUnavailable when the view can't be read."""
    return report(conn, top=top, order_by=order_by, min_calls=min_calls).rows


# --- snapshots ------------------------------------------------------------------------------


def _no_snapshot_table() -> ConfigError:
    return ConfigError(
        "the snapshot table pbl_statement_snapshots is missing in this database",
        "run `pbl migrate` (migration 0012_statement_snapshots)",
    )


def _snapshot_privilege() -> RefusedError:
    return RefusedError(
        "no privilege on pbl_statement_snapshots",
        "connect as a member of pbl_owner (or a superuser) to take or delete snapshots",
    )


def _info(conn: psycopg.Connection[Any], state: ExtensionState) -> tuple[int | None, Any]:
    """(dealloc, stats_reset) from pg_stat_statements_info, (None, None) before 1.9."""
    if state.version < (1, 9):
        return None, None
    query = sql.SQL(queries.load("get_statements_info")).format(
        info=_view(state, "pg_stat_statements_info")
    )
    row = conn.execute(query).fetchone()
    return (None, None) if row is None else (int(row[0]), row[1])


def _reset_notes(
    conn: psycopg.Connection[Any], state: ExtensionState, snapshot: Snapshot
) -> list[str]:
    dealloc, stats_reset = _info(conn, state)
    notes = []
    if (
        stats_reset is not None
        and snapshot.stats_reset is not None
        and stats_reset > snapshot.stats_reset
    ):
        notes.append(
            f"pg_stat_statements was reset at {stats_reset:%Y-%m-%d %H:%M:%S %Z}, after "
            f"snapshot {snapshot.id}: the numbers count from the reset"
        )
    if dealloc is not None and snapshot.dealloc is not None and dealloc > snapshot.dealloc:
        notes.append(
            f"pg_stat_statements evicted entries {dealloc - snapshot.dealloc} time(s) since the "
            "snapshot (pg_stat_statements.max is full): evicted statements are missing and "
            "re-created ones count from their return"
        )
    return notes


def _snapshot(row: dict[str, Any]) -> Snapshot:
    return Snapshot(
        id=int(row["id"]),
        label=row["label"],
        taken_at=row["taken_at"],
        taken_by=str(row["taken_by"]),
        dbid=int(row["dbid"]),
        extension_version=str(row["extension_version"]),
        stats_reset=row["stats_reset"],
        dealloc=None if row["dealloc"] is None else int(row["dealloc"]),
        statements=int(row.get("statements") or 0),
    )


def _text(value: str, what: str) -> str:
    """value, refused (ConfigError) when it cannot be PostgreSQL text (not UTF-8, NUL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{what} {shown(value)} is not valid UTF-8 text", "retype it") from None
    if "\x00" in value:
        raise ConfigError(f"{what} {shown(value)} contains a NUL character", "remove it")
    return value


def take_snapshot(conn: psycopg.Connection[Any], label: str | None = None) -> Snapshot:
    """Store this database's pg_stat_statements counters; nobody's statistics are reset."""
    if label is not None:
        _text(label, "--label")
    if label is not None and not 1 <= len(label) <= 200:
        raise ConfigError(
            "--label must be 1 to 200 characters", "use a short name, e.g. pre-deploy"
        )
    if label is not None and label.isascii() and label.isdigit():
        raise ConfigError(
            f"--label {shown(repr(label))} is a number",
            "use a name with a letter: --since takes ids too",
        )
    state = require(conn)
    dealloc, stats_reset = _info(conn, state)
    cur = conn.cursor(row_factory=dict_row)
    try:
        with conn.transaction():
            header = cur.execute(
                queries.load("insert_statements_snapshot"),
                {
                    "label": label,
                    "dbid": state.dbid,
                    "version": state.installed_version,
                    "stats_reset": stats_reset,
                    "dealloc": dealloc,
                },
            ).fetchone()
            assert header is not None
            cur.execute(
                _query("insert_statements_snapshot_rows", state),
                {"snapshot_id": header["id"], "dbid": state.dbid},
            )
            count = cur.rowcount
    except psycopg.errors.UndefinedTable:
        raise _no_snapshot_table() from None
    except psycopg.errors.InsufficientPrivilege:
        raise _snapshot_privilege() from None
    return _snapshot({**header, "statements": count})


def list_snapshots(conn: psycopg.Connection[Any]) -> list[Snapshot]:
    """The snapshots kept in this database, newest first."""
    try:
        rows = conn.cursor(row_factory=dict_row).execute(queries.load("list_statements_snapshots"))
        return [_snapshot(r) for r in rows.fetchall()]
    except psycopg.errors.UndefinedTable:
        raise _no_snapshot_table() from None
    except psycopg.errors.InsufficientPrivilege:
        raise _snapshot_privilege() from None


def _snapshot_params(ref: str) -> dict[str, Any]:
    """The lookup of a snapshot by id (digits) or label; refused before any SQL when it cannot
    name one (not text PostgreSQL holds, or an id beyond a bigint)."""
    ref = _text(ref.strip(), "snapshot")
    if not (ref.isascii() and ref.isdigit()):
        return {"id": None, "label": ref}
    if len(ref) > 19 or int(ref) > MAX_MIN_CALLS:  # ids are bigints
        raise ConfigError(
            f"no snapshot {shown(repr(ref))} in this database",
            "`pbl slow-queries snapshot list` shows them",
        )
    return {"id": int(ref), "label": None}


def find_snapshot(conn: psycopg.Connection[Any], ref: str) -> Snapshot:
    """A snapshot by id, or the newest one with that label."""
    ref = ref.strip()
    params = _snapshot_params(ref)
    try:
        row = (
            conn.cursor(row_factory=dict_row)
            .execute(queries.load("get_statements_snapshot"), params)
            .fetchone()
        )
    except psycopg.errors.UndefinedTable:
        raise _no_snapshot_table() from None
    except psycopg.errors.InsufficientPrivilege:
        raise _snapshot_privilege() from None
    if row is None:
        raise ConfigError(
            f"no snapshot {shown(repr(ref))} in this database",
            "`pbl slow-queries snapshot list` shows them; `pbl slow-queries snapshot` takes one",
        )
    return _snapshot(row)


def delete_snapshot(conn: psycopg.Connection[Any], ref: str) -> Snapshot:
    """Delete a snapshot (by id or label) and its rows."""
    snapshot = find_snapshot(conn, ref)
    try:
        conn.execute(queries.load("delete_statements_snapshot"), {"id": snapshot.id})
    except psycopg.errors.InsufficientPrivilege:
        raise _snapshot_privilege() from None
    return snapshot


# --- reset ------------------------------------------------------------------------------------


@dataclass
class ResetResult:
    """What a reset discards (or, with dry_run, would)."""

    scope: str  # "database" or "cluster"
    database: str
    entries: int
    statement: str
    done: bool


def reset(
    conn: psycopg.Connection[Any], *, all_databases: bool = False, dry_run: bool = False
) -> ResetResult:
    """pg_stat_statements_reset() for this database's entries (or, asked, the whole cluster's)."""
    state = require(conn)
    function = _view(state, "pg_stat_statements_reset")
    if not all_databases and state.version < (1, 6):
        raise RefusedError(
            f"pg_stat_statements {state.installed_version} can only reset every database at once",
            "pass --all-databases, or ALTER EXTENSION pg_stat_statements UPDATE first",
        )
    name = "reset_all_statements" if all_databases else "reset_statements"
    query = sql.SQL(queries.load(name)).format(reset=function)
    params = {} if all_databases else {"dbid": state.dbid}
    count_query = sql.SQL(queries.load("count_statements")).format(view=_view(state))
    row = conn.execute(count_query, {"all": all_databases, "dbid": state.dbid}).fetchone()
    entries = int(row[0]) if row else 0
    statement = _render(conn, query, params)
    scope = "cluster" if all_databases else "database"
    if dry_run:
        return ResetResult(scope, state.database, entries, statement, False)
    try:
        conn.execute(query, params)
    except psycopg.errors.InsufficientPrivilege:
        raise RefusedError(
            "pg_stat_statements_reset needs a superuser or an explicit grant",
            f"connect as a superuser, or GRANT EXECUTE ON FUNCTION {state.schema}."
            "pg_stat_statements_reset TO the role",
        ) from None
    return ResetResult(scope, state.database, entries, statement, True)


def _render(conn: psycopg.Connection[Any], query: sql.Composed, params: dict[str, Any]) -> str:
    """The statement as it would run, parameters inlined (for --dry-run and reports)."""
    from psycopg import ClientCursor

    text = ClientCursor(conn).mogrify(query, params)
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()


# --- enable -----------------------------------------------------------------------------------


@dataclass
class EnableResult:
    """What `enable` did (or, with dry_run, would do) and what is left to the operator."""

    dry_run: bool
    extension: str  # created | already created | needs preload | not installed
    statements: list[str] = field(default_factory=list)
    changes: list[SettingChange] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)  # what waits for a restart, and how
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_duration_ms(text: str) -> int:
    """'250ms', '1s', '2min', '1h' or a bare number of milliseconds -> milliseconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(
            f"--min-duration {shown(repr(text))} is not a duration",
            "use e.g. 250ms, 1s or 2min (a bare number is milliseconds)",
        )
    digits = match.group(1).lstrip("0") or "0"
    too_long = len(digits) > 10  # int() of thousands of digits is slow, and refused anyway
    if not too_long:
        value = int(digits) * _UNIT_MS[(match.group(2) or "ms").lower()]
        too_long = value > _INT_MAX
    if too_long:
        raise ConfigError(
            f"--min-duration {shown(repr(text))} is too long",
            f"at most 24 days ({_INT_MAX:,} ms)",
        )
    return value


def preload_statement(libraries: Sequence[str]) -> sql.Composed:
    """ALTER SYSTEM SET shared_preload_libraries = 'a', 'b': one literal per library. A single
    'a, b' literal would be written as the one quoted name "a, b" (the setting quotes each list
    element), and the server would not start after the restart."""
    return alter_system("shared_preload_libraries", list(dict.fromkeys(x for x in libraries if x)))


def _settings(conn: psycopg.Connection[Any], names: list[str]) -> dict[str, dict[str, Any]]:
    rows = conn.cursor(row_factory=dict_row).execute(
        queries.load("list_slow_log_settings"), {"names": names}
    )
    return {r["name"]: r for r in rows.fetchall()}


class _Unreadable(Exception):
    """pg_file_settings needs a superuser."""


def _file_setting(conn: psycopg.Connection[Any], name: str) -> str | None:
    """A setting as the config files say now (None: not set there); _Unreadable if not allowed."""
    try:
        with conn.transaction():
            row = conn.execute(queries.load("get_slow_file_setting"), {"name": name}).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        raise _Unreadable from None
    return None if row is None else str(row[0])


def _ms(ms: int) -> str:
    if ms < 0:
        return f"{ms} (off)"
    if ms and ms % 1000 == 0:
        return f"{ms} ({ms // 1000}s)"
    return f"{ms} ms"


def enable(
    conn: psycopg.Connection[Any],
    *,
    min_duration: str | None = None,
    log_all_statements: bool = False,
    dry_run: bool = False,
) -> EnableResult:
    """Create the extension when preloaded (else say what to change and restart), set
    log_min_duration_statement, and log_statement = 'all' only when asked."""
    wanted_ms = None if min_duration is None else parse_duration_ms(min_duration)
    state = extension_state(conn)
    names = ["log_min_duration_statement", "log_statement", "log_parameter_max_length"]
    current = _settings(conn, names)
    result = EnableResult(dry_run, "")
    steps: list[sql.Composed] = []

    if state.available_version is None:
        result.extension = "not installed"
        result.restart.append(
            "pg_stat_statements is not installed on this server: install the contrib package "
            "(Debian: postgresql-contrib), add it to shared_preload_libraries and restart"
        )
    elif state.preloaded:
        if state.installed_version is None:
            result.extension = "created"
            steps.append(
                sql.Composed([sql.SQL("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")])
            )
        else:
            result.extension = "already created"
            if version_tuple(state.installed_version) < version_tuple(state.available_version):
                result.notes.append(
                    f"pg_stat_statements is at version {state.installed_version}, the server "
                    f"has {state.available_version}: ALTER EXTENSION pg_stat_statements UPDATE "
                    "for the newer columns"
                )
    else:
        result.extension = "needs preload"
        try:
            configured = _file_setting(conn, "shared_preload_libraries")
        except _Unreadable:
            configured = None
        if state.preload_pending and configured and EXTENSION in preload_list(configured):
            result.restart.append(
                "shared_preload_libraries already lists pg_stat_statements in the configuration: "
                "restart PostgreSQL to load it, then run `pbl slow-queries enable` again"
            )
        else:
            # ALTER SYSTEM replaces the configured list (which may differ from the running one)
            base = preload_list(configured) if configured is not None else state.preload
            change = preload_statement([*base, EXTENSION])
            result.restart.append(
                f"run as a superuser: {change.as_string(conn)}; then restart PostgreSQL "
                "(e.g. pg_ctl restart -D DATADIR or systemctl restart postgresql), then run "
                "`pbl slow-queries enable` again to create the extension (pbl does not restart "
                "the server)"
            )

    changes: list[SettingChange] = []
    duration = current["log_min_duration_statement"]
    old_ms = int(duration["setting"])
    if duration["source"] in _OVERRIDING_SOURCES:
        result.warnings.append(
            f"log_min_duration_statement is {_ms(old_ms)} in this session from a "
            f"{duration['source']} setting (ALTER DATABASE / ROLE ... SET), which overrides "
            "ALTER SYSTEM for these sessions"
        )
        try:  # what ALTER SYSTEM changes is the configuration files' value
            configured_ms = _file_setting(conn, "log_min_duration_statement")
            if configured_ms is None or configured_ms.strip().startswith("-"):
                old_ms = -1
            else:
                old_ms = parse_duration_ms(configured_ms)
        except (_Unreadable, ConfigError):
            pass
    new_ms = wanted_ms if wanted_ms is not None else (1000 if old_ms < 0 else old_ms)
    if new_ms != old_ms:
        steps.append(alter_system("log_min_duration_statement", new_ms))
        changes.append(
            SettingChange(
                "log_min_duration_statement",
                _ms(old_ms),
                _ms(new_ms),
                duration["context"] == "postmaster",
            )
        )
    else:
        result.notes.append(
            f"log_min_duration_statement is already {_ms(old_ms)}: unchanged "
            "(--min-duration sets another value)"
        )
    if new_ms == 0:
        result.warnings.append(
            "log_min_duration_statement = 0 logs every statement with its duration: expect a "
            "large log"
        )

    statement = current["log_statement"]
    if log_all_statements:
        result.warnings.append(
            "log_statement = 'all' writes every statement with its literal values and bound "
            "parameters to the server log: SSNs, credit data and other PII end up in log files "
            "and wherever they are shipped. Turn it off again with ALTER SYSTEM RESET "
            "log_statement; SELECT pg_reload_conf()"
        )
        if statement["setting"] != "all":
            steps.append(alter_system("log_statement", "all"))
            changes.append(
                SettingChange(
                    "log_statement",
                    str(statement["setting"]),
                    "all",
                    statement["context"] == "postmaster",
                )
            )
    elif statement["setting"] == "all":
        result.warnings.append(
            "log_statement is already 'all' on this server: every parameter (PII included) is "
            "written to the log; pbl leaves it as it is"
        )
    max_length = current.get("log_parameter_max_length")
    if max_length is not None and int(max_length["setting"]) != 0:
        result.notes.append(
            "statements logged for their duration carry their bound parameter values "
            "(log_parameter_max_length = "
            f"{max_length['setting']}); ALTER SYSTEM SET log_parameter_max_length = 0 keeps "
            "values out of the log"
        )
    if not state.track_io_timing:
        result.notes.append(
            "track_io_timing is off: the io column stays 0 (turn it on after checking the "
            "clock overhead with pg_test_timing)"
        )

    if changes:
        steps.append(sql.Composed([sql.SQL("SELECT pg_reload_conf()")]))
    result.statements = [s.as_string(conn) for s in steps]
    result.changes = changes
    result.restart.extend(
        f"{c.name} takes effect after a restart" for c in changes if c.needs_restart
    )
    if dry_run:
        return result
    for step in steps:
        try:
            conn.execute(step)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise RefusedError(
                f"{str(exc).splitlines()[0]} (running {step.as_string(conn)})",
                "connect as a superuser to enable slow-query reporting",
            ) from None
    return result
