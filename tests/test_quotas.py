"""Tenant quotas and suspension in SQL (migration 0022): race-free counters, UTC months, a clear
refusal naming tenant, quota and limit; a suspended tenant's services read but do not write."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

pytestmark = pytest.mark.matrix

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


def make_tenant(conn: psycopg.Connection, **quotas: int) -> uuid.UUID:
    tenant = uuid.uuid4()
    conn.execute(
        "INSERT INTO tenants (id, name, slug) VALUES (%s, 'Quota Co', %s)",
        (tenant, f"quota-{tenant.hex[:8]}"),
    )
    for column, value in quotas.items():
        assert column in ("max_users", "max_devices", "max_applications_per_month")
        conn.execute(
            psycopg.sql.SQL("UPDATE tenants SET {} = %s WHERE id = %s").format(
                psycopg.sql.Identifier(column)
            ),
            (value, tenant),
        )
    return tenant


def slug(conn: psycopg.Connection, tenant: uuid.UUID) -> str:
    row = conn.execute("SELECT slug FROM tenants WHERE id = %s", (tenant,)).fetchone()
    assert row is not None
    return str(row[0])


def add_device(conn: psycopg.Connection, tenant: uuid.UUID) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO devices (device_id_external, tenant_id, device_type, region) "
        "VALUES (%s, %s, 'phone', 'us-east') RETURNING id",
        (uuid.uuid4().hex, tenant),
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def add_user(conn: psycopg.Connection, tenant: uuid.UUID) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO users (tenant_id, email, password_hash) VALUES (%s, %s, %s) RETURNING id",
        (tenant, f"{uuid.uuid4().hex[:12]}@example.test", HASH),
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def add_application(
    conn: psycopg.Connection, tenant: uuid.UUID, created: str | None = None
) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
        "employment_status, created_at) "
        "VALUES (%s, 'A', 'pbl:v1:k:AAAA', 1, 'employed', coalesce(%s::timestamptz, now())) "
        "RETURNING id",
        (tenant, created),
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def usage(conn: psycopg.Connection, tenant: uuid.UUID) -> tuple[int, int]:
    row = conn.execute(
        "SELECT users, devices FROM tenant_usage WHERE tenant_id = %s", (tenant,)
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def monthly(conn: psycopg.Connection, tenant: uuid.UUID) -> dict[str, int]:
    rows = conn.execute(
        "SELECT to_char(month, 'YYYY-MM'), sum(applications) FROM tenant_monthly_usage "
        "WHERE tenant_id = %s GROUP BY month HAVING sum(applications) > 0",
        (tenant,),
    ).fetchall()
    return {month: int(n) for month, n in rows}


@contextmanager
def service(db_url: str, tenant: uuid.UUID) -> Iterator[psycopg.Connection]:
    """A session as the services run: application_user with the tenant set."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET ROLE application_user")
        conn.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(tenant),))
        yield conn


SESSIONS, ATTEMPTS = 8, 3
RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock


