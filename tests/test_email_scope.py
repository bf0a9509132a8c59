"""Where users' emails are unique (migration 0025): across tenants by default (the spec's), per
tenant when a DBA switches with `pbl schema email-scope tenant`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import psycopg
import pytest

from tests.conftest import Result

pytestmark = pytest.mark.matrix

INSERT_USER = "INSERT INTO users (tenant_id, email, password_hash) VALUES (%s, %s, '$scrypt$x')"


def tenant(conn: psycopg.Connection) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES ('Scope', %s) RETURNING id",
        (f"scope-{uuid.uuid4().hex[:6]}",),
    ).fetchone()
    assert row is not None
    return row[0]


def scope(pbl: Callable[..., Result], url: str) -> str:
    shown = pbl("schema", "email-scope", "--json", "--database-url", url)
    assert shown.code == 0, shown.err
    return str(json.loads(shown.out)["scope"])


def test_default_is_global_and_tenant_scope_allows_one_email_per_tenant(
    db_url: str, conn: psycopg.Connection, pbl: Callable[..., Result]
) -> None:
    conn.autocommit = True
    a, b = tenant(conn), tenant(conn)
    conn.execute(INSERT_USER, (a, "same@example.com"))
    assert scope(pbl, db_url) == "global"
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(INSERT_USER, (b, "same@example.com"))

    dry = pbl("schema", "email-scope", "tenant", "--dry-run", "--database-url", db_url)
    assert dry.code == 0 and "would make" in dry.out, dry.err
    assert scope(pbl, db_url) == "global"

    switched = pbl("schema", "email-scope", "tenant", "--database-url", db_url)
    assert switched.code == 0, switched.err
    assert scope(pbl, db_url) == "tenant"
    conn.execute(INSERT_USER, (b, "same@example.com"))
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(INSERT_USER, (b, "same@example.com"))
    index = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_users_email'"
    ).fetchone()
    assert index is not None and index[0].endswith("USING btree (email)")  # still indexed
    citus = pbl("schema", "check", "--citus", "--json", "--database-url", db_url)
    assert "idx_users_email" not in {f["name"] for f in json.loads(citus.out)["findings"]}

    # back to global is refused while the email is shared, dry run included
    for extra in (["--dry-run"], []):
        back = pbl("schema", "email-scope", "global", *extra, "--database-url", db_url)
        assert back.code == 4, back.err
        assert "1 email(s) are used by users of more than one tenant" in back.err
    assert scope(pbl, db_url) == "tenant"
    conn.execute("DELETE FROM users WHERE tenant_id = %s", (b,))
    back = pbl("schema", "email-scope", "global", "--database-url", db_url)
    assert back.code == 0, back.err
    assert scope(pbl, db_url) == "global"


def test_users_create_names_the_scope_it_refuses_by(
    db_url: str,
    conn: psycopg.Connection,
    pbl: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    conn.autocommit = True
    a, b = tenant(conn), tenant(conn)
    slugs = {
        t: conn.execute("SELECT slug FROM tenants WHERE id = %s", (t,)).fetchone()[0]  # type: ignore[index]
        for t in (a, b)
    }
    conn.execute(INSERT_USER, (a, "taken@example.com"))

    def create(slug: str) -> Result:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"correct horse battery")))
        return pbl(
            "users", "create", "--tenant", slug, "--email", "taken@example.com",
            "--database-url", db_url,
        )  # fmt: skip

    refused = create(slugs[b])
    assert refused.code == 2 and "unique across tenants" in refused.err, refused.err
    assert pbl("schema", "email-scope", "tenant", "--database-url", db_url).code == 0
    assert create(slugs[b]).code == 0
    again = create(slugs[b])
    assert again.code == 2 and f"exists in tenant {slugs[b]}" in again.err, again.err


def test_rollback_of_0025_returns_to_global_or_refuses(
    db_url: str, conn: psycopg.Connection, pbl: Callable[..., Result]
) -> None:
    conn.autocommit = True
    a, b = tenant(conn), tenant(conn)
    assert pbl("schema", "email-scope", "tenant", "--database-url", db_url).code == 0
    conn.execute(INSERT_USER, (a, "both@example.com"))
    conn.execute(INSERT_USER, (b, "both@example.com"))
    refused = pbl("migrate", "rollback", "--to", "0024_tenant_lock", "--database-url", db_url)
    assert refused.code != 0
    assert scope(pbl, db_url) == "tenant"
    conn.execute("DELETE FROM users WHERE tenant_id = %s", (b,))
    rolled = pbl("migrate", "rollback", "--to", "0024_tenant_lock", "--database-url", db_url)
    assert rolled.code == 0, rolled.err
    row = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'idx_users_email'"
    ).fetchone()
    assert row == ("UNIQUE (email)",)
