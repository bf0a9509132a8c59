"""`pbl pitr`: WAL archiving, base backups, restore to a point in time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, render, say, target

app = typer.Typer(help="Point-in-time recovery: enable archiving, base backups, restore.")

BaseDest = Annotated[
    str, typer.Option("--dest", help="Directory of base backups (or PBL_BASE_BACKUP_DIR).")
]


def _dest(value: str) -> Path:
    import os

    return Path(value or os.environ.get("PBL_BASE_BACKUP_DIR") or "base-backups").expanduser()


def _dest_option(value: str) -> str:
    from pbl_db.backup.repo import dest_source

    return dest_source(value, "PBL_BASE_BACKUP_DIR")


@app.command()
def enable(
    archive_dir: Annotated[
        str, typer.Option("--archive-dir", help="WAL archive directory on the server host.")
    ],
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Set wal_level, archive_mode and a safe archive_command; report what needs a restart."""
    from dataclasses import asdict

    from pbl_db.backup.pitr import archive_command
    from pbl_db.backup.pitr import enable as run_enable

    archive_command(archive_dir)  # relative, the root: refused before connecting
    changes = run_enable(target(database_url), archive_dir, on_event=say)
    if as_json:
        render([asdict(c) for c in changes], as_json=True)
        return
    for change in changes:
        when = "after a restart" if change.needs_restart else "now (reloaded)"
        typer.echo(f"{change.name}: {change.old!r} -> {change.new!r}, in effect {when}")
    pending = [c.name for c in changes if c.needs_restart]
    if pending:
        say(f"restart PostgreSQL for {', '.join(pending)} to take effect; archiving is not on yet")
    elif not changes:
        typer.echo("archiving was already configured this way")


@app.command()
def status(database_url: DatabaseUrl = None, as_json: Json = False) -> None:
    """Archived and failed counts, last failure, and the backlog of .ready segments."""
    from pbl_db.backup.pitr import status as run_status

    state = run_status(target(database_url))
    render(
        state,
        as_json=as_json,
        columns=[
            ("archive_mode", "archive_mode"),
            ("archived_count", "archived"),
            ("last_archived_wal", "last archived"),
            ("failed_count", "failed"),
            ("last_failed_wal", "last failed"),
            ("ready_segments", "backlog (.ready)"),
            ("archive_dir", "archive dir"),
        ],
    )
    if (
        state.get("failed_count")
        and state.get("last_failed_time")
        and (
            not state.get("last_archived_time")
            or state["last_failed_time"] > state["last_archived_time"]
        )
    ):
        raise typer.Exit(1)


@app.command("base-backup")
def base_backup(
    dest: BaseDest = "", database_url: DatabaseUrl = None, as_json: Json = False
) -> None:
    """pg_basebackup with a SHA-256 manifest, checked with pg_verifybackup."""
    from pbl_db import pathcheck
    from pbl_db.backup.pitr import base_backup as run_base

    root = pathcheck.output_dir(_dest(dest), _dest_option(dest))
    meta = run_base(target(database_url), root, on_event=say)
    if as_json:
        render(meta.as_dict(), as_json=True)
    else:
        checked = (
            ""
            if meta.wal_verified
            else " (files only: no pg_verifybackup of this major for its WAL)"
        )
        typer.echo(f"base backup {meta.id} in {meta.path}, verified with pg_verifybackup{checked}")


@app.command()
def restore(
    target_time: Annotated[
        str,
        typer.Option(
            "--target-time", help='e.g. "2026-11-26 14:05:00+00" (a time zone is required).'
        ),
    ],
    data_dir: Annotated[str, typer.Option("--data-dir", help="New, empty data directory.")],
    dest: BaseDest = "",
    backup: Annotated[
        str | None,
        typer.Option("--backup", help="Base backup id (default: the newest before the target)."),
    ] = None,
    archive_dir: Annotated[
        str | None,
        typer.Option("--archive-dir", help="WAL archive (default: from the base backup)."),
    ] = None,
    start: Annotated[
        bool,
        typer.Option("--start", help="Start the restored cluster and wait for recovery to end."),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port for --start (default: a free one)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Copy the right base backup, write the recovery settings, optionally start it."""
    from dataclasses import asdict

    from pbl_db import pathcheck
    from pbl_db.backup.pitr import restore as run_restore

    result = run_restore(
        target_time,
        Path(data_dir).expanduser(),
        pathcheck.existing_dir(_dest(dest), _dest_option(dest)),
        backup_id=backup,
        archive_dir=archive_dir,
        start=start,
        port=port,
    )
    if as_json:
        render(asdict(result), as_json=True)
    elif result.started:
        typer.echo(
            f"restored {result.backup_id} to {result.target_time} in {result.data_dir}; "
            f"recovery ended, the cluster runs on port {result.port}"
        )
    else:
        typer.echo(
            f"restored {result.backup_id} into {result.data_dir} with recovery to "
            f"{result.target_time}; start it with pg_ctl -D {result.data_dir} start"
        )
