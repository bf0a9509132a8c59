"""`pbl backup`: logical backups with manifests, verification, restore and retention."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, say, target

app = typer.Typer(help="Logical backups: create, list, verify, restore, prune.")

Dest = Annotated[
    str | None,
    typer.Option("--dest", help="Backup directory (or PBL_BACKUP_DIR; default ./backups)."),
]
KeyFile = Annotated[
    str | None, typer.Option("--key-file", help="Key file for --encrypt / encrypted backups.")
]
_COLUMNS = [
    ("id", "backup"),
    ("database", "database"),
    ("format", "format"),
    ("size_mb", "size (MB)"),
    ("encrypted", "encrypted"),
    ("verified_at", "verified"),
]


def _ring(key_file: str | None, required: bool):  # type: ignore[no-untyped-def]
    """The key ring. An explicit --key-file must be usable (never ignored); without one, the
    environment's keys, or None when they are not needed and not usable."""
    import os

    from pbl_db import pathcheck
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.errors import ConfigError

    if key_file:
        pathcheck.input_file(key_file, "--key-file")
        return load_keyring(key_file)
    if required:
        if os.environ.get("PBL_KEY_FILE"):
            pathcheck.input_file(os.environ["PBL_KEY_FILE"], "PBL_KEY_FILE")
        return load_keyring(None)
    try:
        return load_keyring(None)
    except (ConfigError, OSError):
        return None


