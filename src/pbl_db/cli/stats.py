"""pbl stats: a tenant's application statistics, cached in Redis."""

from __future__ import annotations


def stats() -> None:
    """Aggregated application statistics of a tenant."""
