"""`pbl migrate`: apply, status, rollback, new, accept."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, SqlDir, render, say, target

if TYPE_CHECKING:
    from pbl_db.migrate.engine import Migrator

app = typer.Typer(help="Apply, inspect and roll back schema migrations.", no_args_is_help=False)

LockTimeout = Annotated[
    str,
    typer.Option(
        "--lock-timeout", help="lock_timeout per migration (5s, 500ms; a bare number is seconds)."
    ),
]
StatementTimeout = Annotated[
    str, typer.Option("--statement-timeout", help="statement_timeout per migration (0 = none).")
]
LockWait = Annotated[
    float,
    typer.Option("--lock-wait", help="Seconds to wait for another pbl migrate run (0 to 86400)."),
]
MAX_COUNT = 100_000


def _migrator(
    database_url: str | None,
    sql_dir: str | None,
    lock_timeout: str = "5s",
    statement_timeout: str = "15min",
    lock_wait: float = 300.0,
) -> Migrator:
    from pbl_db.migrate.engine import Migrator, Settings
    from pbl_db.paths import migrations_dir

    settings = Settings(lock_timeout, statement_timeout, lock_wait)
    settings.check()  # before the directory is read or anything connects
    directory = migrations_dir(sql_dir, must_hold_migrations=True)
    return Migrator(target(database_url), directory, settings, on_event=say)


def _print_sql(header: str, statements: tuple[str, ...]) -> None:
    typer.echo(f"-- {header}")
    for statement in statements:
        typer.echo(statement.rstrip().rstrip(";") + ";")
    typer.echo("")


@app.callback(invoke_without_command=True)
def migrate(
    ctx: typer.Context,
    target_id: Annotated[
        str | None, typer.Option("--target", help="Apply pending migrations up to this id.")
    ] = None,
    dry_run: DryRun = False,
    lock_timeout: LockTimeout = "5s",
    statement_timeout: StatementTimeout = "15min",
    lock_wait: LockWait = 300.0,
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """Apply pending migrations (all, or up to --target)."""
    if ctx.invoked_subcommand is not None:
        return
    migrator = _migrator(database_url, sql_dir, lock_timeout, statement_timeout, lock_wait)
    if dry_run:
        plan = migrator.plan(target_id)
        if as_json:
            render(
                [
                    {"id": m.id, "transactional": m.transactional, "statements": list(m.statements)}
                    for m in plan
                ],
                as_json=True,
            )
            return
        if not plan:
            typer.echo("-- nothing to apply: the database is up to date")
        for m in plan:
            mode = "transactional" if m.transactional else "non-transactional"
            _print_sql(f"{m.id} ({mode})", m.statements)
        return
    done = migrator.apply(target_id)
    if as_json:
        render(
            {"applied": [{"id": d.id, "seconds": round(d.seconds, 3)} for d in done]}, as_json=True
        )
    elif done:
        typer.echo(f"applied {len(done)} migration(s): {', '.join(d.id for d in done)}")
    else:
        typer.echo("nothing to apply: the database is up to date")


@app.command()
def status(
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """Applied, pending, drifted and missing migrations, with checksums."""
    rows = [s.as_dict() for s in _migrator(database_url, sql_dir).status()]
    if as_json:
        render(rows, as_json=True)
        return
    for row in rows:
        row["sha256"] = (row["sha256"] or "")[:12]
        row["applied_at"] = (row["applied_at"] or "")[:19].replace("T", " ")
    render(
        rows,
        as_json=False,
        columns=[
            ("id", "migration"),
            ("state", "state"),
            ("applied_at", "applied at (UTC)"),
            ("sha256", "sha256"),
            ("detail", "detail"),
        ],
    )
    counts = {
        state: sum(1 for r in rows if r["state"] == state)
        for state in ("applied", "pending", "drifted", "missing")
    }
    typer.echo(", ".join(f"{n} {state}" for state, n in counts.items()))


def _parse_count(count: str) -> int | None:
    if count.strip().lower() == "all":
        return None
    text = count.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not 1 <= int(text) <= MAX_COUNT:
        from pbl_db.errors import ConfigError, shown

        raise ConfigError(
            f"--count {shown(count)!r} must be a number from 1 to {MAX_COUNT:,}, or all",
            "use e.g. --count 2 or --count all",
        )
    return int(text)


@app.command()
def rollback(
    count: Annotated[str, typer.Option("--count", help="How many to roll back, or 'all'.")] = "1",
    to: Annotated[
        str | None, typer.Option("--to", help="Roll back everything applied after this id.")
    ] = None,
    dry_run: DryRun = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    lock_timeout: LockTimeout = "5s",
    statement_timeout: StatementTimeout = "15min",
    lock_wait: LockWait = 300.0,
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
    as_json: Json = False,
) -> None:
    """Roll back the last migration (--count N, --count all, or --to ID)."""
    wanted = None if to else _parse_count(count)
    migrator = _migrator(database_url, sql_dir, lock_timeout, statement_timeout, lock_wait)
    plan = migrator.plan_rollback(wanted, to)
    if dry_run or not plan:
        if as_json:
            render(
                [{"id": m.id, "statements": list(m.rollback_statements)} for m in plan],
                as_json=True,
            )
            return
        if not plan:
            typer.echo("-- nothing to roll back")
        for m in plan:
            _print_sql(f"rollback {m.id}", m.rollback_statements)
        return
    say(f"will roll back {len(plan)} migration(s), newest first: {', '.join(m.id for m in plan)}")
    if not yes and sys.stdin.isatty():
        typer.confirm("Proceed?", abort=True)
    done = migrator.rollback(wanted, to)
    if as_json:
        render(
            {"rolled_back": [{"id": d.id, "seconds": round(d.seconds, 3)} for d in done]},
            as_json=True,
        )
    else:
        typer.echo(f"rolled back {len(done)} migration(s): {', '.join(d.id for d in done)}")


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_devices_region.")],
    sql_dir: SqlDir = None,
) -> None:
    """Scaffold the next-numbered NNNN_name.sql and NNNN_name.rollback.sql."""
    from pbl_db.migrate.source import scaffold
    from pbl_db.paths import migrations_dir

    forward, rollback_file = scaffold(migrations_dir(sql_dir), name)
    typer.echo(f"created {forward}")
    typer.echo(f"created {rollback_file}")


@app.command()
def accept(
    migration_id: Annotated[str, typer.Argument(help="The drifted migration's id.")],
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
) -> None:
    """Record the new checksum of an applied migration whose file was edited, after review."""
    state = _migrator(database_url, sql_dir).accept(migration_id)
    typer.echo(f"accepted {state.id}: checksum {state.sha256}")
