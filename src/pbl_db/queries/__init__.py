"""One query per .sql file, loaded by name and cached."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """Return the text of queries/<name>.sql."""
    return (resources.files(__package__) / f"{name}.sql").read_text(encoding="utf-8")
