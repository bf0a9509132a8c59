"""Where users' emails are unique: across the platform (the spec's default) or per tenant
(migration 0025, docs/schema.md "Email uniqueness")."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from pbl_db import queries
from pbl_db.errors import BusyError, ConfigError, RefusedError, shown

SCOPES = ("global", "tenant")


@dataclass(frozen=True)
class EmailScopeChange:
    was: str
    now: str
    dry_run: bool
    shared_emails: int | None  # emails used in more than one tenant (None: not readable)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _require_migration(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(queries.load("get_email_scope_installed")).fetchone()
    if not row or not row[0]:
        raise RefusedError(
            "this database has no email scope switch (migration 0025)", "run pbl migrate first"
        )


def current_scope(conn: psycopg.Connection[Any]) -> str:
    _require_migration(conn)
    row = conn.execute(queries.load("get_users_email_scope")).fetchone()
    assert row is not None
    return str(row[0])


def _shared_emails(conn: psycopg.Connection[Any]) -> int | None:
    bypass = conn.execute(queries.load("get_rls_bypass")).fetchone()
    if not bypass or not bypass[0]:
        return None
    row = conn.execute(queries.load("count_users_shared_emails")).fetchone()
    return int(row[0]) if row else None


def set_scope(
    conn: psycopg.Connection[Any], scope: str, *, dry_run: bool, lock_timeout_ms: int = 5000
) -> EmailScopeChange:
    """Switch to scope. Going to 'global' is refused while an email is used in more than one
    tenant. The unique index is built under users' SHARE lock, waited for at most
    lock_timeout_ms."""
    if scope not in SCOPES:
        raise ConfigError(f"email scope {shown(scope)!r} is unknown", "give global or tenant")
    was = current_scope(conn)
    shared = _shared_emails(conn)
    if scope == "global" and was == "tenant" and shared:
        raise RefusedError(
            f"{shared} email(s) are used by users of more than one tenant: they cannot be "
            "unique across tenants",
            "merge or rename those users first",
        )
    if dry_run or scope == was:
        return EmailScopeChange(was, scope, dry_run, shared)
    try:
        with conn.transaction():
            conn.execute(
                queries.load("set_local_lock_timeout"),
                {"lock_timeout": f"{int(lock_timeout_ms)}ms"},
            )
            conn.execute(queries.load("set_users_email_scope"), {"scope": scope})
    except psycopg.errors.LockNotAvailable:
        raise BusyError(
            "users is in use: its lock could not be had in time; nothing changed",
            "retry later, or find the blocking sessions with pbl locks",
        ) from None
    except psycopg.errors.UniqueViolation as exc:
        raise RefusedError(str(exc.diag.message_primary or exc), exc.diag.message_hint) from None
    return EmailScopeChange(was, scope, False, shared)
