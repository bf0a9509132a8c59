"""pbl retention: Retention: run, backfill, legal holds."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, Progress, render, say, target

if TYPE_CHECKING:
    from pbl_db.retention import RunPlan, RunReport

app = typer.Typer(help="Retention: run, backfill, legal holds.")

BatchSize = Annotated[
    int,
    typer.Option(
        "--batch-size",
        min=1,
        max=1_000_000,  # retention.MAX_BATCH_SIZE (not imported here: --help stays fast)
        help="Rows per batch (1 to 1,000,000); each batch is its own transaction.",
    ),
]
MaxRuntime = Annotated[
    str | None,
    typer.Option(
        "--max-runtime",
        help="Stop cleanly after this long (30min, 2h, 45s); a rerun continues.",
        show_default=False,
    ),
]
LockTimeout = Annotated[
    str,
    typer.Option(
        "--lock-timeout",
        help="How long a step may wait for a lock before it backs off and retries (100ms, 2s).",
    ),
]
Application = Annotated[str, typer.Option("--application", help="applications.id (a UUID).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded with the hold).")]


def _uuid(value: str, option: str = "--application") -> uuid.UUID:
    from pbl_db.errors import ConfigError, shown

    try:
        return uuid.UUID(value)
    except ValueError:
        raise ConfigError(
            f"{option} {shown(value)!r} is not a UUID", "give applications.id, a UUID"
        ) from None


@app.command("policies")
def policies_(database_url: DatabaseUrl = None, as_json: Json = False) -> None:
    """The retention policies (audit_retention_policies): GDPR, FCRA and DEFAULT."""
    from pbl_db.connection import connect
    from pbl_db.retention import policies

    with connect(target(database_url)) as conn:
        rows = policies(conn)
    render(
        rows,
        as_json=as_json,
        columns=[("regulation", "regulation"), ("retention", "kept for"), ("description", "why")],
        title="retention policies (counted from created_at)",
    )


@app.command()
def backfill(
    batch_size: BatchSize = 5000,
    max_runtime: MaxRuntime = None,
    lock_timeout: LockTimeout = "100ms",
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Set retention_until = created_at + policy where it is missing or lower (never lowers a
    later value), in committed batches; resumable."""
    from pbl_db.connection import connect
    from pbl_db.retention import backfill as run_backfill
    from pbl_db.retention import check_batch_size, parse_duration
    from pbl_db.timeouts import normalise_timeout

    check_batch_size(batch_size)
    lock_timeout = normalise_timeout(lock_timeout)
    limit = parse_duration(max_runtime, "--max-runtime") if max_runtime else None
    with connect(target(database_url)) as conn:
        preview = run_backfill(conn, batch_size=batch_size, dry_run=True)
        total = sum(preview.to_update.values())
        if not as_json:
            per = ", ".join(f"{k} {v}" for k, v in preview.to_update.items()) or "none"
            say(f"{'would update' if dry_run else 'updating'} {total} row(s): {per}")
        if dry_run or not total:
            report = preview
        else:
            with Progress("backfilling retention_until") as progress:
                report = run_backfill(
                    conn,
                    batch_size=batch_size,
                    max_runtime=limit,
                    lock_timeout=lock_timeout,
                    on_progress=progress,
                )
    if as_json:
        render(report.as_dict(), as_json=True)
        return
    if dry_run:
        typer.echo(f"would update retention_until of {total} row(s)")
        return
    updated = sum(report.updated.values())
    typer.echo(
        f"updated retention_until of {updated} row(s) in {report.batches} batch(es) "
        f"in {report.seconds:.1f}s"
        + (f"; stopped at --max-runtime, {total - updated} left: rerun" if report.stopped else "")
    )


def _plan_rows(plan: RunPlan) -> list[dict[str, Any]]:
    return [{**row, "regulation": row["regulation"] or "-"} for row in plan.counts()]


