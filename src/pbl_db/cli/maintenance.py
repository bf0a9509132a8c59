"""pbl maintenance: analyze, vacuum and reindex from sql/maintenance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, Progress, SqlDir, render, say, target

if TYPE_CHECKING:
    import psycopg

    from pbl_db.connection import Target
    from pbl_db.maintenance import Task

app = typer.Typer(help="ANALYZE, VACUUM and REINDEX (CONCURRENTLY) from sql/maintenance.")

Tables = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        "-t",
        help='A table (name, schema.name or \'"Sch"."My Table"\'); repeat for more. '
        "Default: applications, devices, audit_logs.",
        show_default=False,
    ),
]
AllTables = Annotated[
    bool, typer.Option("--all", help="Every user table (partitioned ones recurse).")
]
LockTimeout = Annotated[
    str,
    typer.Option(
        "--lock-timeout",
        help="Give up on a lock after this long (10s, 500ms, 2min; a bare number is seconds).",
    ),
]
StatementTimeout = Annotated[
    str, typer.Option("--statement-timeout", help="statement_timeout per statement (0 = none).")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

FULL_WARNING = (
    "warning: VACUUM FULL rewrites each table under an ACCESS EXCLUSIVE lock: every read and "
    "write of it waits until the rewrite ends, and it needs free disk space for a full copy; "
    "on a live database prefer plain VACUUM (or pg_repack)"
)
PLAIN_REINDEX_WARNING = (
    "warning: a plain REINDEX holds a SHARE lock on the table (writes wait) and an ACCESS "
    "EXCLUSIVE lock on the index (reads that would use it wait) until it ends; "
    "use --concurrently on a live database"
)


def _run(
    tasks: list[Task],
    *,
    resolved: Target,
    conn: psycopg.Connection[Any],
    dry_run: bool,
    as_json: bool,
    lock_timeout: str,
    statement_timeout: str,
    sql_dir: str | None,
    columns: list[tuple[str, str]],
    nothing: str,
) -> None:
    """Show the plan, then (unless a dry run) run it with progress, then the outcome."""
    from pbl_db import maintenance
    from pbl_db.connection import connect
    from pbl_db.relations import pretty_size

    def rows() -> list[dict[str, Any]]:
        out = []
        for task in tasks:
            row = task.as_dict()
            row["what"] = task.display
            row["size"] = pretty_size(task.bytes)
            row["bloat"] = pretty_size(task.bloat_bytes)
            row["after"] = pretty_size(task.bytes_after)
            out.append(row)
        return out

    if not tasks:
        if as_json:
            render([], as_json=True)
        else:
            typer.echo(nothing)
        return
    runnable = [t for t in tasks if t.runs]
    if as_json:
        for task in tasks:
            verb = "would" if dry_run else "will"
            if task.runs:
                say(f"{verb} {task.action.upper()} {task.display}: {task.reason}")
            else:
                say(f"{task.action}: {task.display}: {task.reason}")
    else:
        title = "dry run: nothing will change" if dry_run else "plan"
        render(rows(), as_json=False, columns=columns, title=title)
    if dry_run or not runnable:
        if not dry_run:
            for task in tasks:
                task.status = "skipped"
        if as_json:
            render([t.as_dict() for t in tasks], as_json=True)
        return
    with connect(resolved) as watch, Progress("maintenance") as bar:
        maintenance.run(
            conn,
            tasks,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            watch=watch,
            on_progress=lambda label, done, total: bar(done, total, label),
            on_event=say,
            sql_dir=sql_dir,
        )
    if as_json:
        render([t.as_dict() for t in tasks], as_json=True)
    else:
        done = sum(1 for t in tasks if t.status == "done")
        skipped = sum(1 for t in tasks if t.status == "skipped")
        typer.echo(f"done: {done} finished, {skipped} skipped")


_TABLE_COLUMNS = [("action", "action"), ("what", "table"), ("sql", "statement")]


@app.command()
def analyze(
    table: Tables = None,
    all_tables: AllTables = False,
    dry_run: DryRun = False,
    lock_timeout: LockTimeout = "10s",
    statement_timeout: StatementTimeout = "0",
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """ANALYZE the spec's tables (applications, devices, audit_logs), --table ones, or --all."""
    from pbl_db import maintenance, timeouts
    from pbl_db.connection import connect

    timeouts.check_timeouts(lock_timeout, statement_timeout)
    resolved = target(database_url)
    with connect(resolved) as conn:
        tasks = maintenance.plan_analyze(conn, table or (), all_tables=all_tables, sql_dir=sql_dir)
        _run(
            tasks,
            resolved=resolved,
            conn=conn,
            dry_run=dry_run,
            as_json=as_json,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            sql_dir=sql_dir,
            columns=_TABLE_COLUMNS,
            nothing="no tables to analyze",
        )


