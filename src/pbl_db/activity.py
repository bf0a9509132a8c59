"""What the server is doing: sessions, long transactions, the blocking tree, and cancelling or
terminating a backend."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import ConfigError, OperationFailed, RefusedError
from pbl_db.relations import quote_ident

if TYPE_CHECKING:
    import psycopg

IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")
PID_MAX = 2**31 - 1  # a pid is an int4 in pg_stat_activity
TERMINATE_WAIT_MS = 5000


def sessions(conn: psycopg.Connection[Any], *, include_all: bool = False) -> list[dict[str, Any]]:
    """Sessions of the whole server, longest transactions first, this one left out.

    By default client backends that are not idle (active, idle in transaction, ...);
    include_all adds idle sessions and background processes (autovacuum, walsender, ...)."""
    return _fetch(conn, None, include_all)


def session(conn: psycopg.Connection[Any], pid: int) -> dict[str, Any]:
    """One backend by pid; ConfigError when the server has no such backend."""
    if not 1 <= pid <= PID_MAX:
        raise ConfigError(
            f"pid must be between 1 and {PID_MAX:,}",
            "list the sessions with pbl activity --all (pids come from pg_stat_activity)",
        )
    found = _fetch(conn, [pid], True)
    if not found:
        raise ConfigError(
            f"pid {pid} is not a backend of this server",
            "list the sessions with pbl activity --all (pids come from pg_stat_activity)",
        )
    return found[0]


def _fetch(
    conn: psycopg.Connection[Any], pids: list[int] | None, include_all: bool
) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(
        queries.load("list_activity_sessions"), {"pids": pids, "all": include_all}
    ).fetchall()
    for row in rows:
        row["blocked_by"] = list(row["blocked_by"] or [])
        row["idle_in_transaction"] = row["state"] in IDLE_IN_TRANSACTION
    return rows


def cancel(
    conn: psycopg.Connection[Any], pid: int, *, backend_start: datetime | None = None
) -> dict[str, Any]:
    """pg_cancel_backend(pid): stop the backend's running query. Returns the session as it
    was. Refuses this session itself; a pid that is not a backend is a ConfigError. With
    backend_start (the session an operator confirmed), a pid now held by another backend is
    refused (RefusedError) and nothing is signalled."""
    target = _signal_target(conn, pid, "cancel")
    params = {"pid": pid, "backend_start": backend_start}
    _signal(conn, "cancel_activity_backend", params, pid, "cancel")
    return target


def terminate(
    conn: psycopg.Connection[Any], pid: int, *, backend_start: datetime | None = None
) -> dict[str, Any]:
    """pg_terminate_backend(pid): end the session (its transaction rolls back), waiting up to
    5 s for it to exit on PostgreSQL 14+. Returns the session as it was. backend_start: as
    for cancel."""
    target = _signal_target(conn, pid, "terminate")
    params: dict[str, Any] = {"pid": pid, "backend_start": backend_start}
    if conn.info.server_version >= 140000:
        name = "terminate_activity_backend"
        params["timeout_ms"] = TERMINATE_WAIT_MS
    else:
        name = "terminate_activity_backend_pg13"
    _signal(conn, name, params, pid, "terminate")
    return target


def _signal_target(conn: psycopg.Connection[Any], pid: int, verb: str) -> dict[str, Any]:
    found = session(conn, pid)
    if found["is_self"]:
        raise RefusedError(
            f"pid {pid} is pbl's own session; refusing to {verb} it", "name another pid"
        )
    return found


def _signal(
    conn: psycopg.Connection[Any], name: str, params: dict[str, Any], pid: int, verb: str
) -> None:
    import psycopg

    warnings: list[str] = []

    def collect(diag: psycopg.errors.Diagnostic) -> None:
        if diag.message_primary:
            warnings.append(diag.message_primary)

    conn.add_notice_handler(collect)
    try:
        row = conn.execute(queries.load(name), params).fetchone()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise OperationFailed(
            f"not allowed to {verb} pid {pid}: {exc.diag.message_primary or exc}",
            "connect as a superuser, the session's own role, or a member of pg_signal_backend",
        ) from None
    finally:
        conn.remove_notice_handler(collect)
    if row is None:
        raise RefusedError(
            f"pid {pid} is no longer the session shown: it ended and the pid now belongs to "
            "another backend, or it is gone; nothing was signalled",
            "list the sessions again with pbl activity --all",
        )
    if not row[0]:
        reason = "; ".join(warnings) or "the server did not signal it"
        raise OperationFailed(
            f"could not {verb} pid {pid}: {reason}",
            "check that it is still a backend with pbl activity --all",
        )


def blocking(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every session waiting for a lock another session holds, longest wait first.

    Keys: pid, user, application, database, state, wait_event_type, wait_event, locktype,
    mode, relation (schema-qualified, quoted where needed; None if not a relation lock),
    waiting_s, xact_age_s, query, blocking_pids (direct blockers; 0 is a prepared
    transaction), chain (this pid, its first blocker, that one's first blocker ... up to a
    session that is not blocked), root_pids (the sessions at the top of the tree, blocked by
    nobody), blockers (state, xact_age_s, query_age_s, idle_in_transaction, query, blocked of
    each direct blocker)."""
    from psycopg.rows import dict_row

    name = "list_locks_blocked" if conn.info.server_version >= 140000 else "list_locks_blocked_pg13"
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(queries.load(name)).fetchall()
    if not rows:
        return []
    waits = {row["pid"]: list(row["blocking_pids"]) for row in rows}
    wanted = sorted({pid for pids in waits.values() for pid in pids if pid} | set(waits))
    details = {s["pid"]: s for s in _fetch(conn, wanted, True)}
    out = []
    for row in rows:
        schema, rel = row.pop("relation_schema"), row.pop("relation_name")
        oid = row.pop("relation_oid")
        if rel is not None:
            row["relation"] = f"{quote_ident(schema)}.{quote_ident(rel)}"
        else:
            row["relation"] = None if oid is None else f"oid {oid}"
        row["blocking_pids"] = list(row["blocking_pids"])
        row["chain"] = _chain(row["pid"], waits)
        row["root_pids"] = sorted(_roots(row["pid"], waits))
        row["blockers"] = [_blocker(pid, details, waits) for pid in row["blocking_pids"]]
        out.append(row)
    return out


