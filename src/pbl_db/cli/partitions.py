"""pbl partitions: audit_logs monthly partitions: ensure, list, repair."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, say, target

app = typer.Typer(help="audit_logs monthly partitions: ensure, list, repair.")

LockTimeout = Annotated[
    str,
    typer.Option(
        "--lock-timeout",
        help="How long each DDL transaction may wait for its locks before it backs off and "
        "retries (100ms, 2s; a bare number is seconds).",
    ),
]


def _when(value: Any) -> str:
    if value is None:
        return ""
    if value.year == 9999 and (value.month, value.day, value.hour) == (12, 31, 23):
        return "after 9999"  # datetime.max: infinity, or a bound past what Python holds
    return f"{value:%Y-%m-%d %H:%M}"


@app.command()
def ensure(
    months_ahead: Annotated[
        int, typer.Option("--months-ahead", help="Months after the current UTC month.")
    ] = 3,
    months_back: Annotated[
        int, typer.Option("--months-back", help="Months before the current UTC month.")
    ] = 1,
    lock_timeout: LockTimeout = "100ms",
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Make the missing monthly partitions (idempotent); a month whose rows already sit in the
    default partition is reported (exit 1): `pbl partitions repair` moves them."""
    from pbl_db.connection import connect
    from pbl_db.errors import BusyError, OperationFailed
    from pbl_db.partitions import ensure as run_ensure
    from pbl_db.timeouts import normalise_timeout

    lock_timeout = normalise_timeout(lock_timeout)
    with connect(target(database_url)) as conn:
        report = run_ensure(
            conn,
            months_ahead=months_ahead,
            months_back=months_back,
            dry_run=dry_run,
            lock_timeout=lock_timeout,
        )
    if as_json:
        render(report.as_dict(), as_json=True)
    else:
        verb = "would create" if dry_run else "created"
        span = f"{report.first_month:%Y-%m} to {report.last_month:%Y-%m}"
        if report.created:
            typer.echo(f"{verb} {len(report.created)} partition(s): {', '.join(report.created)}")
        typer.echo(
            f"{span}: {len(report.present)} partition(s) already there, "
            f"{len(report.created)} {verb}, {len(report.blocked)} blocked"
        )
        for blocked in report.blocked:
            say(f"{blocked.name}: {blocked.reason}")
        if report.busy:
            say(f"lock not had in time for {', '.join(report.busy)}: rerun later")
    if report.blocked:
        raise OperationFailed(
            f"{len(report.blocked)} month(s) could not get a partition",
            "see above; rows in the default partition: `pbl partitions repair`",
        )
    if report.busy:
        raise BusyError(
            f"{len(report.busy)} partition(s) not made: audit_logs was busy",
            "rerun `pbl partitions ensure` later",
        )


@app.command("list")
def list_(
    exact: Annotated[
        bool,
        typer.Option(
            "--exact",
            help="Count rows exactly and read each partition's newest retention_until and "
            "expired rows (one scan of every partition; slow on big ones).",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Each partition: range, rows (estimate unless --exact), size, and with --exact the newest
    retention_until and whether it could be dropped whole; the default partition is flagged
    when rows sit in it."""
    from pbl_db.connection import connect
    from pbl_db.partitions import list_partitions

    with connect(target(database_url)) as conn:
        parts = list_partitions(conn, exact=exact)
    if as_json:
        render(parts, as_json=True)
        return
    rows = []
    for p in parts:
        rows.append(
            {
                "name": p["name"] + (" (DEFAULT)" if p["is_default"] else ""),
                "from": _when(p["range_from"]),
                "to": _when(p["range_to"]),
                "rows": "?"
                if p["rows"] is None
                else f"{p['rows']}" + ("" if p["rows_exact"] else " (est.)"),
                "size": p["size"],
                "newest": _when(p["newest_retention_until"]),
                "expired": "" if p["expired_rows"] is None else p["expired_rows"],
                "held": "" if p["held_rows"] is None else p["held_rows"],
                "droppable": "" if p["droppable"] is None else ("yes" if p["droppable"] else "no"),
            }
        )
    columns = [("name", "partition"), ("from", "from (UTC)"), ("to", "to"), ("rows", "rows")]
    columns.append(("size", "size"))
    if exact:
        columns += [
            ("newest", "newest retention_until"),
            ("expired", "expired"),
            ("held", "under hold"),
            ("droppable", "droppable"),
        ]
    render(rows, as_json=False, columns=columns, title="audit_logs partitions")
    for p in parts:
        if p["non_empty_default"]:
            say(
                f"{p['rows']} row(s) sit in the default partition {p['name']}: they block "
                "making the partitions they belong to; `pbl partitions repair` moves them"
            )


@app.command()
def repair(
    lock_timeout: LockTimeout = "100ms",
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Move rows out of the default partition into monthly partitions (byte-identical, no
    triggers fire), in one transaction that holds audit_logs exclusively while it copies."""
    from pbl_db.connection import connect
    from pbl_db.partitions import repair as run_repair
    from pbl_db.timeouts import normalise_timeout

    lock_timeout = normalise_timeout(lock_timeout)
    with connect(target(database_url)) as conn:
        plan = run_repair(conn, dry_run=True)
        if not as_json:
            for move in plan.moves:
                say(
                    f"{'would move' if dry_run else 'moving'} {move.rows} row(s) of "
                    f"{move.month:%Y-%m} from {plan.default} into a new {move.partition}"
                )
        report = plan if dry_run or not plan.moves else run_repair(conn, lock_timeout=lock_timeout)
    if as_json:
        render(report.as_dict(), as_json=True)
        return
    moved = sum(m.rows for m in report.moves)
    if not report.rows:
        typer.echo(f"{report.default or 'no default partition'}: empty, nothing to repair")
        return
    verb = "would move" if dry_run else "moved"
    typer.echo(
        f"{verb} {moved} row(s) from {report.default} into {len(report.moves)} partition(s)"
        + (f" in {report.seconds:.2f}s" if not dry_run else "")
    )
    if report.kept_in_default:
        say(
            f"{report.kept_in_default} row(s) with an infinite event_timestamp stay in "
            f"{report.default}: no month can hold them"
        )
