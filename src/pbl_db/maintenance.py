"""ANALYZE, VACUUM and REINDEX from sql/maintenance, with progress from pg_stat_progress_*.

A run is planned first (a list of Task: what, why, the statement) so the operator sees it
before anything happens, then executed one statement at a time on an autocommit connection
under lock_timeout. A second connection, when given, polls the progress views and notes who
the statement waits for, so a lock timeout can name the blocking session.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbl_db import paths
from pbl_db.errors import BusyError, ConfigError, OperationFailed, shown
from pbl_db.relations import pretty_size, qualified
from pbl_db.timeouts import check_timeouts

if TYPE_CHECKING:
    import psycopg

DEFAULT_TABLES = ("applications", "devices", "audit_logs")  # the spec's Maintenance Tasks
DEFAULT_LOCK_TIMEOUT = "10s"
POLL_SECONDS = 0.25

ProgressFn = Callable[[str, int, int], None]  # (description, done, total)
EventFn = Callable[[str], None]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b|bytes?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_UNITS["tb"] = 1024**4
MAX_SIZE = 1024**5
_LEFTOVER = re.compile(r"_cc(new|old)[0-9]*$")


def parse_size(text: str) -> int:
    """'100MB', '1GB', '8kB', '512' (bytes) -> bytes; units are PostgreSQL's (1 kB = 1024)."""
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(
            f"bad size {shown(text)!r}", "use e.g. 8kB, 100MB, 1GB or a number of bytes"
        )
    number, unit = match.groups()
    size = float(number) * _UNITS[(unit or "").lower()]
    if not size <= MAX_SIZE:  # also inf from a very long number
        raise ConfigError(f"size {shown(text)!r} is too large: at most 1024TB", "e.g. 100MB")
    return int(size)


def maintenance_dir(override: str | None = None) -> Path:
    """<sql dir>/maintenance; when --sql-dir / PBL_SQL_DIR names a folder without one (say, a
    project's own migrations), pbl's own copy."""
    candidate = paths.sql_dir(override) / "maintenance"
    if candidate.is_dir():
        return candidate
    builtin = paths.builtin_sql_dir() / "maintenance"
    if builtin.is_dir():
        return builtin
    raise ConfigError(
        f"maintenance SQL directory {candidate} does not exist",
        "reinstall pbl or point --sql-dir / PBL_SQL_DIR at a folder holding maintenance/",
    )


def load(name: str, sql_dir: str | None = None) -> str:
    """The text of sql/maintenance/<name>.sql without its leading comment lines."""
    path = maintenance_dir(sql_dir) / f"{name}.sql"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(
            f"{path} is missing", "reinstall pbl or fix --sql-dir / PBL_SQL_DIR"
        ) from None
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


