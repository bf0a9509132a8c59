"""pbl audit: Tamper-evident audit trail: seal, proof, verify."""

from __future__ import annotations

import typer

app = typer.Typer(help="Tamper-evident audit trail: seal, proof, verify.")
