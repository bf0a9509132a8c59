"""pbl slow-queries: the slowest statements (pg_stat_statements or a server log)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Slow-query report from pg_stat_statements or a server log.")
