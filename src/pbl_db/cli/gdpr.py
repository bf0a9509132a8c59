"""pbl gdpr: GDPR: export and erase a data subject."""

from __future__ import annotations

import typer

app = typer.Typer(help="GDPR: export and erase a data subject.")
