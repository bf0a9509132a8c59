"""A tenant context that cannot be switched (migration 0024): once pbl_lock_tenant() has set the
tenant of a transaction, any change of app.current_tenant_id in it is refused (PBL05), and roles
in pbl_tenant_lock_required cannot use the plain setting at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pbl_db.tenant import tenant_transaction

pytestmark = pytest.mark.matrix

LOCKED = "PBL05"
SWITCHES = {
    "set_config local": "SELECT set_config('app.current_tenant_id', %(b)s, true)",
    "set_config session": "SELECT set_config('app.current_tenant_id', %(b)s, false)",
    "SET": "SET app.current_tenant_id = {b}",
    "RESET": "RESET app.current_tenant_id",
    "DO block": "DO $$ BEGIN PERFORM set_config('app.current_tenant_id', {b}, true); END $$",
}


@dataclass
class World:
    url: str
    a: uuid.UUID
    b: uuid.UUID


@pytest.fixture
def world(db_url: str, conn: psycopg.Connection) -> World:
    ids = []
    for tag in ("a", "b"):
        row = conn.execute(
            "INSERT INTO tenants (name, slug) VALUES (%s, %s) RETURNING id",
            (f"Lock {tag}", f"lock-{tag}-{uuid.uuid4().hex[:6]}"),
        ).fetchone()
        assert row is not None
        ids.append(row[0])
        conn.execute(
            "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status) VALUES (%s, %s, 'pbl:v1:k:AAAA', 1, 'employed')",
            (row[0], tag),
        )
    conn.commit()
    return World(db_url, ids[0], ids[1])


@contextmanager
def service(url: str, role: str = "application_user") -> Iterator[psycopg.Connection]:
    """A services' session: its own transaction handling (not autocommit), the given role."""
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        conn.commit()
        yield conn


def names(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT full_legal_name FROM applications ORDER BY 1")]


def lock(conn: psycopg.Connection, tenant: uuid.UUID) -> None:
    conn.execute("SELECT pbl_lock_tenant(%s)", (tenant,))


def run_switch(conn: psycopg.Connection, statement: str, b: uuid.UUID) -> None:
    if "%(b)s" in statement:
        conn.execute(statement, {"b": str(b)})
    else:  # utility statements take no parameters
        conn.execute(sql.SQL(statement).format(b=sql.Literal(str(b))))


@pytest.mark.parametrize("how", SWITCHES)
def test_switching_a_locked_tenant_is_refused(world: World, how: str) -> None:
    with service(world.url) as conn:
        lock(conn, world.a)
        assert names(conn) == ["a"]
        run_switch(conn, SWITCHES[how], world.b)
        if how == "RESET":  # no tenant at all: nothing is visible (fail closed), writes refused
            assert names(conn) == []
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(
                    "INSERT INTO audit_logs (tenant_id, event_type, event_category, "
                    "service_name) VALUES (%s, 'x', 'x', 'x')",
                    (world.b,),
                )
            assert refused.value.sqlstate in (LOCKED, "42501")  # the lock or the policy
        else:
            with pytest.raises(psycopg.Error) as refused:
                names(conn)
            assert refused.value.sqlstate == LOCKED
        conn.rollback()


def test_a_function_with_its_own_tenant_setting_is_refused(world: World) -> None:
    with service(world.url) as conn:
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION pg_temp.peek() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN "
                "PERFORM set_config('app.current_tenant_id', {}, true); "
                "RETURN (SELECT count(*) FROM public.applications); END $$"
            ).format(sql.Literal(str(world.b)))
        )
        lock(conn, world.a)
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT pg_temp.peek()")
        assert refused.value.sqlstate == LOCKED


def test_a_second_lock_in_the_same_transaction_is_refused(world: World) -> None:
    with service(world.url) as conn:
        lock(conn, world.a)
        lock(conn, world.a)  # the same tenant again changes nothing
        with pytest.raises(psycopg.Error) as refused:
            lock(conn, world.b)
        assert refused.value.sqlstate == LOCKED


@pytest.mark.parametrize(
    "unseal",
    ["RESET pbl.tenant_seal", "SELECT set_config('pbl.tenant_seal', '', true)"],
)
def test_removing_the_seal_does_not_unlock(world: World, unseal: str) -> None:
    with service(world.url) as conn:
        lock(conn, world.a)
        conn.execute(unseal)
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
        with pytest.raises(psycopg.Error) as refused:
            names(conn)
        assert refused.value.sqlstate == LOCKED
        conn.rollback()
        lock(conn, world.a)
        conn.execute(unseal)
        with pytest.raises(psycopg.Error) as again:
            lock(conn, world.b)
        assert again.value.sqlstate == LOCKED


