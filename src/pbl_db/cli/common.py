"""Options shared by commands; what they print through (pbl_db.cli.output) re-exported."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.output import (
    Progress,
    optional_migrations_dir,
    read_secret,
    render,
    render_change,
    say,
    target,
)

__all__ = [
    "DatabaseUrl",
    "DryRun",
    "Json",
    "Progress",
    "SqlDir",
    "optional_migrations_dir",
    "read_secret",
    "render",
    "render_change",
    "say",
    "target",
]

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Target database URL; else DATABASE_URL, the libpq environment (PGHOST...), "
        "then the embedded server.",
        show_default=False,
    ),
]
SqlDir = Annotated[
    str | None,
    typer.Option(
        "--sql-dir", help="SQL directory holding migrations/ (or PBL_SQL_DIR).", show_default=False
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")]
