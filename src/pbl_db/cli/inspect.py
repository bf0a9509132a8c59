"""pbl tables, indexes, activity and locks: what the server holds and what it is doing."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, say, target

Schema = Annotated[
    str | None,
    typer.Option("--schema", "-n", help="Only this schema (its exact name).", show_default=False),
]
Partitions = Annotated[
    bool,
    typer.Option(
        "--partitions", help="Also list partitions (a partitioned table always shows their sum)."
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Pid = Annotated[
    int,
    typer.Argument(
        min=1,
        max=2**31 - 1,
        help="The backend's pid (pbl activity lists them).",
        show_default=False,
    ),
]
QUERY_WIDTH = 60


def _age(seconds: float | None) -> str:
    """12.3s, 4m05s, 2h03m, 3d04h."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def _when(*stamps: datetime | None) -> str:
    """The latest of the timestamps, to the minute; '(auto)' when it is the second one."""
    present = [(s, i) for i, s in enumerate(stamps) if s is not None]
    if not present:
        return "never"
    stamp, which = max(present, key=lambda item: item[0])
    return stamp.strftime("%Y-%m-%d %H:%M") + (" (auto)" if which else "")


def _short(text: str | None, width: int = QUERY_WIDTH) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def tables(
    schema: Schema = None,
    partitions: Partitions = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Tables by size: rows, dead tuples, last vacuum and analyze (partitioned ones summed)."""
    from pbl_db import relations
    from pbl_db.connection import connect

    with connect(target(database_url)) as conn:
        rows = relations.tables(conn, schema, partitions=partitions)
    if as_json:
        render(rows, as_json=True)
        return
    parents = {(r["schema"], r["table"]): (r["parent_schema"], r["parent"]) for r in rows}
    shown = []
    for row in rows:
        name = relations.qualified(row["schema"], row["table"])
        if row["kind"] == "partitioned":
            name = f"{name} ({row['partitions']} partitions)"
        depth, up = 0, parents.get((row["schema"], row["table"]))
        while up and up[1] is not None and depth < 32:
            depth, up = depth + 1, parents.get(up)
        if row["parent"] is not None:
            name = "  " * max(depth, 1) + f"└ {name}"
        shown.append(
            {
                "name": name,
                "total": relations.pretty_size(row["total_bytes"]),
                "table": relations.pretty_size(row["table_bytes"]),
                "indexes": relations.pretty_size(row["index_bytes"]),
                "rows": f"{row['rows_estimate']:,}",
                "dead": f"{row['dead_tuples']:,}",
                "dead_pct": f"{row['dead_pct']:.1f}",
                "vacuum": _when(row["last_vacuum"], row["last_autovacuum"]),
                "analyze": _when(row["last_analyze"], row["last_autoanalyze"]),
            }
        )
    render(
        shown,
        as_json=False,
        title="tables",
        columns=[
            ("name", "table"),
            ("total", "total"),
            ("table", "table size"),
            ("indexes", "indexes"),
            ("rows", "rows (est.)"),
            ("dead", "dead tuples"),
            ("dead_pct", "dead %"),
            ("vacuum", "last vacuum"),
            ("analyze", "last analyze"),
        ],
    )


def indexes(
    unused: Annotated[bool, typer.Option("--unused", help="Only unused indexes.")] = False,
    duplicate: Annotated[
        bool, typer.Option("--duplicate", help="Only indexes another one makes redundant.")
    ] = False,
    invalid: Annotated[bool, typer.Option("--invalid", help="Only invalid indexes.")] = False,
    schema: Schema = None,
    partitions: Partitions = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Indexes by size with scans; flags unused, redundant and invalid ones.

    --unused, --duplicate and --invalid filter (several: any of them)."""
    from pbl_db import relations
    from pbl_db.connection import connect

    with connect(target(database_url)) as conn:
        rows = relations.indexes(conn, schema, partitions=partitions)
    if unused or duplicate or invalid:
        rows = [
            r
            for r in rows
            if (unused and r["unused"])
            or (duplicate and r["duplicate_of"])
            or (invalid and not r["valid"])
        ]
    if as_json:
        render(rows, as_json=True)
        return
    shown = []
    for row in rows:
        flags = []
        if not row["valid"]:
            flags.append("INVALID")
        if row["primary"]:
            flags.append("primary key")
        elif row["unique"]:
            flags.append("unique")
        if row["unused"]:
            flags.append("unused")
        if row["duplicate_of"]:
            how = "same key as" if row["duplicate_kind"] == "identical" else "key is a prefix of"
            flags.append(f"redundant: {how} {relations.quote_ident(row['duplicate_of'])}")
        shown.append(
            {
                "index": relations.qualified(row["schema"], row["index"]),
                "table": relations.quote_ident(row["table"]),
                "method": row["method"],
                "size": relations.pretty_size(row["bytes"]),
                "scans": f"{row['scans']:,}",
                "flags": ", ".join(flags),
            }
        )
    render(
        shown,
        as_json=False,
        title="indexes (scans counted since the statistics were last reset)",
        columns=[
            ("index", "index"),
            ("table", "table"),
            ("method", "method"),
            ("size", "size"),
            ("scans", "scans"),
            ("flags", "notes"),
        ],
    )


def locks(database_url: DatabaseUrl = None, as_json: Json = False) -> None:
    """The blocking tree: who waits for which lock, for how long, and who holds it."""
    from pbl_db import activity
    from pbl_db.connection import connect

    with connect(target(database_url)) as conn:
        rows = activity.blocking(conn)
    if as_json:
        render(rows, as_json=True)
        return
    if not rows:
        typer.echo("no session is waiting for a lock held by another")
        return
    from rich.console import Console
    from rich.tree import Tree

    by_pid = {row["pid"]: row for row in rows}
    blockers = {b["pid"]: b for row in rows for b in row["blockers"]}
    children = activity.tree(rows)
    roots = sorted({pid for row in rows for pid in row["root_pids"]})
    top = Tree("blocking tree (blocker, then the sessions waiting for it)")

    def blocker_label(pid: int) -> str:
        info = blockers.get(pid) or {}
        if pid == 0:
            return "[bold]prepared transaction[/] (see pg_prepared_xacts)"
        text = f"[bold]pid {pid}[/] {info.get('user') or ''} {info.get('application') or ''} "
        if info.get("idle_in_transaction"):
            text += "[red]IDLE IN TRANSACTION (holds its locks until it ends)[/]"
        else:
            text += info.get("state") or ""
        text += f", transaction open {_age(info.get('xact_age_s'))}"
        return text + f": {_escape(_short(info.get('query')))}"

    def waiter_label(row: dict[str, Any]) -> str:
        if row["locktype"] in ("transactionid", "tuple") and row["relation"]:
            lock = f"a row of {row['relation']} ({row['mode']} on {row['locktype']})"
        elif row["relation"]:
            lock = f"{row['mode']} on {row['relation']}"
        else:
            lock = f"{row['mode']} on {row['locktype']}"
        return (
            f"[bold]pid {row['pid']}[/] {row['user'] or ''} {row['application'] or ''} "
            f"waiting {_age(row['waiting_s'])} for {lock}: {_escape(_short(row['query']))}"
        )

    def add(node: Tree, pid: int, seen: set[int]) -> None:
        for child in sorted(children.get(pid, [])):
            if child in seen:
                continue
            branch = node.add(waiter_label(by_pid[child]))
            add(branch, child, seen | {child})

    for root in roots:
        add(top.add(blocker_label(root)), root, {root})
    Console(width=None if sys.stdout.isatty() else 200).print(top)
    idle = sorted({b["pid"] for row in rows for b in row["blockers"] if b["idle_in_transaction"]})
    if idle:
        say(
            f"pid {', '.join(map(str, idle))} idle in transaction while blocking others: "
            "end it with pbl activity terminate PID (its transaction rolls back)"
        )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


activity_app = typer.Typer(
    help="Sessions, longest transactions first; cancel or terminate one.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@activity_app.callback(invoke_without_command=True)
def activity(
    ctx: typer.Context,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help="Also idle sessions and background processes (autovacuum, ...)."
        ),
    ] = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Sessions of the server (not idle ones unless --all), longest transactions first."""
    if ctx.invoked_subcommand is not None:
        return
    from pbl_db import activity as core
    from pbl_db.connection import connect

    with connect(target(database_url)) as conn:
        rows = core.sessions(conn, include_all=show_all)
    if as_json:
        render(rows, as_json=True)
        return
    shown = [
        {
            **row,
            "application": row["application"]
            if row["backend_type"] == "client backend"
            else row["application"] or row["backend_type"],
            "wait": ":".join(p for p in (row["wait_event_type"], row["wait_event"]) if p),
            "xact": _age(row["xact_age_s"]),
            "query_age": _age(row["query_age_s"]) if row["state"] == "active" else "",
            "blocked": ", ".join(map(str, row["blocked_by"])),
            "text": _short(row["query"]),
        }
        for row in rows
    ]
    render(
        shown,
        as_json=False,
        title="sessions (longest transactions first)",
        columns=[
            ("pid", "pid"),
            ("user", "user"),
            ("application", "application"),
            ("database", "database"),
            ("state", "state"),
            ("wait", "waiting for"),
            ("blocked", "blocked by"),
            ("xact", "xact age"),
            ("query_age", "query age"),
            ("text", "query"),
        ],
    )


def _signal(verb: str, pid: int, yes: bool, dry_run: bool, database_url: str | None) -> None:
    from pbl_db import activity as core
    from pbl_db.connection import connect
    from pbl_db.errors import RefusedError

    with connect(target(database_url)) as conn:
        found = core.session(conn, pid)
        if found["is_self"]:
            raise RefusedError(
                f"pid {pid} is pbl's own session; refusing to {verb} it", "name another pid"
            )
        say(
            f"pid {pid}: {found['user'] or '-'} {found['application'] or ''} on "
            f"{found['database'] or '-'}, {found['backend_type']}, state {found['state'] or '-'}, "
            f"transaction open {_age(found['xact_age_s']) or '-'}: {_short(found['query'], 200)}"
        )
        effect = (
            "cancel its running query (the session and its transaction stay)"
            if verb == "cancel"
            else "end its session (its open transaction rolls back)"
        )
        if verb == "cancel" and found["state"] != "active":
            say(
                f"note: pid {pid} is {found['state'] or 'not running a query'}: cancelling "
                "does nothing then; terminate ends its transaction"
            )
        if dry_run:
            typer.echo(f"dry run: would {effect} for pid {pid}; nothing changed")
            return
        if not yes and not typer.confirm(f"{verb.capitalize()} pid {pid}?", default=False):
            raise RefusedError(f"not confirmed; pid {pid} was left alone", "answer y or pass --yes")
        # the pid of the session just shown: a backend that took the pid since is left alone
        signal = core.cancel if verb == "cancel" else core.terminate
        signal(conn, pid, backend_start=found["backend_start"])
    done = "cancelled the query of" if verb == "cancel" else "terminated"
    typer.echo(f"{done} pid {pid}")


@activity_app.command()
def cancel(
    pid: Pid, yes: Yes = False, dry_run: DryRun = False, database_url: DatabaseUrl = None
) -> None:
    """Cancel the running query of PID (pg_cancel_backend); asks first unless --yes."""
    _signal("cancel", pid, yes, dry_run, database_url)


@activity_app.command()
def terminate(
    pid: Pid, yes: Yes = False, dry_run: DryRun = False, database_url: DatabaseUrl = None
) -> None:
    """End the session of PID (pg_terminate_backend); asks first unless --yes."""
    _signal("terminate", pid, yes, dry_run, database_url)