def test_a_seal_cannot_be_copied_to_another_tenant_or_transaction(world: World) -> None:
    with service(world.url) as conn:
        lock(conn, world.a)
        row = conn.execute("SELECT current_setting('pbl.tenant_seal')").fetchone()
        assert row is not None
        seal = row[0]
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
        conn.execute("SELECT set_config('pbl.tenant_seal', %s, true)", (seal,))
        with pytest.raises(psycopg.Error) as other_tenant:
            names(conn)
        assert other_tenant.value.sqlstate == LOCKED
        conn.rollback()
        # a later transaction replaying A's seal for A: the seal was for the earlier one
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.a),))
        conn.execute("SELECT set_config('pbl.tenant_seal', %s, true)", (seal,))
        with pytest.raises(psycopg.Error) as replayed:
            names(conn)
        assert replayed.value.sqlstate == LOCKED


def test_the_seal_cannot_be_made_by_the_services(world: World) -> None:
    with service(world.url) as conn:
        for statement in ("SELECT pbl_tenant_seal(%s)", "SELECT secret FROM pbl_tenant_lock_key"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (world.b,) if "%s" in statement else None)
            conn.rollback()


def test_a_savepoint_rolled_back_keeps_the_lock_and_the_next_transaction_is_free(
    world: World,
) -> None:
    with service(world.url) as conn:
        lock(conn, world.a)
        conn.execute("SAVEPOINT s")
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
        conn.execute("ROLLBACK TO SAVEPOINT s")
        assert names(conn) == ["a"]
        conn.commit()
        lock(conn, world.b)
        assert names(conn) == ["b"]
        conn.commit()
        # after the locked transactions, the plain setting works again for a role not required
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.a),))
        assert names(conn) == ["a"]


def test_locked_writes_go_through_every_trigger(world: World) -> None:
    with service(world.url) as conn:
        lock(conn, world.a)
        conn.execute(
            "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status) VALUES (%s, 'a2', 'pbl:v1:k:AAAA', 1, 'employed')",
            (world.a,),
        )
        conn.execute(
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
            "VALUES (%s, 'lock', 'test', 'pbl-tests')",
            (world.a,),
        )
        assert conn.execute("SELECT pbl_application_stats_epoch()").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
                "VALUES (%s, 'lock', 'test', 'pbl-tests')",
                (world.b,),
            )


@pytest.fixture
def required_role(world: World, conn: psycopg.Connection) -> Iterator[str]:
    """A login role, as a service's, that inherits application_user and must lock its tenant;
    yields its connection string."""
    role = f"svc_lock_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    conn.execute(
        sql.SQL(
            "CREATE ROLE {} LOGIN PASSWORD {} IN ROLE application_user, pbl_tenant_lock_required"
        ).format(sql.Identifier(role), sql.Literal(password))
    )
    conn.commit()
    yield make_conninfo(world.url, user=role, password=password)
    conn.rollback()
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )
    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    conn.commit()


def test_a_required_role_cannot_use_the_plain_setting(world: World, required_role: str) -> None:
    with psycopg.connect(required_role) as conn:
        assert names(conn) == []  # no tenant: sees nothing, no error, as before
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
        with pytest.raises(psycopg.Error) as refused:
            names(conn)
        assert refused.value.sqlstate == LOCKED
        conn.rollback()
        # SECURITY DEFINER functions (run as pbl_owner) judge the session's role too
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
        with pytest.raises(psycopg.Error) as through_definer:
            conn.execute("SELECT pbl_application_stats_epoch()")
        assert through_definer.value.sqlstate == LOCKED
        conn.rollback()
        lock(conn, world.a)
        assert names(conn) == ["a"]


def test_the_library_locks_when_asked(world: World) -> None:
    with psycopg.connect(world.url, autocommit=True) as conn:
        conn.execute("SET ROLE application_user")
        with pytest.raises(psycopg.Error) as refused, tenant_transaction(conn, world.a, lock=True):
            assert names(conn) == ["a"]
            conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
            names(conn)
        assert refused.value.sqlstate == LOCKED
        with tenant_transaction(conn, world.b):  # the plain form, as before
            assert names(conn) == ["b"]


def test_an_unlocked_session_behaves_as_before(world: World) -> None:
    with service(world.url) as conn:
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.a),))
        assert names(conn) == ["a"]
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(world.b),))
        assert names(conn) == ["b"]
