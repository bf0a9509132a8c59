"""`pbl local`: the embedded PostgreSQL used when no database is configured."""

from __future__ import annotations

from dataclasses import asdict

import typer

from pbl_db.cli.common import Json, render

app = typer.Typer(help="Manage the embedded PostgreSQL (data in $PBL_HOME, default ./.pbl).")

_COLUMNS = [
    ("running", "running"),
    ("pid", "pid"),
    ("data_dir", "data directory"),
    ("socket_dir", "socket directory"),
    ("url", "url"),
]


@app.command()
def start(as_json: Json = False) -> None:
    """Start the embedded server (or reuse the running one)."""
    from pbl_db import embedded

    embedded.ensure_database()
    render(asdict(embedded.status()), as_json=as_json, columns=_COLUMNS)


@app.command()
def stop(as_json: Json = False) -> None:
    """Stop the embedded server; its data stays in place."""
    from pbl_db import embedded

    render(asdict(embedded.stop()), as_json=as_json, columns=_COLUMNS)


@app.command()
def status(as_json: Json = False) -> None:
    """Whether the embedded server runs, and where."""
    from pbl_db import embedded

    state = embedded.status()
    render(asdict(state), as_json=as_json, columns=_COLUMNS)
    if not state.running:
        raise typer.Exit(3)


@app.command()
def url() -> None:
    """Print the embedded server's URL (for DATABASE_URL or psql)."""
    from pbl_db import embedded
    from pbl_db.errors import ConnectError

    state = embedded.status()
    if not state.running or not state.url:
        raise ConnectError(
            "the embedded PostgreSQL is not running", "start it with 'pbl local start'"
        )
    typer.echo(state.url)
