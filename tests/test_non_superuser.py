"""Migrating as a non-superuser role with CREATEROLE, and two roles racing for the lock."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.conftest import ROOT, run_pbl
from tests.support.postgres import PgServer

pytestmark = pytest.mark.matrix


@pytest.fixture
def migrator(pg_server: PgServer) -> Iterator[str]:
    """A LOGIN CREATEROLE role owning a fresh empty database; yields its URL."""
    role = f"migrator_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(12)
    dbname = f"m_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
        if pg_server.version >= 160000:  # PG16+: granting a role needs ADMIN OPTION on it
            admin.execute(sql.SQL("GRANT pbl_owner TO {}").format(sql.Identifier(role)))
    yield make_conninfo(pg_server.admin_url, user=role, password=password, dbname=dbname)
    pg_server.drop_database(dbname)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_non_superuser_migrates_seeds_and_rolls_back(
    migrator: str, template_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", migrator)
    applied = run_pbl("migrate", "--sql-dir", str(ROOT / "sql"))
    assert applied.code == 0, applied.err
    with psycopg.connect(migrator) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        assert row.fetchone() == (False, False)
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'applications'")
        assert owner.fetchone() == ("pbl_owner",)
    # seeds set the tenant per row group, so forced row-level security lets the owner write them
    seeded = run_pbl("seed", "--sql-dir", str(ROOT / "sql"))
    assert seeded.code == 0, seeded.err
    with psycopg.connect(migrator) as conn:
        assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)  # no tenant set
        acme = "11111111-1111-4111-8111-111111111111"
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (acme,))
        assert conn.execute("SELECT count(*) FROM applications").fetchone() == (2,)
    rolled = run_pbl("migrate", "rollback", "--count", "all", "--sql-dir", str(ROOT / "sql"))
    assert rolled.code == 0, rolled.err


def test_waiting_for_another_roles_run_is_reported(
    pg_server: PgServer, migrator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiting role cannot see the holder's session details; it still waits, then exits 5."""
    dbname = psycopg.conninfo.conninfo_to_dict(migrator)["dbname"]
    with psycopg.connect(pg_server.url_for(dbname), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtextextended('pbl.migrate', 0))")
        monkeypatch.setenv("DATABASE_URL", migrator)
        result = run_pbl("migrate", "--lock-wait", "1", "--sql-dir", str(ROOT / "sql"))
    assert result.code == 5, result.err
    assert "another pbl migrate run holds the migration lock (backend pid" in result.err