def _show_plan(plan: RunPlan, dry_run: bool) -> None:
    render(
        _plan_rows(plan),
        as_json=False,
        columns=[
            ("table", "table"),
            ("regulation", "policy"),
            ("due", "expired / past grace"),
            ("held", "under hold (kept)"),
            ("referenced", "referenced (kept)"),
            ("waiting", "waiting for their month"),
            ("in_whole_partitions", "in whole partitions"),
            ("in_rewrites", "in rewrites"),
            ("row_deletes", "row deletes"),
        ],
        title="retention run: " + ("what it would do" if dry_run else "what it will do"),
    )
    verb = "detach" if plan.keep_tables else "drop"
    if plan.whole:
        names = ", ".join(p.name for p in plan.whole)
        say(f"{'would' if dry_run else 'will'} {verb} {len(plan.whole)} partition(s): {names}")
    if plan.rewrites:
        say(
            f"{'would' if dry_run else 'will'} rewrite {len(plan.rewrites)} partition(s) from "
            f"the rows they keep: {', '.join(p.name for p in plan.rewrites)}"
        )
    if plan.partial:
        say(
            f"{'would' if dry_run else 'will'} delete expired rows in "
            f"{', '.join(p.name for p in plan.partial)}"
        )
    if plan.waiting:
        say(
            f"leaves {', '.join(p.name for p in plan.waiting)} to be dropped whole once every "
            "row in it has expired (--max-delay)"
        )
    if not plan.total_work():
        say("nothing is due")


def _show_report(report: RunReport) -> None:
    removed = sum(report.removed.values())
    purged = {t: e.get("purged", 0) for t, e in report.soft_deleted.items()}
    typer.echo(
        f"removed {removed} audit row(s) ({report.rows_in_removed_partitions} in "
        f"{len(report.dropped) + len(report.detached)} whole partition(s), "
        + (
            f"{report.rows_in_rewrites} by rewriting {len(report.rewritten)} partition(s), "
            if report.rewritten
            else ""
        )
        + f"{report.rows_deleted} row by row); purged soft-deleted "
        + ", ".join(f"{t} {n}" for t, n in purged.items())
        + f"; {report.seconds:.1f}s"
    )
    if report.detached:
        typer.echo(f"detached (kept as tables): {', '.join(report.detached)}")
    if report.not_rewritten:
        say(
            "deleted row by row instead of rewriting: "
            + ", ".join(f"{name} ({why})" for name, why in report.not_rewritten.items())
        )
    kept = [
        f"{t}: {e['held']} held, {e['referenced']} referenced"
        for t, e in report.soft_deleted.items()
        if e.get("held") or e.get("referenced")
    ]
    if report.held:
        kept.insert(0, "audit_logs: " + ", ".join(f"{k} {v}" for k, v in report.held.items()))
    if report.waiting:
        kept.append(
            "waiting for their month: " + ", ".join(f"{k} {v}" for k, v in report.waiting.items())
        )
    if kept:
        say("kept: " + "; ".join(kept))
    if report.stopped:
        say(f"stopped early ({report.stopped}): rerun `pbl retention run` to continue")
    say(f"recorded as audit event {report.event_id} (retention.run)")


