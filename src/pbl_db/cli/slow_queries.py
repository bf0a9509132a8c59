"""pbl slow-queries: the slowest statements (pg_stat_statements or a server log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, say, target

if TYPE_CHECKING:
    from pbl_db.slow_queries import EnableResult

app = typer.Typer(
    help="Slow-query report from pg_stat_statements or a server log.\n\n"
    "Exit codes: 0 ok, 2 pg_stat_statements unavailable in this database (the message says "
    "what is missing and the fix) or a bad option or log file, 3 cannot connect, 4 refused "
    "(privileges, a snapshot of another database).",
    no_args_is_help=False,
)
snapshot_app = typer.Typer(help="Keep pg_stat_statements counters to report deltas later.")
app.add_typer(snapshot_app, name="snapshot")

QUERY_WIDTH = 70
ORDER_WORDS = {
    "total": "total time",
    "mean": "mean time",
    "calls": "calls",
    "io": "I/O time",
    "max": "max time",
}


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _short(query: str, width: int = QUERY_WIDTH) -> str:
    """One line of at most width characters, leading -- comment lines dropped."""
    lines = query.splitlines()
    while len(lines) > 1 and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    text = " ".join(" ".join(lines).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: Sequence[dict[str, Any]], *, from_log: bool, delta: bool, title: str) -> None:
    shown = []
    for row in rows:
        item = {
            **row,
            **{k: _number(row.get(k)) for k in ("total_ms", "mean_ms", "max_ms", "io_ms")},
            "calls": _number(row["calls"]),
            "rows": _number(row.get("rows")),
            "share_pct": _number(row.get("share_pct")),
            "query": _short(row["query"]),
        }
        if delta:
            item["note"] = "new" if row.get("new") else "reset" if row.get("reset") else ""
        shown.append(item)
    columns = [("rank", "#"), ("queryid", "queryid"), ("calls", "calls")]
    columns += [("total_ms", "total ms"), ("mean_ms", "mean ms")]
    if from_log:
        columns += [("max_ms", "max ms"), ("share_pct", "share %")]
    else:
        columns += [("rows", "rows"), ("share_pct", "share %"), ("io_ms", "io ms")]
    if delta:
        columns.append(("note", "since"))
    columns.append(("query", "query"))
    render(shown, as_json=False, columns=columns, title=title)


@app.callback(invoke_without_command=True)
def slow_queries(
    ctx: typer.Context,
    top: Annotated[
        int, typer.Option("--top", min=1, max=100_000, help="How many statements to show.")
    ] = 10,
    order_by: Annotated[
        str,
        typer.Option(
            "--order-by",
            help="total | mean | calls | io (from a log: total | mean | calls | max).",
        ),
    ] = "total",
    min_calls: Annotated[
        int,
        typer.Option(
            "--min-calls", min=0, max=2**63 - 1, help="Hide statements called fewer times."
        ),
    ] = 1,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Report the delta since this snapshot (id or label); resets nothing.",
            show_default=False,
        ),
    ] = None,
    from_log: Annotated[
        str | None,
        typer.Option(
            "--from-log",
            help="Read a server log (FILE, FILE.gz or - for stdin) instead of pg_stat_statements.",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        str,
        typer.Option(
            "--format", help="Log format for --from-log: auto | stderr | csvlog | jsonlog."
        ),
    ] = "auto",
    log_database: Annotated[
        str | None,
        typer.Option(
            "--log-database",
            help="With --from-log: only this database's statements (csvlog, jsonlog, or a "
            "prefix with db=%d).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Top statements by total time, mean time, calls or I/O time, with their share of the total.

    Reads pg_stat_statements in the target database (the extension must be created there and
    preloaded: `pbl slow-queries enable`), or a server log with --from-log FILE. Exits 2 when
    pg_stat_statements is unavailable, naming what is missing and the fix.
    """
    if ctx.invoked_subcommand is not None:
        return
    if from_log is not None:
        _from_log(from_log, log_format, top, order_by, min_calls, log_database, since, as_json)
        return
    from pbl_db.connection import connect
    from pbl_db.slow_queries import report

    with connect(target(database_url)) as conn:
        result = report(conn, top=top, order_by=order_by, min_calls=min_calls, since=since)
    for note in result.notes:
        say(f"note: {note}")
    if as_json:
        render(result.rows, as_json=True)
        return
    span = ""
    if result.since is not None:
        label = f" {result.since.label!r}" if result.since.label else ""
        span = f" since snapshot {result.since.id}{label} ({result.since.taken_at:%Y-%m-%d %H:%M})"
    title = (
        f"Top {top} statements in {result.database} by {ORDER_WORDS.get(order_by)}{span} "
        f"(pg_stat_statements {result.extension_version})"
    )
    _table(result.rows, from_log=False, delta=result.since is not None, title=title)
    if not result.rows:
        say("no statements recorded in this database yet" + (" since the snapshot" if span else ""))


