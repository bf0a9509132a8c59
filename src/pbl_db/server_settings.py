"""Changing server settings with ALTER SYSTEM: one statement builder for pitr, slow-queries
and tune, and the record of a change they report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class SettingChange:
    name: str
    old: str
    new: str
    needs_restart: bool


# Settings whose list elements the server quotes one by one (GUC_LIST_QUOTE): given the single
# literal 'a, b', ALTER SYSTEM writes the one element "a, b" (a library that does not exist,
# and the server does not start). Their values are written one literal per element.
LIST_SETTINGS = frozenset(
    {
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
    }
)


def list_elements(value: str) -> list[str]:
    """'"$user", public' -> ['$user', 'public']: a list setting's elements, double quotes
    ("" inside) removed, as the server splits them."""
    elements: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(value):
        char = value[i]
        if char == '"':
            if quoted and value[i + 1 : i + 2] == '"':
                current.append('"')
                i += 1
            else:
                quoted = not quoted
        elif char == "," and not quoted:
            elements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    elements.append("".join(current).strip())
    return [e for e in elements if e]


def same_entry(name: str, left: str | None, right: str | None) -> bool:
    """Do two postgresql.auto.conf values of a setting mean the same (list settings by element)?"""
    if left is None or right is None or name not in LIST_SETTINGS:
        return left == right
    return list_elements(left) == list_elements(right)


def alter_system(name: str, value: str | int | Sequence[str] | None) -> sql.Composed:
    """ALTER SYSTEM SET name = value (RESET for None). A list (or a list setting's text) is
    written one literal per element; anything else as one literal."""
    if value is None:
        return sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name))
    if isinstance(value, str) and name in LIST_SETTINGS and list_elements(value):
        value = list_elements(value)
    if isinstance(value, (str, int)):
        return sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
    if not value:
        raise ValueError(f"no value to set {name} to")
    return sql.SQL("ALTER SYSTEM SET {} = {}").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Literal(e) for e in value)
    )
