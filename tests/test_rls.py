"""Row-level security as application_user: tenant A can never read, create, change or remove
tenant B's rows, and a session with no tenant sees nothing and gets no error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from pbl_db.tenant import tenant_transaction

pytestmark = pytest.mark.matrix

TABLES = ["tenants", "users", "applications", "devices", "audit_logs"]
DENIED = (psycopg.errors.InsufficientPrivilege,)  # 42501: privilege or policy violation


@dataclass
class Tenants:
    a: uuid.UUID
    b: uuid.UUID
    rows: dict[str, dict[str, uuid.UUID]]  # table -> {"a": id, "b": id}


def insert_row(conn: psycopg.Connection, table: str, tenant: uuid.UUID, tag: str) -> uuid.UUID:
    statements = {
        "users": (
            "INSERT INTO users (tenant_id, email, password_hash) VALUES (%s, %s, '$scrypt$x') "
            "RETURNING id",
            (tenant, f"{tag}-{uuid.uuid4().hex[:6]}@example.test"),
        ),
        "applications": (
            "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status) VALUES (%s, %s, 'pbl:v1:k:AAAA', 50000, 'employed') RETURNING id",
            (tenant, tag),
        ),
        "devices": (
            "INSERT INTO devices (tenant_id, device_id_external, device_type, region) "
            "VALUES (%s, %s, 'android', 'us-east') RETURNING id",
            (tenant, f"{tag}-{uuid.uuid4().hex[:6]}"),
        ),
        "audit_logs": (
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
            "VALUES (%s, %s, 'test', 'pbl-tests') RETURNING id",
            (tenant, tag),
        ),
    }
    query, params = statements[table]
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def tenants(conn: psycopg.Connection) -> Tenants:
    """Two tenants with one row each in every table, written as superuser (bypasses RLS)."""
    ids = {}
    for tag in ("a", "b"):
        row = conn.execute(
            "INSERT INTO tenants (name, slug) VALUES (%s, %s) RETURNING id",
            (f"Tenant {tag}", f"tenant-{tag}-{uuid.uuid4().hex[:6]}"),
        ).fetchone()
        assert row is not None
        ids[tag] = row[0]
    rows: dict[str, dict[str, uuid.UUID]] = {"tenants": dict(ids)}
    for table in TABLES[1:]:
        rows[table] = {tag: insert_row(conn, table, ids[tag], f"row-{tag}") for tag in ids}
    return Tenants(ids["a"], ids["b"], rows)


@contextmanager
def as_app(db_url: str, tenant: uuid.UUID | None) -> Iterator[psycopg.Connection]:
    """A transaction as application_user, scoped to tenant (or to none)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        if tenant is None:
            with conn.transaction():
                conn.execute("SET LOCAL ROLE application_user")
                yield conn
        else:
            with tenant_transaction(conn, tenant):
                conn.execute("SET LOCAL ROLE application_user")
                yield conn


def still_there(conn: psycopg.Connection, table: str, row_id: uuid.UUID) -> bool:
    query = sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(sql.Identifier(table))
    row = conn.execute(query, (row_id,)).fetchone()
    return row == (1,)


@pytest.mark.parametrize("table", TABLES)
def test_select_sees_only_own_tenant(db_url: str, tenants: Tenants, table: str) -> None:
    with as_app(db_url, tenants.a) as conn:
        query = sql.SQL("SELECT id FROM {}").format(sql.Identifier(table))
        seen = {r[0] for r in conn.execute(query)}
    assert seen == {tenants.rows[table]["a"]}


@pytest.mark.parametrize("table", TABLES)
def test_no_tenant_sees_nothing_without_error(db_url: str, tenants: Tenants, table: str) -> None:
    with as_app(db_url, None) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        assert conn.execute(query).fetchone() == (0,)


@pytest.mark.parametrize("table", TABLES[1:])
def test_insert_into_other_tenant_is_refused(
    db_url: str, conn: psycopg.Connection, tenants: Tenants, table: str
) -> None:
    before = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
        (tenants.b,),
    ).fetchone()
    with pytest.raises(DENIED), as_app(db_url, tenants.a) as app:
        insert_row(app, table, tenants.b, "intruder")
    after = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
        (tenants.b,),
    ).fetchone()
    assert before == after


def test_insert_own_rows_works(db_url: str, tenants: Tenants) -> None:
    with as_app(db_url, tenants.a) as app:
        for table in TABLES[1:]:
            insert_row(app, table, tenants.a, "own")


def test_tenants_cannot_be_created_by_the_application(db_url: str, tenants: Tenants) -> None:
    with pytest.raises(DENIED), as_app(db_url, tenants.a) as app:
        app.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'x', 'x-new')", (tenants.a,))