def _from_log(
    path: str,
    log_format: str,
    top: int,
    order_by: str,
    min_calls: int,
    database: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    from pbl_db.errors import ConfigError
    from pbl_db.slowlog import report

    if since is not None:
        raise ConfigError(
            "--since works on pg_stat_statements snapshots, not on a log",
            "drop --since, or cut the log to the period you want",
        )
    result = report(
        path, fmt=log_format, top=top, order_by=order_by, min_calls=min_calls, database=database
    )
    say(
        f"{path}: {result.durations} timed statement(s), {result.statements} distinct, "
        f"{result.total_ms / 1000:,.1f} s in all ({result.format} log)"
    )
    if as_json:
        render(result.rows, as_json=True)
        return
    title = f"Top {top} statements in {path} by {ORDER_WORDS.get(order_by)} ({result.format} log)"
    _table(result.rows, from_log=True, delta=False, title=title)


def _print_enable(result: EnableResult) -> None:
    status = {
        "created": "created in this database",
        "already created": "already created in this database",
        "needs preload": "not loaded (see below)",
        "not installed": "not installed on this server (see below)",
    }[result.extension]
    prefix = "would be " if result.dry_run and result.extension == "created" else ""
    typer.echo(f"pg_stat_statements: {prefix}{status}")
    for change in result.changes:
        if result.dry_run:
            when = "after a restart" if change.needs_restart else "on the reload"
        else:
            when = "after a restart" if change.needs_restart else "now (reloaded)"
        verb = "would change" if result.dry_run else "changed"
        typer.echo(f"{change.name}: {verb} {change.old} -> {change.new}, in effect {when}")
    if result.dry_run:
        typer.echo("would run:" if result.statements else "nothing to run")
        for statement in result.statements:
            typer.echo(f"  {statement};")
    for item in result.restart:
        typer.echo(f"restart: {item}")
    for warning in result.warnings:
        say(f"warning: {warning}")
    for note in result.notes:
        say(f"note: {note}")
    if result.dry_run:
        say("dry run: nothing was changed")


@app.command()
def enable(
    min_duration: Annotated[
        str | None,
        typer.Option(
            "--min-duration",
            help="log_min_duration_statement, e.g. 250ms, 1s (default: 1s when it is off, "
            "else unchanged).",
            show_default=False,
        ),
    ] = None,
    log_all_statements: Annotated[
        bool,
        typer.Option(
            "--log-all-statements",
            help="Also set log_statement = 'all' (writes every parameter, PII included, to the "
            "server log).",
        ),
    ] = False,
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Create pg_stat_statements and turn on slow-statement logging; never restarts.

    Creates the extension when the library is in shared_preload_libraries, else prints the exact
    change and the restart it needs. Sets log_min_duration_statement with ALTER SYSTEM and a
    reload. log_statement is left alone unless --log-all-statements is given.
    """
    from dataclasses import asdict

    from pbl_db.connection import connect
    from pbl_db.slow_queries import enable as run_enable
    from pbl_db.slow_queries import parse_duration_ms

    if min_duration is not None:
        parse_duration_ms(min_duration)  # refused before connecting, in a dry run too
    with connect(target(database_url)) as conn:
        result = run_enable(
            conn,
            min_duration=min_duration,
            log_all_statements=log_all_statements,
            dry_run=dry_run,
        )
    if as_json:
        render(asdict(result), as_json=True)
        for warning in result.warnings:
            say(f"warning: {warning}")
        return
    _print_enable(result)


@app.command()
def reset(
    all_databases: Annotated[
        bool,
        typer.Option(
            "--all-databases", help="Reset every database's statistics, not just this one's."
        ),
    ] = False,
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Discard this database's pg_stat_statements entries (pg_stat_statements_reset).

    Snapshots are the way to measure a period without resetting anyone's statistics:
    `pbl slow-queries snapshot`, then `pbl slow-queries --since ID`.
    """
    from dataclasses import asdict

    from pbl_db.connection import connect
    from pbl_db.slow_queries import reset as run_reset

    with connect(target(database_url)) as conn:
        plan = run_reset(conn, all_databases=all_databases, dry_run=True)
        where = "every database" if plan.scope == "cluster" else f"database {plan.database}"
        say(
            f"{'would discard' if dry_run else 'discarding'} {plan.entries} entries of {where}: "
            f"{plan.statement}"
        )
        result = plan if dry_run else run_reset(conn, all_databases=all_databases)
    if as_json:
        render(asdict(result), as_json=True)
    elif result.done:
        typer.echo(f"pg_stat_statements reset for {where}")
    else:
        typer.echo(f"dry run: pg_stat_statements of {where} left as they are")


@snapshot_app.callback(invoke_without_command=True)
def snapshot(
    ctx: typer.Context,
    label: Annotated[
        str | None,
        typer.Option("--label", help="A name to find it by (--since LABEL).", show_default=False),
    ] = None,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Store this database's pg_stat_statements counters and print the snapshot id."""
    if ctx.invoked_subcommand is not None:
        return
    from pbl_db.connection import connect
    from pbl_db.slow_queries import take_snapshot

    with connect(target(database_url)) as conn:
        snap = take_snapshot(conn, label)
    if as_json:
        render(snap.as_dict(), as_json=True)
        return
    say(
        f"snapshot {snap.id}{f' ({snap.label})' if snap.label else ''}: {snap.statements} "
        f"statement(s) at {snap.taken_at:%Y-%m-%d %H:%M:%S %Z}; report the delta with "
        f"`pbl slow-queries --since {snap.id}`"
    )
    typer.echo(snap.id)


@snapshot_app.command("list")
def snapshot_list(database_url: DatabaseUrl = None, as_json: Json = False) -> None:
    """The snapshots kept in this database, newest first."""
    from pbl_db.connection import connect
    from pbl_db.slow_queries import list_snapshots

    with connect(target(database_url)) as conn:
        snaps = [s.as_dict() for s in list_snapshots(conn)]
    if not as_json:
        for s in snaps:
            s["taken_at"] = s["taken_at"][:19].replace("T", " ")
    render(
        snaps,
        as_json=as_json,
        columns=[
            ("id", "id"),
            ("label", "label"),
            ("taken_at", "taken at"),
            ("taken_by", "by"),
            ("statements", "statements"),
            ("extension_version", "extension"),
        ],
        title="pg_stat_statements snapshots",
    )


@snapshot_app.command("delete")
def snapshot_delete(
    ref: Annotated[str, typer.Argument(help="Snapshot id or label.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a snapshot (pg_stat_statements itself is untouched)."""
    from pbl_db.connection import connect
    from pbl_db.slow_queries import delete_snapshot

    with connect(target(database_url)) as conn:
        snap = delete_snapshot(conn, ref)
    typer.echo(f"deleted snapshot {snap.id}")