def race(
    db_url: str, tenant: uuid.UUID, isolation: str, insert: Callable[[psycopg.Connection], object]
) -> list[str]:
    """SESSIONS service sessions, started together, each trying ATTEMPTS one-row transactions;
    the SQLSTATEs of the refused ones. A serialization failure or deadlock is retried, as a
    client must: it is not an answer, and counting it as one made the outcome depend on
    timing (under REPEATABLE READ every try of a worker could fail to serialize)."""
    start = threading.Barrier(SESSIONS)
    refusals: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with service(db_url, tenant) as svc:
            svc.execute(
                psycopg.sql.SQL("SET default_transaction_isolation = {}").format(
                    psycopg.sql.Literal(isolation)
                )
            )
            start.wait()
            for _ in range(ATTEMPTS):
                for _retry in range(100):
                    try:
                        with svc.transaction():
                            insert(svc)
                    except psycopg.Error as exc:
                        if exc.sqlstate in RETRYABLE:
                            continue
                        with lock:
                            refusals.append(exc.sqlstate or "")
                    break

    threads = [threading.Thread(target=worker) for _ in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return refusals


def test_a_full_quota_refuses_with_tenant_quota_and_limit(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_devices=2, max_users=1)
    add_device(conn, tenant)
    add_device(conn, tenant)
    add_user(conn, tenant)
    conn.commit()
    with pytest.raises(psycopg.Error) as refused:
        add_device(conn, tenant)
    assert refused.value.sqlstate == "PBL03"
    message = refused.value.diag.message_primary or ""
    assert "max_devices" in message and "quota of 2" in message
    assert "pbl tenants update --max-devices" in (refused.value.diag.message_hint or "")
    conn.rollback()
    assert f"tenant {slug(conn, tenant)} is at" in message
    with pytest.raises(psycopg.Error, match="max_users quota of 1") as refused:
        add_user(conn, tenant)
    conn.rollback()
    assert usage(conn, tenant) == (1, 2)


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_concurrent_sessions_at_the_limit_leave_exactly_the_limit(  # type: ignore[no-untyped-def]
    conn, db_url: str, isolation: str
) -> None:
    limit = 5
    tenant = make_tenant(conn, max_devices=limit)
    conn.commit()
    refusals = race(db_url, tenant, isolation, lambda svc: add_device(svc, tenant))
    row = conn.execute("SELECT count(*) FROM devices WHERE tenant_id = %s", (tenant,)).fetchone()
    assert row == (limit,)
    assert usage(conn, tenant) == (0, limit)
    assert len(refusals) == SESSIONS * ATTEMPTS - limit
    assert set(refusals) == {"PBL03"}  # each try past the limit, whatever the isolation


def test_soft_and_hard_deletes_give_seats_back_and_a_restore_takes_one(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_users=2)
    first, second = add_user(conn, tenant), add_user(conn, tenant)
    conn.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (first,))
    assert usage(conn, tenant) == (1, 0)
    third = add_user(conn, tenant)
    with pytest.raises(psycopg.Error) as refused:  # the restore would be a third live user
        conn.execute("UPDATE users SET deleted_at = NULL WHERE id = %s", (first,))
    assert refused.value.sqlstate == "PBL03"
    conn.rollback()
    tenant = make_tenant(conn, max_users=2)
    first, second = add_user(conn, tenant), add_user(conn, tenant)
    conn.execute("DELETE FROM users WHERE id = %s", (second,))
    assert usage(conn, tenant) == (1, 0)
    add_user(conn, tenant)
    # a user moved to another tenant takes a seat there and gives one back here
    other = make_tenant(conn, max_users=1)
    conn.execute("UPDATE users SET tenant_id = %s WHERE id = %s", (other, first))
    assert usage(conn, tenant) == (1, 0) and usage(conn, other) == (1, 0)
    del third


def test_applications_count_per_utc_month_soft_deletes_included(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_applications_per_month=2)
    # 23:30 at UTC-5 on 31 January is February in UTC
    add_application(conn, tenant, "2026-01-31 23:30:00-05")
    jan = add_application(conn, tenant, "2026-01-15 12:00:00+00")
    add_application(conn, tenant, "2026-01-31 22:00:00+00")
    assert monthly(conn, tenant) == {"2026-01": 2, "2026-02": 1}
    conn.execute("UPDATE applications SET deleted_at = now() WHERE id = %s", (jan,))
    with pytest.raises(psycopg.Error, match="max_applications_per_month quota of 2 for 2026-01"):
        add_application(conn, tenant, "2026-01-20 00:00:00+00")
    conn.rollback()


def test_moves_between_months_and_hard_deletes_keep_counters_exact(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_applications_per_month=1)
    app = add_application(conn, tenant, "2026-03-10 00:00:00+00")
    conn.execute(
        "UPDATE applications SET created_at = '2026-04-10 00:00:00+00' WHERE id = %s", (app,)
    )
    assert monthly(conn, tenant) == {"2026-04": 1}
    add_application(conn, tenant, "2026-03-11 00:00:00+00")  # March is free again
    conn.execute("DELETE FROM applications WHERE id = %s", (app,))
    assert monthly(conn, tenant) == {"2026-03": 1}


