"""audit_logs: append-only content, lifecycle updates, retention_until, partitions, purge path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from pbl_db.tenant import tenant_transaction

pytestmark = pytest.mark.matrix


@pytest.fixture
def tenant(conn: psycopg.Connection) -> uuid.UUID:
    conn.execute("SET TimeZone = 'UTC'")
    row = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES ('Audit', %s) RETURNING id",
        (f"audit-{uuid.uuid4().hex[:8]}",),
    ).fetchone()
    assert row is not None
    return row[0]


def add_event(
    conn: psycopg.Connection,
    tenant: uuid.UUID,
    *,
    regulation: str | None = None,
    created_at: datetime | None = None,
    event_timestamp: datetime | None = None,
    retention_until: datetime | None = None,
) -> tuple[uuid.UUID, datetime]:
    row = conn.execute(
        """
        INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, regulation,
                                created_at, event_timestamp, retention_until)
        VALUES (%s, 'decision.made', 'decision', 'pbl-tests', %s,
                coalesce(%s, now()), coalesce(%s, now()), %s)
        RETURNING id, event_timestamp
        """,
        (tenant, regulation, created_at, event_timestamp, retention_until),
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def fetch(conn: psycopg.Connection, event_id: uuid.UUID, column: str) -> object:
    row = conn.execute(
        psycopg.sql.SQL("SELECT {} FROM audit_logs WHERE id = %s").format(
            psycopg.sql.Identifier(column)
        ),
        (event_id,),
    ).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("role", [None, "pbl_owner"])
def test_content_update_and_delete_refused_for_owner_and_superuser(
    db_url: str, conn: psycopg.Connection, tenant: uuid.UUID, role: str | None
) -> None:
    event_id, _ = add_event(conn, tenant)
    with psycopg.connect(db_url, autocommit=True) as session:
        for statement in (
            "UPDATE audit_logs SET event_description = 'rewritten' WHERE id = %s",
            "UPDATE audit_logs SET event_timestamp = now() - interval '1 day' WHERE id = %s",
            "DELETE FROM audit_logs WHERE id = %s",
        ):
            refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only")
            with refused, tenant_transaction(session, tenant):
                if role:
                    session.execute(f"SET LOCAL ROLE {role}")
                session.execute(statement, (event_id,))
    assert fetch(conn, event_id, "event_description") is None


@pytest.mark.parametrize(
    ("column", "before", "after"),
    [
        ("event_data", '{"amount": 1.0}', '{"amount": 1.00}'),  # equal as jsonb, not as text
        ("user_agent", "curl", "curl "),
        ("chain_prev_hash", None, "f" * 64),
        ("created_at", None, "2000-01-01T00:00:00Z"),
    ],
)
def test_every_content_change_is_refused_even_an_equal_looking_one(
    conn: psycopg.Connection, tenant: uuid.UUID, column: str, before: str | None, after: str
) -> None:
    """The guard compares the row byte for byte bar the lifecycle columns: a rewrite that
    jsonb equality calls equal (and that would change the chained text) is refused too."""
    event_id, _ = add_event(conn, tenant)
    name = psycopg.sql.Identifier(column)
    if before is not None:
        with conn.transaction():
            conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only")
            conn.execute(
                psycopg.sql.SQL("UPDATE audit_logs SET {} = %s WHERE id = %s").format(name),
                (before, event_id),
            )
            conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute(
            psycopg.sql.SQL("UPDATE audit_logs SET {} = %s WHERE id = %s").format(name),
            (after, event_id),
        )
    conn.rollback()


def test_a_lifecycle_update_keeps_retention_until(conn: psycopg.Connection, tenant) -> None:
    """Updates that leave retention_until alone (sealing stamps every row) keep its value."""
    event_id, _ = add_event(conn, tenant, regulation="FCRA")
    kept = fetch(conn, event_id, "retention_until")
    conn.execute("UPDATE audit_logs SET status = 'verified' WHERE id = %s", (event_id,))
    conn.execute("UPDATE audit_logs SET status = status WHERE id = %s", (event_id,))
    assert fetch(conn, event_id, "retention_until") == kept
    assert fetch(conn, event_id, "status") == "verified"


def test_application_user_cannot_touch_content(db_url: str, conn, tenant) -> None:
    event_id, _ = add_event(conn, tenant)
    refused = pytest.raises(psycopg.errors.InsufficientPrivilege)
    with psycopg.connect(db_url, autocommit=True) as session, refused:
        with tenant_transaction(session, tenant):
            session.execute("SET LOCAL ROLE application_user")
            session.execute("UPDATE audit_logs SET event_type = 'x' WHERE id = %s", (event_id,))
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            tenant_transaction(session, tenant),
        ):
            session.execute("SET LOCAL ROLE application_user")
            session.execute("DELETE FROM audit_logs WHERE id = %s", (event_id,))


def test_lifecycle_update_allowed(db_url: str, conn: psycopg.Connection, tenant) -> None:
    event_id, _ = add_event(conn, tenant)
    before = fetch(conn, event_id, "updated_at")
    with psycopg.connect(db_url, autocommit=True) as session, tenant_transaction(session, tenant):
        session.execute("SET LOCAL ROLE application_user")
        cur = session.execute(
            "UPDATE audit_logs SET status = 'verified', verified_by = 'auditor@example.test', "
            "verified_at = now(), verification_notes = 'ok' WHERE id = %s",
            (event_id,),
        )
        assert cur.rowcount == 1
    assert fetch(conn, event_id, "status") == "verified"
    assert fetch(conn, event_id, "updated_at") >= before  # type: ignore[operator]


def years_after(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)


def test_retention_until_from_regulation(conn: psycopg.Connection, tenant) -> None:
    created = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    gdpr, _ = add_event(conn, tenant, regulation="GDPR", created_at=created)
    fcra, _ = add_event(conn, tenant, regulation="fcra", created_at=created)
    other, _ = add_event(conn, tenant, regulation="PCI", created_at=created)
    none, _ = add_event(conn, tenant, created_at=created)
    assert fetch(conn, gdpr, "retention_until") == years_after(created, 7)
    assert fetch(conn, fcra, "retention_until") == years_after(created, 10)
    assert fetch(conn, other, "retention_until") == years_after(created, 7)
    assert fetch(conn, none, "retention_until") == years_after(created, 7)


def test_retention_until_cannot_be_shortened(conn: psycopg.Connection, tenant) -> None:
    created = datetime(2026, 3, 15, tzinfo=UTC)
    short, _ = add_event(
        conn,
        tenant,
        regulation="FCRA",
        created_at=created,
        retention_until=created + timedelta(days=1),
    )
    assert fetch(conn, short, "retention_until") == years_after(created, 10)
    conn.execute("UPDATE audit_logs SET retention_until = now() WHERE id = %s", (short,))
    assert fetch(conn, short, "retention_until") == years_after(created, 10)
    longer = years_after(created, 12)
    conn.execute("UPDATE audit_logs SET retention_until = %s WHERE id = %s", (longer, short))
    assert fetch(conn, short, "retention_until") == longer


def test_partitions_exist_and_strays_land_in_default(conn: psycopg.Connection, tenant) -> None:
    names = {
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_logs'::regclass"
        )
    }
    now = datetime.now(UTC)
    for offset in range(-1, 4):
        month = (now.year * 12 + now.month - 1) + offset
        assert f"audit_logs_y{month // 12:04d}m{month % 12 + 1:02d}" in names
    assert "audit_logs_default" in names

    current, _ = add_event(conn, tenant)
    future, _ = add_event(conn, tenant, event_timestamp=datetime(2099, 1, 1, tzinfo=UTC))
    past, _ = add_event(conn, tenant, event_timestamp=datetime(1990, 6, 1, tzinfo=UTC))
    where = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT id, tableoid::regclass::text FROM audit_logs WHERE id = ANY(%s)",
            ([current, future, past],),
        )
    }
    assert where[future] == where[past] == "audit_logs_default"
    assert where[current] == f"audit_logs_y{now:%Y}m{now:%m}"


def test_spec_partition_form_works(conn: psycopg.Connection, tenant) -> None:
    conn.execute("SET TimeZone = 'UTC'")  # docs/schema.md: partitions are UTC months
    conn.execute(
        "CREATE TABLE audit_logs_y2031m01 PARTITION OF audit_logs "
        "FOR VALUES FROM ('2031-01-01') TO ('2031-02-01')"
    )
    event_id, _ = add_event(conn, tenant, event_timestamp=datetime(2031, 1, 15, tzinfo=UTC))
    row = conn.execute(
        "SELECT tableoid::regclass::text FROM audit_logs WHERE id = %s", (event_id,)
    ).fetchone()
    assert row == ("audit_logs_y2031m01",)


def test_ensure_partitions_is_idempotent(conn: psycopg.Connection, db_url: str) -> None:
    assert conn.execute("SELECT count(*) FROM pbl_ensure_audit_partitions(1, 3)").fetchone() == (0,)
    made = [r[0] for r in conn.execute("SELECT * FROM pbl_ensure_audit_partitions(0, 5)")]
    assert len(made) == 2
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("SET ROLE application_user")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            other.execute("SELECT pbl_ensure_audit_partitions(1, 3)")


def test_purge_removes_only_expired_rows(conn: psycopg.Connection, db_url: str, tenant) -> None:
    old = datetime.now(UTC) - timedelta(days=11 * 366)
    expired, _ = add_event(conn, tenant, regulation="FCRA", created_at=old, event_timestamp=old)
    recent, _ = add_event(
        conn,
        tenant,
        regulation="GDPR",
        created_at=old + timedelta(days=5 * 366),
        event_timestamp=old,
    )
    current, _ = add_event(conn, tenant)

    # a forged purge flag still cannot delete a row that retention keeps
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute("SELECT set_config('pbl.audit_purge', 'on', true)")
        conn.execute("DELETE FROM audit_logs WHERE id = %s", (recent,))

    purged = conn.execute("SELECT pbl_purge_expired_audit_logs(1000)").fetchone()
    assert purged == (1,)
    left = {r[0] for r in conn.execute("SELECT id FROM audit_logs WHERE tenant_id = %s", (tenant,))}
    assert left == {recent, current}
    assert expired not in left
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("SET ROLE application_user")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            other.execute("SELECT pbl_purge_expired_audit_logs(10)")


def test_temp_table_cannot_shadow_the_retention_policy(db_url: str, conn, tenant) -> None:
    """A caller's temp table named audit_retention_policies must not lower the floor."""
    event_id, _ = add_event(conn, tenant, regulation="FCRA")
    floor = fetch(conn, event_id, "retention_until")
    with psycopg.connect(db_url, autocommit=True) as session, tenant_transaction(session, tenant):
        session.execute("SET LOCAL ROLE application_user")
        session.execute(
            "CREATE TEMP TABLE audit_retention_policies (regulation varchar, retention interval)"
        )
        session.execute(
            "INSERT INTO audit_retention_policies VALUES "
            "('DEFAULT', '-1000 years'), ('FCRA', '-1000 years')"
        )
        session.execute(
            "UPDATE audit_logs SET retention_until = '-infinity' WHERE id = %s", (event_id,)
        )
    assert fetch(conn, event_id, "retention_until") == floor