def _chain(pid: int, waits: dict[int, list[int]]) -> list[int]:
    chain = [pid]
    while waits.get(chain[-1]):
        nxt = waits[chain[-1]][0]
        if nxt in chain:  # a deadlock in the making: the detector will break it
            break
        chain.append(nxt)
    return chain


def _roots(pid: int, waits: dict[int, list[int]]) -> set[int]:
    roots: set[int] = set()
    seen = {pid}
    todo: list[int] = list(waits.get(pid, []))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if waits.get(current):
            todo.extend(waits[current])
        else:
            roots.add(current)
    return roots


def _blocker(
    pid: int, details: dict[int, dict[str, Any]], waits: dict[int, list[int]]
) -> dict[str, Any]:
    keys = ("user", "application", "state", "xact_age_s", "query_age_s", "query")
    if pid == 0:
        return {
            "pid": 0,
            **dict.fromkeys(keys),
            "state": "prepared transaction",
            "idle_in_transaction": False,
            "blocked": False,
        }
    found = details.get(pid, {})
    return {
        "pid": pid,
        **{key: found.get(key) for key in keys},
        "idle_in_transaction": bool(found.get("idle_in_transaction")),
        "blocked": bool(waits.get(pid)),
    }


def tree(rows: Iterable[dict[str, Any]]) -> dict[int, list[int]]:
    """blocker pid -> the pids it blocks directly (for rendering the blocking tree)."""
    children: dict[int, list[int]] = {}
    for row in rows:
        for blocker in row["blocking_pids"]:
            children.setdefault(blocker, []).append(row["pid"])
    return children
