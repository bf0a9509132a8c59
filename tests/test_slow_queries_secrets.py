"""Review of issue 6: pg_stat_statements keeps utility statements verbatim (PostgreSQL 13-15),
passwords included; `pbl slow-queries` and `pbl report` must not print them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pbl_db.slow_queries import redact_secrets
from tests.conftest import Result

Pbl = Callable[..., Result]


@pytest.fixture
def role_with_password(conn: psycopg.Connection) -> Iterator[tuple[str, str]]:
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    role, secret = f"r6_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    # a literal, as psql or a migration sends it (no bind parameter for utility statements)
    conn.execute(
        sql.SQL("CREATE ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(secret))
    )
    try:
        yield role, secret
    finally:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_passwords_kept_by_pg_stat_statements_are_masked(
    pbl: Pbl, db_url: str, conn: psycopg.Connection, role_with_password: tuple[str, str]
) -> None:
    role, secret = role_with_password
    with psycopg.connect(db_url, autocommit=True) as other:
        kept = other.execute(
            "SELECT count(*) FROM pg_stat_statements WHERE query LIKE %s", (f"%{secret}%",)
        ).fetchone()
    assert kept == (1,), "the server no longer keeps the literal: this test proves nothing"

    result = pbl("slow-queries", "--top", "1000", "--json", "--database-url", db_url)
    assert result.code == 0, result.err
    assert secret not in result.out
    mine = [r for r in json.loads(result.out) if role in r["query"]]
    assert len(mine) == 1
    assert "PASSWORD '********'" in mine[0]["query"]

    table = pbl("slow-queries", "--top", "1000", "--database-url", db_url)
    assert secret not in table.out


def test_the_report_page_masks_them_too(
    pbl: Pbl, db_url: str, tmp_path: Path, role_with_password: tuple[str, str]
) -> None:
    _, secret = role_with_password
    page = tmp_path / "report.html"
    result = pbl("report", "--html", str(page), "--top", "1000", "--database-url", db_url)
    assert result.code == 0, result.err
    assert "PASSWORD &#x27;********&#x27;" in page.read_text()
    assert secret not in page.read_text()


def test_redact_secrets_forms() -> None:
    assert redact_secrets("ALTER ROLE a WITH ENCRYPTED PASSWORD E'x\\'y' LOGIN") == (
        "ALTER ROLE a WITH ENCRYPTED PASSWORD '********' LOGIN"
    )
    assert redact_secrets("alter role a password $q$s$q$") == "alter role a password '********'"
    assert redact_secrets("CREATE USER MAPPING FOR u SERVER s OPTIONS (password 'p')") == (
        "CREATE USER MAPPING FOR u SERVER s OPTIONS (password '********')"
    )
    assert redact_secrets("CREATE SUBSCRIPTION s CONNECTION 'host=h password=p' PUBLICATION x") == (
        "CREATE SUBSCRIPTION s CONNECTION 'host=h password=********' PUBLICATION x"
    )
    for kept in ("SELECT password_hash FROM users WHERE id = $1", "ALTER ROLE a PASSWORD $1"):
        assert redact_secrets(kept) == kept
