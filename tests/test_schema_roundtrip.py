"""Apply all, roll all back, apply again: nothing left behind, the same schema both times."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from pbl_db.backup.tools import find_tool
from pbl_db.migrate.engine import Migrator
from tests.conftest import ROOT
from tests.support.postgres import PgServer

pytestmark = pytest.mark.matrix

BOOKKEEPING = {
    "_yoyo_migration",
    "_yoyo_log",
    "_yoyo_version",
    "yoyo_lock",
    "_pbl_migration_checksum",
}


def pg_dump_schema(server: PgServer, url: str) -> str:
    # the pg_dump pbl itself would pick for this server (the newest found, e.g. 18 for 13)
    binary = find_tool("pg_dump", server.version // 10000)
    out = subprocess.run(
        [str(binary), "--schema-only", "--no-comments", "--dbname", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # pg_dump 13.22/14.19/15.14+ wraps its output in \restrict KEY with a random key
    volatile = ("-- Dumped", "\\restrict", "\\unrestrict")
    return "\n".join(line for line in out.splitlines() if not line.startswith(volatile))


def leftovers(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        relations = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
            )
            if r[0] not in BOOKKEEPING
        ]
        functions = [
            r[0]
            for r in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'"
            )
        ]
        policies = [r[0] for r in conn.execute("SELECT policyname FROM pg_policies")]
        grants = [
            r[0]
            for r in conn.execute(
                "SELECT grantee FROM information_schema.role_usage_grants "
                "WHERE grantee IN ('application_user', 'pbl_reporting', 'pbl_owner') "
                "UNION ALL SELECT nspname FROM pg_namespace "
                "WHERE nspname = 'public' AND array_to_string(nspacl, ',') ~ "
                "'(application_user|pbl_reporting|pbl_owner)='"
            )
        ]
    return {"relations": relations, "functions": functions, "policies": policies, "grants": grants}


@pytest.mark.slow
def test_apply_rollback_apply_round_trip(
    pg_server: PgServer, empty_db_url: str, template_db: str
) -> None:
    migrator = Migrator(empty_db_url, ROOT / "sql" / "migrations")
    applied = migrator.apply()
    assert len(applied) == len(migrator.files()) >= 9
    first = pg_dump_schema(pg_server, empty_db_url)
    assert "CREATE TABLE public.audit_logs" in first

    rolled = migrator.rollback(count=None)
    assert [r.id for r in rolled] == [r.id for r in reversed(applied)]
    assert leftovers(empty_db_url) == {
        "relations": [],
        "functions": [],
        "policies": [],
        "grants": [],
    }

    # the template database on the same server still uses the roles: they survive, its grants work
    template_url = pg_server.url_for(template_db)
    with psycopg.connect(template_url, autocommit=True) as other, other.transaction():
        other.execute("SET LOCAL ROLE application_user")
        assert other.execute("SELECT count(*) FROM applications").fetchone() == (0,)

    migrator.apply()
    assert pg_dump_schema(pg_server, empty_db_url) == first


def test_second_database_on_the_same_server_migrates(
    empty_db_url: str, template_db: str, pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    result = pbl("migrate")
    assert result.code == 0, result.err
    assert "0009_grants" in result.out