def test_a_copy_over_the_limit_is_refused_whole(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_devices=3)
    conn.commit()

    def copy(n: int) -> None:
        with conn.cursor().copy(
            "COPY devices (device_id_external, tenant_id, device_type, region) FROM STDIN"
        ) as copy:
            for _ in range(n):
                copy.write_row((uuid.uuid4().hex, tenant, "phone", "eu"))

    with pytest.raises(psycopg.Error) as refused:
        copy(4)
    assert refused.value.sqlstate == "PBL03"
    conn.rollback()
    copy(3)
    assert usage(conn, tenant) == (0, 3)


def test_a_lowered_limit_keeps_rows_and_refuses_new_ones(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_devices=3)
    device = add_device(conn, tenant)
    add_device(conn, tenant)
    conn.execute("UPDATE tenants SET max_devices = 1 WHERE id = %s", (tenant,))
    conn.execute("UPDATE devices SET status = 'online' WHERE id = %s", (device,))  # not a seat
    with pytest.raises(psycopg.Error, match="quota of 1"):
        add_device(conn, tenant)
    conn.rollback()


def test_services_may_not_raise_their_own_quotas_or_read_the_counters(  # type: ignore[no-untyped-def]
    conn, db_url: str
) -> None:
    tenant = make_tenant(conn, max_devices=4)
    add_device(conn, tenant)
    conn.commit()
    with service(db_url, tenant) as svc:
        svc.execute("UPDATE tenants SET name = 'Renamed' WHERE id = %s", (tenant,))
        for column in ("max_devices", "is_active", "subscription_plan"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                svc.execute(
                    psycopg.sql.SQL("UPDATE tenants SET {} = DEFAULT WHERE id = %s").format(
                        psycopg.sql.Identifier(column)
                    ),
                    (tenant,),
                )
        for table in ("tenant_usage", "tenant_monthly_usage"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                svc.execute(
                    psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier(table))
                )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            svc.execute("SELECT pbl_quota_take(%s, 'max_devices', NULL, -1)", (tenant,))
        rows = dict(
            (q, (used, lim))
            for q, used, lim in svc.execute("SELECT * FROM pbl_tenant_usage()").fetchall()
        )
    assert rows == {
        "max_users": (0, 50),
        "max_devices": (1, 4),
        "max_applications_per_month": (0, 10000),
    }


def test_a_suspended_tenant_reads_but_does_not_write(conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn)
    device, user = add_device(conn, tenant), add_user(conn, tenant)
    conn.execute("UPDATE tenants SET is_active = false WHERE id = %s", (tenant,))
    conn.commit()
    with service(db_url, tenant) as svc:
        row = svc.execute("SELECT count(*) FROM devices").fetchone()
        assert row == (1,)
        writes = [
            ("INSERT INTO devices (device_id_external, tenant_id, device_type, region) "
             "VALUES ('x-1', %s, 'phone', 'eu')", (tenant,)),
            ("UPDATE devices SET status = 'online' WHERE id = %s", (device,)),
            ("DELETE FROM users WHERE id = %s", (user,)),
            ("UPDATE applications SET status = 'error' WHERE tenant_id = %s", (tenant,)),
            ("SELECT pbl_record_login_failure(%s)", (user,)),
        ]  # fmt: skip
        for statement, params in writes:
            with pytest.raises(psycopg.Error, match="is suspended") as refused:
                svc.execute(statement, params)
            assert refused.value.sqlstate == "PBL04", statement
        # the audit trail is never refused
        svc.execute(
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
            "VALUES (%s, 'login.refused', 'security', 'auth')",
            (tenant,),
        )
    # administrators still write (erasure, retention), and resuming lets the services in again
    conn.execute("UPDATE devices SET status = 'online' WHERE id = %s", (device,))
    conn.execute("UPDATE tenants SET is_active = true WHERE id = %s", (tenant,))
    conn.commit()
    with service(db_url, tenant) as svc:
        svc.execute("UPDATE devices SET status = 'offline' WHERE id = %s", (device,))


def test_recount_mends_counters_after_writes_with_triggers_off(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_devices=10)
    add_device(conn, tenant)
    add_application(conn, tenant, "2026-05-05 00:00:00+00")
    conn.execute("SET session_replication_role = replica")
    add_device(conn, tenant)
    add_application(conn, tenant, "2026-06-05 00:00:00+00")
    conn.execute("DELETE FROM applications WHERE created_at < '2026-06-01' AND tenant_id = %s",
                 (tenant,))  # fmt: skip
    conn.execute("RESET session_replication_role")
    assert usage(conn, tenant) == (0, 1)
    row = conn.execute("SELECT pbl_quota_recount(%s)", (tenant,)).fetchone()
    assert row is not None and row[0] == 3  # devices, June made, May removed
    assert usage(conn, tenant) == (0, 2)
    assert monthly(conn, tenant) == {"2026-06": 1}
    assert conn.execute("SELECT pbl_quota_recount(%s)", (tenant,)).fetchone() == (0,)


def test_truncate_empties_the_counters(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn)
    add_device(conn, tenant)
    conn.execute("TRUNCATE devices CASCADE")
    assert usage(conn, tenant) == (0, 0)


def add_applications(conn: psycopg.Connection, tenant: uuid.UUID, created: str, n: int) -> None:
    conn.execute(
        "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
        "employment_status, created_at) "
        "SELECT %s, 'A', 'pbl:v1:k:AAAA', 1, 'employed', %s::timestamptz "
        "FROM generate_series(1, %s)",
        (tenant, created, n),
    )


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_concurrent_applications_at_the_monthly_limit_leave_exactly_the_limit(  # type: ignore[no-untyped-def]
    conn, db_url: str, isolation: str
) -> None:
    limit = 7
    tenant = make_tenant(conn, max_applications_per_month=limit)
    conn.commit()
    refusals = race(
        db_url, tenant, isolation, lambda svc: add_application(svc, tenant, "2026-02-10 00:00+00")
    )
    row = conn.execute(
        "SELECT count(*) FROM applications WHERE tenant_id = %s", (tenant,)
    ).fetchone()
    assert row == (limit,)
    assert monthly(conn, tenant) == {"2026-02": limit}
    assert len(refusals) == SESSIONS * ATTEMPTS - limit
    assert set(refusals) == {"PBL03"}  # retried serialization failures aside, never over


def test_writers_of_one_tenant_do_not_wait_for_each_other(conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_applications_per_month=1000)
    add_application(conn, tenant, "2026-07-01 00:00:00+00")  # the month's slots exist
    conn.commit()
    writers = [psycopg.connect(db_url) for _ in range(16)]
    try:
        for writer in writers:  # 16 transactions open at once: each takes its own slot
            writer.execute("SET lock_timeout = '2s'")
            add_applications(writer, tenant, "2026-07-02 00:00:00+00", 20)
        for writer in writers:
            writer.commit()
    finally:
        for writer in writers:
            writer.close()
    assert monthly(conn, tenant) == {"2026-07": 1 + 16 * 20}


def test_a_bulk_insert_gathers_room_from_every_slot_and_limit_changes_apply(conn) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(conn, max_applications_per_month=100)
    add_applications(conn, tenant, "2026-08-03 00:00:00+00", 90)  # more than any one slot holds
    with pytest.raises(psycopg.Error, match="quota of 100 for 2026-08"), conn.transaction():
        add_applications(conn, tenant, "2026-08-04 00:00:00+00", 11)
    add_applications(conn, tenant, "2026-08-04 00:00:00+00", 10)
    conn.execute("UPDATE tenants SET max_applications_per_month = 105 WHERE id = %s", (tenant,))
    add_applications(conn, tenant, "2026-08-05 00:00:00+00", 5)  # the raised limit is split anew
    conn.execute("UPDATE tenants SET max_applications_per_month = 50 WHERE id = %s", (tenant,))
    with pytest.raises(psycopg.Error, match="quota of 50"), conn.transaction():
        add_application(conn, tenant, "2026-08-06 00:00:00+00")
    assert monthly(conn, tenant) == {"2026-08": 105}
    row = conn.execute(
        "SELECT sum(allowance) <= 105, count(*) FROM tenant_monthly_usage WHERE tenant_id = %s",
        (tenant,),
    ).fetchone()
    assert row == (True, 16)
