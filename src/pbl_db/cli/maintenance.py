"""pbl maintenance: analyze, vacuum and reindex from sql/maintenance."""

from __future__ import annotations

import typer

app = typer.Typer(help="ANALYZE, VACUUM and REINDEX (CONCURRENTLY) from sql/maintenance.")
