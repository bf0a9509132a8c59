"""Login lockout in SQL (migrations 0021, 0026): failures counted race-free, exponential lock, no
login while locked, for the services' role too, which cannot clear a lock itself."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import psycopg
import pytest

pytestmark = pytest.mark.matrix

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


def make_user(conn: psycopg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    tenant = uuid.uuid4()
    conn.execute(
        "INSERT INTO tenants (id, name, slug) VALUES (%s, 'Lock Co', %s)",
        (tenant, f"lock-{tenant.hex[:8]}"),
    )
    row = conn.execute(
        "INSERT INTO users (tenant_id, email, password_hash) VALUES (%s, %s, %s) RETURNING id",
        (tenant, f"{tenant.hex[:8]}@example.test", HASH),
    ).fetchone()
    assert row is not None
    return tenant, row[0]


def fail(conn: psycopg.Connection, user: uuid.UUID) -> timedelta | None:
    """One failure; how long the user is locked for from now (None: not locked)."""
    row = conn.execute("SELECT pbl_record_login_failure(%s) - now()", (user,)).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def state(conn: psycopg.Connection, user: uuid.UUID) -> tuple:  # type: ignore[type-arg]
    row = conn.execute(
        "SELECT failed_login_attempts, locked_until IS NOT NULL, last_login_at IS NOT NULL "
        "FROM users WHERE id = %s",
        (user,),
    ).fetchone()
    assert row is not None
    return row


def test_lock_from_the_nth_failure_doubling_up_to_the_maximum(conn) -> None:  # type: ignore[no-untyped-def]
    _, user = make_user(conn)
    conn.execute("SET pbl.lockout_after = '3'")
    conn.execute("SET pbl.lockout_base = '10 seconds'")
    conn.execute("SET pbl.lockout_max = '1 minute'")
    locks = []
    for _ in range(6):
        with conn.transaction():  # now() moves between failures, as between logins
            locks.append(fail(conn, user))
    assert locks[:2] == [None, None]
    assert [round(lock.total_seconds()) for lock in locks[2:]] == [10, 20, 40, 60]  # type: ignore[union-attr]
    assert state(conn, user)[:2] == (6, True)


def test_no_login_while_locked_then_a_login_resets(conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    tenant, user = make_user(conn)
    conn.execute("SET pbl.lockout_after = '1'")
    fail(conn, user)
    with pytest.raises(psycopg.Error, match="locked until") as refused:
        conn.execute("SELECT pbl_record_login_success(%s)", (user,))
    assert refused.value.sqlstate == "PBL01"
    conn.rollback()
    with psycopg.connect(db_url, autocommit=True) as service:  # the services' role, by hand
        service.execute("SET ROLE application_user")
        service.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(tenant),))
        with pytest.raises(psycopg.Error) as refused:
            service.execute("UPDATE users SET last_login_at = now() WHERE id = %s", (user,))
        assert refused.value.sqlstate == "PBL01"
        for unlock in (  # the services cannot clear a lockout themselves (migration 0026)
            "UPDATE users SET locked_until = NULL WHERE id = %s",
            "UPDATE users SET failed_login_attempts = 0 WHERE id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                service.execute(unlock, (user,))
        with pytest.raises(psycopg.Error) as core:  # the definer core refuses a running lock too
            service.execute("SELECT pbl_lockout_count_success(%s)", (user,))
        assert core.value.sqlstate == "PBL01"
        # the platform's way: pbl_unlock_user(), which leaves its audit event
        service.execute("SELECT pbl_unlock_user(%s, 'called the help desk')", (user,))
        service.execute("SELECT pbl_record_login_success(%s)", (user,))
    assert state(conn, user) == (0, False, True)
    event = conn.execute(
        "SELECT event_category, event_data ->> 'reason', previous_state ->> 'failed_login_attempts'"
        " FROM audit_logs WHERE event_type = 'user.unlocked' AND event_data ->> 'user_id' = %s",
        (str(user),),
    ).fetchone()
    assert event == ("administration", "called the help desk", "1")


def test_a_disabled_or_unknown_user_cannot_log_in(conn) -> None:  # type: ignore[no-untyped-def]
    _, user = make_user(conn)
    conn.execute("UPDATE users SET is_active = false WHERE id = %s", (user,))
    with pytest.raises(psycopg.Error, match="disabled") as refused:
        conn.execute("SELECT pbl_record_login_success(%s)", (user,))
    assert refused.value.sqlstate == "PBL02"
    conn.rollback()
    with pytest.raises(psycopg.errors.NoDataFound):
        conn.execute("SELECT pbl_record_login_failure(%s)", (uuid.uuid4(),))
    conn.rollback()


def test_another_tenant_s_user_is_out_of_reach(conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _, user = make_user(conn)
    other, _ = make_user(conn)
    conn.commit()
    with psycopg.connect(db_url, autocommit=True) as service:
        service.execute("SET ROLE application_user")
        service.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(other),))
        with pytest.raises(psycopg.errors.NoDataFound):
            service.execute("SELECT pbl_record_login_failure(%s)", (user,))
    assert state(conn, user)[0] == 0


def test_concurrent_failures_are_all_counted(conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _, user = make_user(conn)
    conn.commit()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            with psycopg.connect(db_url) as session:
                barrier.wait()
                for _ in range(5):
                    session.execute("SELECT pbl_record_login_failure(%s)", (user,))
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert state(conn, user)[:2] == (40, True)


def test_bad_setting_is_refused(conn) -> None:  # type: ignore[no-untyped-def]
    _, user = make_user(conn)
    conn.execute("SET pbl.lockout_after = '0'")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="lockout_after"):
        fail(conn, user)
    conn.rollback()