@app.command()
def vacuum(
    table: Tables = None,
    all_tables: AllTables = False,
    with_analyze: Annotated[
        bool, typer.Option("--analyze", help="Also update planner statistics.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="VACUUM FULL: rewrite the tables under an ACCESS EXCLUSIVE lock (asks first).",
        ),
    ] = False,
    yes: Yes = False,
    dry_run: DryRun = False,
    lock_timeout: LockTimeout = "10s",
    statement_timeout: StatementTimeout = "0",
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """VACUUM (never FULL unless --full) the spec's tables, --table ones, or --all."""
    import sys

    from pbl_db import maintenance, timeouts
    from pbl_db.connection import connect
    from pbl_db.errors import RefusedError

    timeouts.check_timeouts(lock_timeout, statement_timeout)
    resolved = target(database_url)
    with connect(resolved) as conn:
        tasks = maintenance.plan_vacuum(
            conn,
            table or (),
            all_tables=all_tables,
            analyze=with_analyze,
            full=full,
            sql_dir=sql_dir,
        )
        if full:
            say(FULL_WARNING)
            if tasks and not dry_run and not yes:
                if not sys.stdin.isatty():
                    raise RefusedError(
                        "VACUUM FULL needs confirmation and stdin is not a terminal; nothing done",
                        "pass --yes to confirm",
                    )
                names = ", ".join(t.display for t in tasks)
                if not typer.confirm(f"Rewrite {names} with VACUUM FULL?", default=False):
                    raise RefusedError("VACUUM FULL not confirmed; nothing done", "pass --yes")
        _run(
            tasks,
            resolved=resolved,
            conn=conn,
            dry_run=dry_run,
            as_json=as_json,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            sql_dir=sql_dir,
            columns=_TABLE_COLUMNS,
            nothing="no tables to vacuum",
        )


@app.command()
def reindex(
    concurrently: Annotated[
        bool,
        typer.Option(
            "--concurrently", help="REINDEX INDEX CONCURRENTLY: writes go on while it runs."
        ),
    ] = False,
    bloat_over: Annotated[
        str | None,
        typer.Option(
            "--bloat-over",
            help="Also rebuild btree indexes whose bloat exceeds SIZE (8kB, 100MB, 1GB).",
            show_default=False,
        ),
    ] = None,
    index: Annotated[
        list[str] | None,
        typer.Option(
            "--index",
            "-i",
            help="Only this index (repeat for more); without --bloat-over it is rebuilt "
            "whatever its state.",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRun = False,
    lock_timeout: LockTimeout = "10s",
    statement_timeout: StatementTimeout = "0",
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """Rebuild invalid indexes (and bloated ones with --bloat-over); drop the invalid
    *_ccnew/*_ccold leftovers of a failed REINDEX CONCURRENTLY."""
    from pbl_db import maintenance, timeouts
    from pbl_db.connection import connect

    threshold = maintenance.parse_size(bloat_over) if bloat_over is not None else None
    timeouts.check_timeouts(lock_timeout, statement_timeout)

    resolved = target(database_url)
    with connect(resolved) as conn:
        tasks = maintenance.plan_reindex(
            conn,
            bloat_over=threshold,
            names=index or (),
            concurrently=concurrently,
            sql_dir=sql_dir,
        )
        if not concurrently and any(t.action == "reindex" for t in tasks):
            say(PLAIN_REINDEX_WARNING)
        nothing = "nothing to reindex: no invalid indexes" + (
            f" and none with more than {bloat_over} of bloat" if bloat_over else ""
        )
        _run(
            tasks,
            resolved=resolved,
            conn=conn,
            dry_run=dry_run,
            as_json=as_json,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            sql_dir=sql_dir,
            columns=[
                ("action", "action"),
                ("what", "index"),
                ("table", "table"),
                ("size", "size"),
                ("bloat", "bloat"),
                ("reason", "reason"),
            ],
            nothing=nothing,
        )