def test_application_cannot_backdate_audit_rows(db_url: str, tenant) -> None:
    refused = pytest.raises(psycopg.errors.InsufficientPrivilege)
    with (
        psycopg.connect(db_url, autocommit=True) as session,
        refused,
        tenant_transaction(session, tenant),
    ):
        session.execute("SET LOCAL ROLE application_user")
        session.execute(
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
            "created_at) VALUES (%s, 'x', 'x', 'svc', '1900-01-01')",
            (tenant,),
        )


@pytest.mark.parametrize("role", [None, "pbl_owner"])
def test_truncate_is_refused(db_url: str, conn, tenant, role: str | None) -> None:
    add_event(conn, tenant)
    with psycopg.connect(db_url, autocommit=True) as session:
        refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE")
        with refused, session.transaction():
            if role:
                session.execute(f"SET LOCAL ROLE {role}")
            session.execute("TRUNCATE audit_logs")
    assert conn.execute("SELECT count(*) FROM audit_logs").fetchone() == (1,)


def test_audit_row_cannot_name_another_tenants_application(db_url: str, conn, tenant) -> None:
    other = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES ('Other', %s) RETURNING id",
        (f"other-{uuid.uuid4().hex[:8]}",),
    ).fetchone()
    assert other is not None
    foreign_app = conn.execute(
        "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
        "employment_status) VALUES (%s, 'B', 'pbl:v1:k:AAAA', 1, 'employed') RETURNING id",
        (other[0],),
    ).fetchone()
    assert foreign_app is not None
    with psycopg.connect(db_url, autocommit=True) as session:
        refused = pytest.raises(psycopg.errors.ForeignKeyViolation)
        with refused, tenant_transaction(session, tenant):
            session.execute("SET LOCAL ROLE application_user")
            session.execute(
                "INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category, "
                "service_name) VALUES (%s, %s, 'x', 'x', 'svc')",
                (tenant, foreign_app[0]),
            )
