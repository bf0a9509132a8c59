"""The tenant context that row-level security reads (app.current_tenant_id), for services."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from pbl_db import queries
from pbl_db.errors import RefusedError


@contextmanager
def tenant_transaction(
    conn: psycopg.Connection[Any], tenant_id: uuid.UUID | str, *, lock: bool = False
) -> Iterator[psycopg.Connection[Any]]:
    """Run a transaction as tenant_id: SET LOCAL, so the setting ends with the transaction.

    With lock=True the tenant is set by pbl_lock_tenant() (migration 0024): any later change of
    app.current_tenant_id in the transaction is refused (SQLSTATE PBL05), so an injected
    set_config() cannot reach another tenant. Roles in pbl_tenant_lock_required need it.

    Must start a new transaction: inside one that is already open, the setting would outlive
    this block (a savepoint does not scope SET LOCAL), so that is refused.
    """
    tenant = uuid.UUID(str(tenant_id))  # ValueError for anything that is not a UUID
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("tenant_transaction() must start the transaction; one is already open")
    with conn.transaction():
        query = "lock_current_tenant" if lock else "set_current_tenant"
        conn.execute(queries.load(query), {"tenant_id": str(tenant)})
        yield conn


def require_rls_bypass(conn: psycopg.Connection[Any], what: str) -> None:
    """Refuse a cross-tenant job for a role that row-level security would limit to one tenant
    (its counts or changes would silently miss the other tenants' rows)."""
    row = conn.execute(queries.load("get_rls_bypass")).fetchone()
    if not row or not row[0]:
        raise RefusedError(
            f"{what} must see every tenant's rows, but {conn.info.user} is subject to "
            "row-level security",
            "connect as a superuser or a BYPASSRLS role (e.g. the migration role) for this job",
        )
