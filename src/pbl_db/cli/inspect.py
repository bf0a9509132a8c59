"""pbl tables, indexes, activity and locks: what the server holds and what it is doing."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the inspection commands to the root app."""
