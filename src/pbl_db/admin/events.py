"""The audit event every administrative change writes, and the schema's refusals as errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pbl_db import __version__, queries
from pbl_db.errors import RefusedError


def record(
    conn: psycopg.Connection[Any],
    tenant_id: uuid.UUID,
    event_type: str,
    description: str,
    data: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
) -> uuid.UUID:
    """Insert the event in the caller's transaction; its id."""
    row = conn.execute(
        queries.load("insert_admin_event"),
        {
            "tenant_id": tenant_id,
            "event_type": event_type,
            "description": description,
            "service_version": __version__,
            "event_data": Jsonb(dict(data)),
            "previous": Jsonb(dict(previous)) if previous is not None else None,
            "new": Jsonb(dict(new)) if new is not None else None,
        },
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


@contextmanager
def schema_rules() -> Iterator[None]:
    """Turn a refusal of the schema's rules (SQLSTATE PBLxx: quota, suspension, lockout) into
    a RefusedError carrying the database's message and hint."""
    try:
        yield
    except psycopg.Error as exc:
        state = exc.sqlstate or ""
        if not state.startswith("PBL"):
            raise
        raise RefusedError(
            exc.diag.message_primary or str(exc), exc.diag.message_hint or None
        ) from None
