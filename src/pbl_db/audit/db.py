"""What every audit operation needs from the database first, and queries with the content forms."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from pbl_db import queries
from pbl_db.errors import ConfigError
from pbl_db.tenant import require_rls_bypass


def prepare(conn: psycopg.Connection[Any], what: str) -> None:
    """Refuse without migration 0017 or without a role that sees every tenant's rows."""
    row = conn.execute(queries.load("get_audit_chain_installed")).fetchone()
    if not row or not row[0]:
        raise ConfigError(
            "this database has no audit chain (migration 0017_audit_chain is not applied)",
            "run pbl migrate",
        )
    require_rls_bypass(conn, what)


def removed_leaves_query(conn: psycopg.Connection[Any], name: str) -> str:
    """queries/<name>.sql, which reads the rows removed one by one through the view of
    migration 0019 (purged and rewritten rows); <name>_before_0019.sql where it is missing."""
    row = conn.execute(queries.load("get_audit_removed_leaves_view")).fetchone()
    return queries.load(name if row and row[0] else f"{name}_before_0019")


def with_content(name: str) -> sql.Composed:
    """A query whose {content} is the row's content text forms as columns (alias a)."""
    return sql.SQL(queries.load(name)).format(content=sql.SQL(queries.load("audit_chain_content")))


def block_of(value: object) -> int | None:
    """A row's block_number (varchar in the spec) as an integer; None if NULL or not a number."""
    if value is None:
        return None
    text = str(value)
    return int(text) if text.isdigit() and len(text) <= 18 else None