@dataclass
class Task:
    """One maintenance statement: what it acts on, why, and (after run) what happened."""

    # analyze | vacuum | vacuum full | reindex | reindex concurrently | drop | skip | report
    action: str
    schema: str
    name: str  # the table (analyze, vacuum) or the index
    table: str | None = None  # the index's table
    reason: str = ""
    sql: str | None = None
    bytes: int | None = None
    bloat_bytes: int | None = None
    bloat_source: str | None = None  # estimate | pgstattuple
    status: str = "planned"  # planned | done | skipped | failed
    bytes_after: int | None = None
    seconds: float | None = None
    warnings: list[str] = field(default_factory=list)
    oid: int = 0
    table_oid: int = 0
    statement: Any = field(default=None, repr=False, compare=False)

    @property
    def display(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def runs(self) -> bool:
        return self.action not in ("skip", "report")

    def as_dict(self) -> dict[str, Any]:
        keys = (
            "action",
            "schema",
            "name",
            "table",
            "reason",
            "sql",
            "bytes",
            "bloat_bytes",
            "bloat_source",
            "status",
            "bytes_after",
            "seconds",
            "warnings",
        )
        return {key: getattr(self, key) for key in keys}


# --- resolving names ----------------------------------------------------------------------


def _split_quoted(text: str) -> list[str]:
    """Parse SQL-style 'Sch."My Table"' into parts: quoted parts exact, bare parts lower-cased."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ConfigError(
                        f"unbalanced quotes in {shown(text)!r}", 'write e.g. "Sch"."My Table"'
                    )
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = text.find(".", i)
            j = n if j < 0 else j
            parts.append(text[i:j].strip().lower())
            i = j
        if i < n:
            if text[i] != ".":
                raise ConfigError(
                    f"cannot read the name {shown(text)!r}", 'write e.g. "Sch"."My Table"'
                )
            i += 1
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ConfigError(f"cannot read the name {shown(text)!r}", "use name or schema.name")
    return parts


def resolve(text: str, rows: Sequence[dict[str, Any]], key: str, what: str) -> dict[str, Any]:
    """Find a catalog row (schema, <key>, search_position) named by text.

    Without double quotes the text is taken literally first (schema.name split at the first
    dot, or a bare name), then lower-cased the way SQL folds names; with double quotes it is
    read as SQL. A bare name is looked up on the search_path, then in any schema if unique."""
    forms: list[tuple[str, ...]] = []
    if '"' in text:
        forms.append(tuple(_split_quoted(text)))
    else:
        if "." in text:
            schema, _, name = text.partition(".")
            forms += [(schema, name), (schema.lower(), name.lower())]
        forms += [(text,), (text.lower(),)]
    for form in forms:
        if len(form) == 2:
            hits = [r for r in rows if (r["schema"], r[key]) == form]
        else:
            hits = [r for r in rows if r[key] == form[0]]
            on_path = [r for r in hits if r["search_position"] is not None]
            if on_path:
                hits = [min(on_path, key=lambda r: r["search_position"])]
            elif len(hits) > 1:
                schemas = ", ".join(sorted(r["schema"] for r in hits))
                raise ConfigError(
                    f"{what} {shown(text)!r} exists in several schemas ({schemas})",
                    "name it as schema.name",
                )
        if hits:
            return hits[0]
    raise ConfigError(
        f"{what} {shown(text)!r} not found",
        'name it as schema.name (or \'"Sch"."Mixed Case"\' for an exact SQL name); '
        f"pbl {'indexes' if what == 'index' else 'tables'} lists them"
        + (" (system catalogs and TOAST indexes are left out)" if what == "index" else ""),
    )


def _dict_rows(
    conn: psycopg.Connection[Any], text: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(text, params).fetchall()


def resolve_tables(
    conn: psycopg.Connection[Any],
    names: Sequence[str] = (),
    *,
    all_tables: bool = False,
    sql_dir: str | None = None,
) -> list[dict[str, Any]]:
    """The tables named (default: the spec's applications, devices, audit_logs), or with
    all_tables every user table that is not a partition (ANALYZE and VACUUM of a partitioned
    table recurse into its partitions)."""
    rows = _dict_rows(conn, load("list_maintenance_tables", sql_dir))
    if all_tables:
        if names:
            raise ConfigError("--all and --table exclude each other", "give one of them")
        return [r for r in rows if not r["is_partition"]]
    found: list[dict[str, Any]] = []
    for name in names or DEFAULT_TABLES:
        try:
            row = resolve(name, rows, "table", "table")
        except ConfigError:
            if names:
                raise
            raise ConfigError(
                f"the spec's table {name} is not in this database",
                "name tables with --table, or use --all",
            ) from None
        if row not in found:
            found.append(row)
    return found


# --- planning -------------------------------------------------------------------------------


def _compose(conn: psycopg.Connection[Any], template: str, **parts: Any) -> tuple[Any, str]:
    from psycopg import sql

    statement = sql.SQL(template).format(**parts)
    return statement, statement.as_string(conn)


def plan_analyze(
    conn: psycopg.Connection[Any],
    names: Sequence[str] = (),
    *,
    all_tables: bool = False,
    sql_dir: str | None = None,
) -> list[Task]:
    """ANALYZE of each table, as tasks."""
    from psycopg import sql

    template = load("analyze_table", sql_dir)
    tasks = []
    for row in resolve_tables(conn, names, all_tables=all_tables, sql_dir=sql_dir):
        statement, text = _compose(
            conn, template, table=sql.Identifier(row["schema"], row["table"])
        )
        tasks.append(
            Task(
                "analyze",
                row["schema"],
                row["table"],
                reason="refresh planner statistics",
                sql=text,
                oid=row["oid"],
                table_oid=row["oid"],
                statement=statement,
            )
        )
    return tasks


def plan_vacuum(
    conn: psycopg.Connection[Any],
    names: Sequence[str] = (),
    *,
    all_tables: bool = False,
    analyze: bool = False,
    full: bool = False,
    sql_dir: str | None = None,
) -> list[Task]:
    """VACUUM (ANALYZE when asked) of each table; FULL only when asked."""
    from psycopg import sql

    template = load("vacuum_full_table" if full else "vacuum_table", sql_dir)
    reason = (
        "rewrite the table to return its free space to the OS (ACCESS EXCLUSIVE lock)"
        if full
        else "make dead tuples' space reusable, freeze, update the visibility map"
    )
    tasks = []
    for row in resolve_tables(conn, names, all_tables=all_tables, sql_dir=sql_dir):
        statement, text = _compose(
            conn,
            template,
            table=sql.Identifier(row["schema"], row["table"]),
            analyze=sql.Literal(analyze),
        )
        tasks.append(
            Task(
                "vacuum full" if full else "vacuum",
                row["schema"],
                row["table"],
                reason=reason,
                sql=text,
                oid=row["oid"],
                table_oid=row["oid"],
                statement=statement,
            )
        )
    return tasks


def plan_reindex(
    conn: psycopg.Connection[Any],
    *,
    bloat_over: int | None = None,
    names: Sequence[str] = (),
    concurrently: bool = False,
    sql_dir: str | None = None,
) -> list[Task]:
    """Which indexes to rebuild or drop, and why.

    - invalid indexes (a failed CREATE INDEX CONCURRENTLY or REINDEX) are rebuilt;
    - invalid *_ccnew / *_ccold indexes beside the index they were made for (leftovers of a
      failed REINDEX CONCURRENTLY) are dropped with DROP INDEX CONCURRENTLY;
    - with bloat_over, btree indexes whose bloat exceeds it are rebuilt (estimated from the
      statistics; measured with pgstatindex when pgstattuple is installed);
    - names restricts the run to those indexes; without bloat_over the named ones are rebuilt
      whatever their state (the spec's REINDEX INDEX CONCURRENTLY idx_applications_tenant_id).
    System catalogs and TOAST indexes are never considered."""
    from psycopg import sql

    rows = _dict_rows(conn, load("list_reindex_candidates", sql_dir))
    wanted = {resolve(name, rows, "index", "index")["oid"] for name in names}
    if wanted:
        rows = [row for row in rows if row["oid"] in wanted]
    if bloat_over is not None:
        _measure(conn, rows, bloat_over, sql_dir)
    templates = {
        "reindex": load("reindex_index", sql_dir),
        "reindex concurrently": load("reindex_index_concurrently", sql_dir),
        "drop": load("drop_index_concurrently", sql_dir),
    }
    tasks = []
    for row in rows:
        task = _decide(conn, row, bloat_over, named=row["oid"] in wanted, concurrently=concurrently)
        if task is None:
            continue
        if task.runs:
            task.statement, task.sql = _compose(
                conn, templates[task.action], index=sql.Identifier(row["schema"], row["index"])
            )
        tasks.append(task)
    return tasks


def _measure(
    conn: psycopg.Connection[Any], rows: list[dict[str, Any]], bloat_over: int, sql_dir: str | None
) -> None:
    """Replace the estimate by pgstatindex's measurement where it could decide the outcome."""
    import psycopg
    from psycopg import sql

    for row in rows:
        row["bloat_source"] = "estimate" if row["bloat_bytes"] is not None else None
    found = conn.execute(load("get_pgstattuple_schema", sql_dir)).fetchone()
    if not found or not found[0]:
        return
    query = sql.SQL(load("get_index_pgstatindex", sql_dir)).format(schema=sql.Identifier(found[0]))
    for row in rows:
        over = (
            row["bloat_bytes"] > bloat_over
            if row["bloat_bytes"] is not None
            else row["bytes"] > bloat_over
        )
        if not (row["valid"] and row["method"] == "btree" and row["relkind"] == "i" and over):
            continue
        try:
            measured = conn.execute(
                query, {"oid": row["oid"], "fillfactor": row["fillfactor"]}
            ).fetchone()
        except psycopg.Error:
            continue  # no privilege to read it, or it went away: keep the estimate
        if measured:
            row["bloat_bytes"], row["bloat_source"] = int(measured[1]), "pgstattuple"


def _decide(
    conn: psycopg.Connection[Any],
    row: dict[str, Any],
    bloat_over: int | None,
    *,
    named: bool,
    concurrently: bool,
) -> Task | None:
    rebuild = "reindex concurrently" if concurrently else "reindex"
    task = Task(
        rebuild,
        row["schema"],
        row["index"],
        table=row["table"],
        bytes=int(row["bytes"]),
        bloat_bytes=row["bloat_bytes"],
        bloat_source=row.get("bloat_source")
        or ("estimate" if row["bloat_bytes"] is not None else None),
        oid=row["oid"],
        table_oid=row["table_oid"],
    )
    if not row["valid"]:
        if row["leftover_name"] and row["leftover_of"]:
            task.action = "drop"
            task.reason = (
                f"invalid leftover of a failed REINDEX CONCURRENTLY of {row['leftover_of']}"
            )
        elif row["leftover_name"]:
            base = _LEFTOVER.sub("", row["index"])
            task.action = "report"
            task.reason = (
                f"invalid and named like a REINDEX CONCURRENTLY leftover, but its table has no "
                f"index {base}: check it and drop it by hand (DROP INDEX CONCURRENTLY)"
            )
        elif row["relkind"] == "I":
            task.action = "report"
            task.reason = (
                "invalid partitioned index: a partition lacks its index; create it on the "
                "partition and ALTER INDEX ... ATTACH PARTITION"
            )
        else:
            task.reason = "invalid (left by a failed CREATE INDEX CONCURRENTLY or REINDEX)"
    else:
        bloat, source = row["bloat_bytes"], task.bloat_source or "estimate"
        if bloat_over is not None and bloat is not None and bloat > bloat_over:
            task.reason = f"bloat {pretty_size(bloat)} > {pretty_size(bloat_over)} ({source})"
        elif named and bloat_over is None:
            task.reason = "named with --index"
        elif named:
            task.action = "skip"
            task.reason = (
                f"bloat {pretty_size(bloat)} ({source}) is not over {pretty_size(bloat_over)}"
                if bloat is not None
                else "no bloat estimate (not btree, or its table was never analyzed)"
            )
        else:
            return None
    if task.action == "skip" or task.action == "report":
        return task
    if row["building_pid"]:
        task.action = "skip"
        task.reason += (
            f"; skipped: an index build runs on {row['table']} now (pid {row['building_pid']}), "
            "try again when it ends"
        )
    elif task.action != "drop" and row["relkind"] == "I" and conn.info.server_version < 140000:
        # REINDEX of a partitioned index (rebuilding each partition's) is new in 14
        raise ConfigError(
            f"REINDEX of the partitioned index {task.display} needs PostgreSQL 14 (this server "
            f"is {conn.info.server_version // 10000})",
            "name its partitions' indexes with --index instead (pbl indexes lists them)",
        )
    elif task.action == "reindex concurrently" and row["exclusion"]:
        task.action = "skip"
        task.reason += (
            "; REINDEX CONCURRENTLY cannot rebuild an exclusion constraint's index: "
            "rerun without --concurrently (it blocks writes)"
        )
    return task


# --- running ----------------------------------------------------------------------------------


_PROGRESS = {
    "analyze": "get_analyze_progress",
    "vacuum": "get_vacuum_progress",
    "reindex": "get_create_index_progress",
    "reindex concurrently": "get_create_index_progress",
}
_VERBS = {
    "analyze": ("analyzing", "analyzed"),
    "vacuum": ("vacuuming", "vacuumed"),
    "vacuum full": ("rewriting (VACUUM FULL)", "rewrote"),
    "reindex": ("reindexing", "reindexed"),
    "reindex concurrently": ("reindexing concurrently", "reindexed"),
    "drop": ("dropping", "dropped"),
}


@dataclass
class _Watch:
    """What the polling connection saw of a running statement."""

    blockers: set[int] = field(default_factory=set)
    waiting_for: int | None = None
    phase: str | None = None


def run(
    conn: psycopg.Connection[Any],
    tasks: Sequence[Task],
    *,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    statement_timeout: str = "0",
    watch: psycopg.Connection[Any] | None = None,
    on_progress: ProgressFn | None = None,
    on_event: EventFn | None = None,
    sql_dir: str | None = None,
) -> list[Task]:
    """Run the tasks in order on conn (autocommit) under lock_timeout; stop at the first
    failure with a BusyError (lock not had in time) or an OperationFailed. watch, a second
    connection, polls pg_stat_progress_* for on_progress and notes who the statement waits
    for. After a failed REINDEX CONCURRENTLY, the invalid *_ccnew/*_ccold index it left is
    dropped if possible."""
    import psycopg

    from pbl_db.replica import require_primary

    require_primary(conn, "pbl maintenance")
    if not conn.autocommit:
        raise ConfigError(
            "maintenance needs an autocommit connection",
            "VACUUM and REINDEX CONCURRENTLY cannot run in a transaction block",
        )
    emit = on_event or (lambda _msg: None)
    timeouts = check_timeouts(lock_timeout, statement_timeout)
    saved = _dict_rows(conn, load("get_maintenance_timeouts", sql_dir))[0]
    try:
        conn.execute(load("set_maintenance_timeouts", sql_dir), timeouts)
    except psycopg.errors.InvalidParameterValue as exc:
        conn.execute(load("set_maintenance_timeouts", sql_dir), saved)
        raise ConfigError(
            f"bad timeout: {shown(exc.diag.message_primary or exc)}",
            "use e.g. 10s, 500ms, 2min, 0",
        ) from None
    todo = [t for t in tasks if t.runs]
    try:
        for number, task in enumerate(todo, 1):
            doing, done = _VERBS[task.action]
            emit(f"{doing} {task.display} ({number} of {len(todo)})")
            leftovers = _leftovers(conn, task, sql_dir)
            seen = _Watch()
            started = time.monotonic()
            try:
                task.warnings = _execute(
                    conn, task, watch, seen, on_progress, _PROGRESS.get(task.action), sql_dir
                )
            except psycopg.Error as exc:
                task.status = "failed"
                task.seconds = round(time.monotonic() - started, 3)
                note = _clean_leftovers(conn, task, leftovers, sql_dir)
                raise _failure(exc, task, seen, timeouts, number - 1, len(todo), note) from None
            task.seconds = round(time.monotonic() - started, 3)
            skipped = [w for w in task.warnings if "skipping" in w]
            task.status = "skipped" if skipped else "done"
            if task.action.startswith("reindex"):
                state = _dict_rows(
                    conn,
                    load("get_index_state", sql_dir),
                    {"schema": task.schema, "index": task.name},
                )
                task.bytes_after = int(state[0]["bytes"]) if state else None
            if skipped:
                emit(f"skipped {task.display}: {skipped[0]}")
            elif task.bytes_after is not None and task.bytes is not None:
                emit(
                    f"{done} {task.display}: {pretty_size(task.bytes)} -> "
                    f"{pretty_size(task.bytes_after)} in {task.seconds:.1f}s"
                )
            else:
                emit(f"{done} {task.display} in {task.seconds:.1f}s")
    finally:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):  # a broken connection keeps the first error
                conn.execute(load("set_maintenance_timeouts", sql_dir), saved)
    for task in tasks:
        if not task.runs:
            task.status = "skipped"
    return list(tasks)


def _execute(
    conn: psycopg.Connection[Any],
    task: Task,
    watch: psycopg.Connection[Any] | None,
    seen: _Watch,
    on_progress: ProgressFn | None,
    progress_query: str | None,
    sql_dir: str | None,
) -> list[str]:
    """Run one statement; with a watch connection, in a thread while the caller polls."""

    warnings: list[str] = []

    def collect(diag: psycopg.errors.Diagnostic) -> None:
        if diag.severity_nonlocalized == "WARNING" and diag.message_primary:
            warnings.append(diag.message_primary)

    conn.add_notice_handler(collect)
    try:
        if watch is None:
            conn.execute(task.statement)
            return warnings
        errors: list[BaseException] = []
        finished = threading.Event()

        def work() -> None:
            try:
                conn.execute(task.statement)
            except BaseException as exc:  # handed to the calling thread
                errors.append(exc)
            finally:
                finished.set()

        pid = conn.info.backend_pid
        progress_sql = load(progress_query, sql_dir) if progress_query else None
        wait_sql = load("get_maintenance_wait", sql_dir)
        worker = threading.Thread(target=work, name=f"pbl-{task.action}", daemon=True)
        worker.start()
        try:
            while not finished.wait(POLL_SECONDS):
                _poll(watch, pid, task, seen, on_progress, progress_sql, wait_sql)
        except BaseException:
            _cancel(conn)
            worker.join()
            raise
        worker.join()
        if errors:
            raise errors[0]
        return warnings
    finally:
        conn.remove_notice_handler(collect)


def _poll(
    watch: psycopg.Connection[Any],
    pid: int,
    task: Task,
    seen: _Watch,
    on_progress: ProgressFn | None,
    progress_sql: str | None,
    wait_sql: str,
) -> None:
    import psycopg

    try:
        waiting = watch.execute(wait_sql, {"pid": pid}).fetchone()
        progress = watch.execute(progress_sql, {"pid": pid}).fetchone() if progress_sql else None
    except psycopg.Error:
        return  # progress is a nicety; the statement's own outcome is what counts
    if waiting and waiting[2]:
        seen.blockers.update(p for p in waiting[2] if p)
    if progress:
        phase, done, total, locker = progress
        seen.phase = phase
        if locker:
            seen.waiting_for = locker
            seen.blockers.add(locker)
        if on_progress:
            label = f"{task.display}: {phase}" + (f" (pid {locker})" if locker else "")
            on_progress(label, int(done or 0), int(total or 0))
    elif on_progress and waiting and waiting[0] == "Lock":
        on_progress(f"{task.display}: waiting for a lock", 0, 0)


def _cancel(conn: psycopg.Connection[Any]) -> None:
    cancel_safe = getattr(conn, "cancel_safe", None)
    try:
        if cancel_safe is not None:
            cancel_safe(timeout=10)
        else:  # psycopg < 3.2
            conn.cancel()
    except Exception:  # noqa: S110 - best effort: the process is stopping anyway
        pass


def _leftovers(conn: psycopg.Connection[Any], task: Task, sql_dir: str | None) -> set[str]:
    if task.action != "reindex concurrently":
        return set()
    rows = _dict_rows(
        conn,
        load("list_reindex_leftovers", sql_dir),
        {"table_oid": task.table_oid, "index": task.name},
    )
    return {r["index"] for r in rows}


def _clean_leftovers(
    conn: psycopg.Connection[Any], task: Task, before: set[str], sql_dir: str | None
) -> str:
    """Drop the invalid *_ccnew/*_ccold index a failed REINDEX CONCURRENTLY just left."""
    import psycopg
    from psycopg import sql

    if task.action != "reindex concurrently" or conn.closed:
        return ""
    try:
        new = sorted(_leftovers(conn, task, sql_dir) - before)
    except psycopg.Error:
        return ""
    dropped, left = [], []
    for name in new:
        try:
            conn.execute(
                sql.SQL(load("drop_index_concurrently", sql_dir)).format(
                    index=sql.Identifier(task.schema, name)
                )
            )
            dropped.append(name)
        except psycopg.Error:
            left.append(name)
    notes = []
    if dropped:
        notes.append(f"dropped the invalid {', '.join(dropped)} it left")
    if left:
        notes.append(
            f"it left the invalid index {', '.join(left)}: the next pbl maintenance reindex "
            "drops it"
        )
    return "; ".join(notes)


def _failure(
    exc: Exception,
    task: Task,
    seen: _Watch,
    timeouts: dict[str, str],
    done: int,
    total: int,
    note: str,
) -> Exception:
    import psycopg

    what = f"{task.action.upper()} of {task.display}"
    progress = f"{done} of {total} task(s) finished before it" if total > 1 else ""
    tail = "; ".join(part for part in (note, progress) if part)
    tail = f"; {tail}" if tail else ""
    primary = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        who = ""
        if seen.blockers:
            who = f" (held by pid {', '.join(str(p) for p in sorted(seen.blockers))})"
        if seen.phase and seen.phase.startswith("waiting"):
            who += f" while {seen.phase}"
        return BusyError(
            f"{what}: could not get a lock within lock_timeout={timeouts['lock_timeout']}"
            f"{who}{tail}",
            "retry when the blocking session ends (pbl locks, pbl activity), "
            "or raise --lock-timeout",
        )
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return OperationFailed(
            f"{what} was cancelled ({primary}; statement_timeout="
            f"{timeouts['statement_timeout']}){tail}",
            "rerun it; raise --statement-timeout if it needs longer",
        )
    if isinstance(exc, psycopg.errors.UniqueViolation):
        detail = getattr(exc.diag, "message_detail", None)
        return OperationFailed(
            f"{what} failed: {primary}" + (f" ({detail})" if detail else "") + tail,
            "remove the duplicate rows, then rerun",
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return OperationFailed(
            f"{what} failed: {primary}{tail}", "run it as the owner of the table or a superuser"
        )
    return OperationFailed(f"{what} failed: {primary}{tail}", "see the server log for details")
