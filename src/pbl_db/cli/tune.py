"""pbl tune: configuration recommendations, ALTER SYSTEM apply and revert."""

from __future__ import annotations

import typer

app = typer.Typer(help="Configuration recommendations; apply with ALTER SYSTEM; revert.")