@app.command()
def create(
    dest: Dest = None,
    fmt: Annotated[
        str, typer.Option("--format", help="directory (default), custom or plain.")
    ] = "directory",
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", min=0, max=256, help="Parallel jobs (directory format; 0: min(4, CPUs))."
        ),
    ] = 0,
    compress: Annotated[
        str,
        typer.Option(
            "--compress",
            help="zstd:N (default zstd:1), gzip:N, lz4 or none; plain takes gzip:N (default 6).",
        ),
    ] = "",
    encrypt: Annotated[
        bool, typer.Option("--encrypt", help="AES-256-GCM with the active key.")
    ] = False,
    for_major: Annotated[
        int,
        typer.Option(
            "--for-major",
            min=0,
            max=99,
            help="Upgrading: dump with this newer major's pg_dump, as PostgreSQL advises.",
        ),
    ] = 0,
    key_file: KeyFile = None,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Dump the database into a new backup with a manifest (sha256 of every file, row counts)."""
    from pbl_db.backup import repo
    from pbl_db.backup.logical import CreateOptions, check_create_options
    from pbl_db.backup.logical import create as run_create

    options = CreateOptions(
        repo.writable_backup_dir(dest),
        fmt,
        jobs,
        compress,
        _ring(key_file, True) if encrypt else None,
        for_major,
    )
    check_create_options(options)
    backup = run_create(target(database_url), options, on_event=say)
    m = backup.manifest
    if as_json:
        render({**m.as_dict(), "path": str(backup.path)}, as_json=True)
    else:
        typer.echo(
            f"created backup {m.id} in {backup.path} ({m.size_bytes / 1e6:.1f} MB, "
            f"{sum(m.rows.values())} rows, {m.seconds:.1f}s)"
        )


@app.command("list")
def list_command(dest: Dest = None, as_json: Json = False) -> None:
    """The backups in the directory, newest first."""
    from pbl_db.backup import repo

    rows = [
        {
            "id": b.id,
            "database": b.manifest.database,
            "format": b.manifest.format,
            "size_mb": round(b.manifest.size_bytes / 1e6, 1),
            "encrypted": b.manifest.encrypted,
            "verified_at": b.verified_at,
            "started_at": b.manifest.started_at,
            "path": str(b.path),
        }
        for b in repo.list_backups(repo.existing_backup_dir(dest))
    ]
    render(rows, as_json=as_json, columns=_COLUMNS)


@app.command()
def verify(
    backup_id: Annotated[str, typer.Argument(help="The backup id (pbl backup list).")],
    restore: Annotated[
        bool,
        typer.Option(
            "--restore", help="Also restore into a scratch database and compare row counts."
        ),
    ] = False,
    dest: Dest = None,
    key_file: KeyFile = None,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Check checksums and the archive; exits 1 naming the first damaged file."""
    from dataclasses import asdict

    from pbl_db.backup import repo
    from pbl_db.backup.logical import verify as run_verify

    repo.check_id(backup_id)
    root = repo.existing_backup_dir(dest)
    ring = _ring(key_file, False)
    backup = repo.find_backup(root, backup_id)
    report = run_verify(
        target(database_url) if restore else None,
        backup,
        ring=ring,
        restore=restore,
        on_event=say,
    )
    if as_json:
        render(asdict(report), as_json=True)
    elif report.ok:
        extra = f", restored and compared {report.rows_compared} rows" if report.restored else ""
        typer.echo(f"backup {backup_id} is intact: {report.checked_files} files{extra}")
    for problem in report.problems:
        typer.echo(f"pbl: backup {backup_id}: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def restore(
    backup_id: Annotated[str, typer.Argument(help="The backup id (pbl backup list).")],
    target_db: Annotated[
        str, typer.Option("--target-db", help="Database to restore into (created when missing).")
    ],
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", min=0, max=256, help="Parallel jobs (directory format; 0: min(4, CPUs))."
        ),
    ] = 0,
    clean: Annotated[
        bool, typer.Option("--clean", help="Drop and recreate a non-empty target.")
    ] = False,
    dry_run: DryRun = False,
    dest: Dest = None,
    key_file: KeyFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Restore a backup after checking its manifest; a non-empty target needs --clean."""
    from pbl_db.backup import repo
    from pbl_db.backup.logical import check_database_name, check_restore
    from pbl_db.backup.logical import restore as run_restore
    from pbl_db.errors import RefusedError

    repo.check_id(backup_id)
    check_database_name(target_db)
    root = repo.existing_backup_dir(dest)
    ring = _ring(key_file, False)
    backup = repo.find_backup(root, backup_id)
    plan = (
        f"restore {backup_id} ({backup.manifest.database}, {backup.manifest.format}, "
        f"{sum(backup.manifest.rows.values())} rows) into {target_db}"
        + (", dropping and recreating it if it exists" if clean else "")
    )
    resolved = target(database_url)
    state = check_restore(resolved, backup, target_db, ring=ring, jobs=jobs)
    if dry_run:
        typer.echo(f"would {plan}")
        if state.non_empty and not clean:
            say(
                f"warning: database {target_db} exists and is not empty: the restore would be "
                "refused (exit 4); add --clean to drop and recreate it, or choose a new name"
            )
        return
    if state.non_empty and not clean:
        raise RefusedError(
            f"database {target_db} is not empty",
            "restore into a new name, or add --clean to drop and recreate it",
        )
    say(f"will {plan}")
    rows = run_restore(
        resolved,
        backup,
        target_db,
        ring=ring,
        jobs=jobs,
        clean=clean,
        on_event=say,
    )
    typer.echo(f"restored {backup_id} into {target_db}: {rows} rows, row counts match the manifest")


@app.command()
def prune(
    keep_daily: Annotated[int, typer.Option("--keep-daily", min=0, max=10000)] = 7,
    keep_weekly: Annotated[int, typer.Option("--keep-weekly", min=0, max=10000)] = 4,
    keep_monthly: Annotated[int, typer.Option("--keep-monthly", min=0, max=10000)] = 12,
    dry_run: DryRun = False,
    dest: Dest = None,
    as_json: Json = False,
) -> None:
    """Remove backups outside the grandfather-father-son policy; keeps the newest verified one."""
    import shutil

    from pbl_db.backup import repo
    from pbl_db.backup.logical import prune_plan

    keep, remove = prune_plan(
        repo.list_backups(repo.existing_backup_dir(dest)), keep_daily, keep_weekly, keep_monthly
    )
    if not dry_run:
        for backup in remove:
            say(f"removing {backup.id}")
            shutil.rmtree(backup.path)
    result = {
        "kept": [b.id for b in keep],
        ("would_remove" if dry_run else "removed"): [b.id for b in remove],
    }
    if as_json:
        render(result, as_json=True)
    else:
        verb = "would remove" if dry_run else "removed"
        names = ", ".join(b.id for b in remove) or "none"
        typer.echo(f"kept {len(keep)} backup(s); {verb} {len(remove)}: {names}")
