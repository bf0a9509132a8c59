"""INSERT ... ON CONFLICT on audit_logs must not leave a chain position without a row.

BEFORE INSERT row triggers run before the conflict check, so a row that ON CONFLICT skips (or
turns into an update of the existing row) has already taken its tenant's next chain position;
the next row would link to a hash no row has, and `pbl audit verify` would report a deletion
that never happened. Such statements are refused instead (migration 0017).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from pbl_db.tenant import tenant_transaction
from tests.test_audit_chain import Pbl, add, chain, make_tenant, verify

INSERT = (
    "INSERT INTO audit_logs (id, tenant_id, event_type, event_category, service_name, "
    "event_timestamp) VALUES (%s, %s, 'decision.retry', 'decision', 'svc', %s)"
)


def key(conn: psycopg.Connection, row_id: uuid.UUID) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT id, tenant_id, event_timestamp FROM audit_logs WHERE id = %s", (row_id,)
    ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize(
    "clause",
    [
        "ON CONFLICT DO NOTHING",
        "ON CONFLICT (id, event_timestamp) DO NOTHING",
        "ON CONFLICT (id, event_timestamp) DO UPDATE SET status = 'verified'",
    ],
)
def test_on_conflict_with_an_existing_row_is_refused(
    conn: psycopg.Connection, pbl: Pbl, db_url: str, clause: str
) -> None:
    tenant = make_tenant(conn, "acme")
    first = add(conn, tenant)
    with pytest.raises(psycopg.errors.UniqueViolation, match="chain position"):
        conn.execute(f"{INSERT} {clause}", key(conn, first))
    add(conn, tenant)
    assert [r[1] for r in chain(conn, tenant)] == [1, 2]
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]
    status = conn.execute("SELECT status FROM audit_logs WHERE id = %s", (first,)).fetchone()
    assert status == ("pending",)


def test_a_conflicting_first_row_fails_the_whole_statement(
    conn: psycopg.Connection, pbl: Pbl, db_url: str
) -> None:
    tenant = make_tenant(conn, "acme")
    first = add(conn, tenant)
    row_id, _, stamp = key(conn, first)
    fresh = uuid.uuid4()
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO audit_logs (id, tenant_id, event_type, event_category, service_name, "
            "event_timestamp) VALUES (%s, %s, 'x', 'decision', 'svc', %s), "
            "(%s, %s, 'x', 'decision', 'svc', %s) ON CONFLICT DO NOTHING",
            (row_id, tenant, stamp, fresh, tenant, stamp),
        )
    assert conn.execute("SELECT count(*) FROM audit_logs WHERE id = %s", (fresh,)).fetchone() == (
        0,
    )
    add(conn, tenant)
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]


def test_on_conflict_without_a_conflict_inserts_and_chains(
    conn: psycopg.Connection, pbl: Pbl, db_url: str
) -> None:
    tenant = make_tenant(conn, "acme")
    add(conn, tenant)
    fresh = uuid.uuid4()
    cur = conn.execute(f"{INSERT} ON CONFLICT DO NOTHING", (fresh, tenant, "2026-01-05T00:00:00Z"))
    assert cur.rowcount == 1
    assert [r[1] for r in chain(conn, tenant)] == [1, 2]
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]


def test_a_service_retrying_under_row_level_security_is_refused(
    conn: psycopg.Connection, db_url: str, pbl: Pbl
) -> None:
    tenant = make_tenant(conn, "acme")
    first = add(conn, tenant)
    with psycopg.connect(db_url, autocommit=True) as service:
        with (
            pytest.raises(psycopg.errors.UniqueViolation),
            tenant_transaction(service, tenant),
        ):
            service.execute("SET LOCAL ROLE application_user")
            service.execute(f"{INSERT} ON CONFLICT DO NOTHING", key(conn, first))
        with tenant_transaction(service, tenant):
            service.execute("SET LOCAL ROLE application_user")
            service.execute(
                "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
                "VALUES (%s, 'x', 'decision', 'svc')",
                (tenant,),
            )
    assert [r[1] for r in chain(conn, tenant)] == [1, 2]
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]
