"""pbl partitions: audit_logs monthly partitions: ensure, list, repair."""

from __future__ import annotations

import typer

app = typer.Typer(help="audit_logs monthly partitions: ensure, list, repair.")