UPDATES = {
    "tenants": "UPDATE tenants SET name = 'hijacked' WHERE id = %s",
    "users": "UPDATE users SET first_name = 'hijacked' WHERE id = %s",
    "applications": "UPDATE applications SET review_reason = 'hijacked' WHERE id = %s",
    "devices": "UPDATE devices SET current_task = 'hijacked' WHERE id = %s",
    "audit_logs": "UPDATE audit_logs SET verification_notes = 'hijacked' WHERE id = %s",
}


@pytest.mark.parametrize("table", TABLES)
def test_update_of_other_tenant_changes_nothing(
    db_url: str, conn: psycopg.Connection, tenants: Tenants, table: str
) -> None:
    with as_app(db_url, tenants.a) as app:
        cur = app.execute(UPDATES[table], (tenants.rows[table]["b"],))
        assert cur.rowcount == 0
        own = app.execute(UPDATES[table], (tenants.rows[table]["a"],))
        assert own.rowcount == 1  # the same statement works on the tenant's own row
    hijacked = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE id = %s AND {} = 'hijacked'").format(
            sql.Identifier(table),
            sql.Identifier(UPDATES[table].split("SET ")[1].split(" =")[0]),
        ),
        (tenants.rows[table]["b"],),
    ).fetchone()
    assert hijacked == (0,)


@pytest.mark.parametrize("table", TABLES[1:4])
def test_moving_a_row_to_another_tenant_is_refused(
    db_url: str, tenants: Tenants, table: str
) -> None:
    query = sql.SQL("UPDATE {} SET tenant_id = %s WHERE id = %s").format(sql.Identifier(table))
    with pytest.raises(DENIED), as_app(db_url, tenants.a) as app:
        app.execute(query, (tenants.b, tenants.rows[table]["a"]))


@pytest.mark.parametrize("table", TABLES)
def test_delete_of_other_tenant_removes_nothing(
    db_url: str, conn: psycopg.Connection, tenants: Tenants, table: str
) -> None:
    query = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table))
    try:
        with as_app(db_url, tenants.a) as app:
            assert app.execute(query, (tenants.rows[table]["b"],)).rowcount == 0
    except DENIED:
        pass  # no DELETE privilege at all on tenants, applications, audit_logs
    assert still_there(conn, table, tenants.rows[table]["b"])


def test_delete_privileges(db_url: str, tenants: Tenants) -> None:
    """Hard deletes only where the design allows them; soft delete elsewhere."""
    with as_app(db_url, tenants.a) as app:
        assert (
            app.execute(
                "DELETE FROM devices WHERE id = %s", (tenants.rows["devices"]["a"],)
            ).rowcount
            == 1
        )
    for table in ("tenants", "applications", "audit_logs"):
        query = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table))
        with pytest.raises(DENIED), as_app(db_url, tenants.a) as app:
            app.execute(query, (tenants.rows[table]["a"],))


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE devices",
        "CREATE TABLE public.sneaky (id int)",
        "ALTER TABLE applications ADD COLUMN sneaky int",
        "DROP TABLE devices",
        "ALTER TABLE applications DISABLE ROW LEVEL SECURITY",
    ],
)
def test_application_user_has_no_ddl(db_url: str, tenants: Tenants, statement: str) -> None:
    with pytest.raises(DENIED), as_app(db_url, tenants.a) as app:
        app.execute(statement)


def test_application_user_attributes(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
        "WHERE rolname = 'application_user'"
    ).fetchone()
    assert row == (False, False, False, False)


def test_reporting_role_reads_without_secrets(db_url: str, tenants: Tenants) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        with tenant_transaction(conn, tenants.a):
            conn.execute("SET LOCAL ROLE pbl_reporting")
            rows = conn.execute("SELECT id, decision FROM applications").fetchall()
            assert [r[0] for r in rows] == [tenants.rows["applications"]["a"]]
        for secret in (
            "SELECT ssn_encrypted FROM applications",
            "SELECT password_hash FROM users",
            "SELECT mfa_secret FROM users",
            "UPDATE devices SET model = 'x'",
        ):
            with pytest.raises(DENIED), tenant_transaction(conn, tenants.a):
                conn.execute("SET LOCAL ROLE pbl_reporting")
                conn.execute(secret)


def test_tenant_transaction_scopes_the_setting(db_url: str, tenants: Tenants) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        with tenant_transaction(conn, str(tenants.a)):
            inside = conn.execute("SELECT pbl_current_tenant_id()").fetchone()
        after = conn.execute("SELECT pbl_current_tenant_id()").fetchone()
        with pytest.raises(ValueError), tenant_transaction(conn, "not-a-uuid"):
            pass
        with conn.transaction(), pytest.raises(RuntimeError), tenant_transaction(conn, tenants.a):
            pass
    assert inside == (tenants.a,)
    assert after == (None,)
