"""pbl report: one self-contained HTML page for a team."""

from __future__ import annotations


def report() -> None:
    """Write the HTML report."""
