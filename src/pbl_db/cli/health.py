"""pbl health: PostgreSQL and Redis checks as a table, JSON, Nagios or Prometheus."""

from __future__ import annotations


def health() -> None:
    """Run the health checks."""