@app.command()
def run(
    batch_size: BatchSize = 5000,
    max_runtime: MaxRuntime = None,
    keep_tables: Annotated[
        bool,
        typer.Option(
            "--keep-tables",
            help="Detach whole expired partitions and rename them <name>_detached instead of "
            "dropping them.",
        ),
    ] = False,
    grace: Annotated[
        str,
        typer.Option(
            "--grace", help="Soft-deleted rows are purged this long after deleted_at (30d, 12h)."
        ),
    ] = "30d",
    max_delay: Annotated[
        str,
        typer.Option(
            "--max-delay",
            help="An expired row may wait this long (e.g. 31d) for its whole month to be "
            "dropped instead of being deleted row by row now; 0: delete now.",
        ),
    ] = "0",
    thin: Annotated[
        str,
        typer.Option(
            "--thin",
            help="How a month that keeps some rows loses its expired ones: rewrite (rebuild a "
            "past month from the rows it keeps), delete (in batches), or auto: rewrite when at "
            "least half its rows go.",
        ),
    ] = "auto",
    lock_timeout: LockTimeout = "100ms",
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Remove what retention no longer requires: whole expired partitions, expired audit rows
    (in batches, through pbl_purge_expired_audit_logs), soft-deleted rows past --grace;
    legal holds and references are kept. Says what it will do first; writes one audit event."""
    from pbl_db.connection import connect
    from pbl_db.errors import BusyError, ConfigError, shown
    from pbl_db.replica import require_primary
    from pbl_db.retention import THIN_METHODS, check_batch_size, execute, parse_duration, plan
    from pbl_db.timeouts import normalise_timeout

    # everything checked before connecting: a dry run refuses what a real run refuses
    check_batch_size(batch_size)
    if thin not in THIN_METHODS:
        raise ConfigError(
            f"--thin {shown(thin)!r} is not one of {', '.join(THIN_METHODS)}", "the default is auto"
        )
    lock_timeout = normalise_timeout(lock_timeout)
    grace_delta = parse_duration(grace, "--grace")
    delay = parse_duration(max_delay, "--max-delay")
    limit = parse_duration(max_runtime, "--max-runtime") if max_runtime is not None else None
    with connect(target(database_url)) as conn:
        require_primary(conn, "pbl retention run")
        the_plan = plan(
            conn, grace=grace_delta, keep_tables=keep_tables, max_delay=delay, thin=thin
        )
        if dry_run:
            if as_json:
                render({"dry_run": True, "plan": the_plan.as_dict()}, as_json=True)
            else:
                _show_plan(the_plan, dry_run=True)
            return
        if not as_json:
            _show_plan(the_plan, dry_run=False)
        with Progress("retention") as progress:
            report = execute(
                conn,
                the_plan,
                batch_size=batch_size,
                max_runtime=limit,
                lock_timeout=lock_timeout,
                on_progress=progress,
            )
    if as_json:
        render({"plan": the_plan.as_dict(), "report": report.as_dict()}, as_json=True)
    else:
        _show_report(report)
    if report.busy:
        raise BusyError(
            f"lock not had in time for {', '.join(report.busy)}; the rest was done",
            "rerun `pbl retention run` later",
        )


@app.command("hold")
def hold_(
    application: Application,
    reason: Reason,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Place a legal hold on an application: retention and erasure skip it until released."""
    from pbl_db.connection import connect
    from pbl_db.retention import hold

    app_id = _uuid(application)
    with connect(target(database_url)) as conn:
        placed = hold(conn, app_id, reason)
    if as_json:
        render(placed, as_json=True)
    else:
        typer.echo(
            f"legal hold {placed['id']} placed on application {app_id} "
            f"(tenant {placed['tenant_id']}) by {placed['placed_by']}"
        )


@app.command("release")
def release_(
    application: Application,
    reason: Reason,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Release an application's legal hold (the hold stays on record with the release)."""
    from pbl_db.connection import connect
    from pbl_db.retention import release

    app_id = _uuid(application)
    with connect(target(database_url)) as conn:
        released = release(conn, app_id, reason)
    if as_json:
        render(released, as_json=True)
    else:
        typer.echo(
            f"legal hold {released['id']} on application {app_id} released by "
            f"{released['released_by']}"
        )


@app.command("holds")
def holds_(
    include_released: Annotated[
        bool, typer.Option("--all", help="Include released holds.")
    ] = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Active legal holds (--all: released ones too), newest first."""
    from pbl_db.connection import connect
    from pbl_db.retention import holds

    with connect(target(database_url)) as conn:
        rows = holds(conn, include_released=include_released)
    columns = [
        ("id", "hold"),
        ("application_id", "application"),
        ("tenant_id", "tenant"),
        ("reason", "reason"),
        ("placed_at", "placed"),
        ("placed_by", "by"),
    ]
    if include_released:
        columns += [("released_at", "released"), ("release_reason", "release reason")]
    render(rows, as_json=as_json, columns=columns, title="legal holds")
