"""pbl retention: Retention: run, backfill, legal holds."""

from __future__ import annotations

import typer

app = typer.Typer(help="Retention: run, backfill, legal holds.")
