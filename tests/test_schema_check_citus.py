"""pbl schema check --citus: the real schema, and a fixture schema that breaks each rule once."""

from __future__ import annotations

import json

import psycopg
import pytest

pytestmark = pytest.mark.matrix

FIXTURE = """
CREATE SCHEMA citus_fixture;
SET search_path = citus_fixture;
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE tenants (id uuid PRIMARY KEY);
CREATE TABLE policies (code text PRIMARY KEY);
CREATE TRIGGER policies_stamp BEFORE UPDATE ON policies FOR EACH ROW EXECUTE FUNCTION stamp();
CREATE TABLE heads (chain int PRIMARY KEY, n int NOT NULL DEFAULT 0);
-- clean: tenant in the key, co-located and reference foreign keys
CREATE TABLE orders (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    code text REFERENCES policies (code),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX orders_id ON orders (id);
-- nullable tenant, primary key and unique constraint without it; a co-located foreign key
CREATE TABLE items (
    tenant_id uuid,
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    CONSTRAINT items_order_item UNIQUE (order_id, id),
    CONSTRAINT items_covering UNIQUE (id) INCLUDE (tenant_id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
-- a foreign key to a distributed table without the tenant
CREATE TABLE notes (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    order_id uuid CONSTRAINT notes_order REFERENCES orders (id),
    PRIMARY KEY (tenant_id, id)
);
-- an exclusion constraint without the tenant
CREATE TABLE bookings (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    period tsrange NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (period WITH &&)
);
-- a local table that references a distributed one
CREATE TABLE exports (
    id int PRIMARY KEY,
    tenant uuid,
    order_id uuid,
    CONSTRAINT exports_order FOREIGN KEY (tenant, order_id) REFERENCES orders (tenant_id, id)
);
-- a trigger whose function uses the local table, and one that touches nothing else
CREATE FUNCTION count_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE citus_fixture.heads SET n = n + 1 WHERE chain = 1; RETURN NEW; END $$;
CREATE TRIGGER orders_count AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION count_order();
CREATE TRIGGER items_stamp BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION stamp();
"""


def run(pbl, url: str, *args: str) -> tuple[int, dict]:  # type: ignore[no-untyped-def, type-arg]
    result = pbl("schema", "check", "--citus", "--json", "--database-url", url, *args)
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def found(report: dict) -> set[tuple[str, str, str, str]]:  # type: ignore[type-arg]
    return {(f["severity"], f["rule"], f["table"], f["name"]) for f in report["findings"]}


def test_each_broken_rule_is_found_once_with_its_fix(empty_db_url: str, pbl) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(FIXTURE)
    code, report = run(pbl, empty_db_url, "--schema", "citus_fixture")
    assert code == 1
    assert report["distributed"] == ["bookings", "items", "notes", "orders"]
    assert report["reference"] == ["policies", "tenants"]
    assert report["local"] == ["exports", "heads"]
    assert found(report) == {
        ("blocker", "distribution column nullable", "items", "tenant_id"),
        ("blocker", "primary key without tenant_id", "items", "items_pkey"),
        ("blocker", "unique without tenant_id", "items", "items_order_item"),
        ("blocker", "unique index without tenant_id", "orders", "orders_id"),
        ("blocker", "exclusion without tenant_id", "bookings", "bookings_no_overlap"),
        ("blocker", "foreign key not co-located", "notes", "notes_order"),
        ("blocker", "foreign key into a distributed table", "exports", "exports_order"),
        ("blocker", "trigger uses a local table", "orders", "orders_count"),
        ("blocker", "unique without tenant_id", "items", "items_covering"),  # INCLUDE is no key
        ("review", "trigger on a distributed table", "items", "items_stamp"),
        ("review", "trigger on a reference table", "policies", "policies_stamp"),
    }
    assert report["blockers"] == 9
    fixes = {f["name"]: f["fix"] for f in report["findings"]}
    assert fixes["items_order_item"].startswith("make it UNIQUE (tenant_id, order_id, id)")
    assert (
        "FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)"
        in fixes["notes_order"]
    )
    assert "heads" in fixes["orders_count"]
    table = pbl("schema", "check", "--citus", "--schema", "citus_fixture",
                "--database-url", empty_db_url)  # fmt: skip
    assert table.code == 1 and "9 blocker(s), 2 to review" in table.out


def test_a_clean_layout_exits_0(empty_db_url: str, pbl) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(FIXTURE)
        conn.execute("DROP TABLE citus_fixture.items, citus_fixture.notes, citus_fixture.bookings, "
                     "citus_fixture.exports")  # fmt: skip
        conn.execute("DROP TRIGGER orders_count ON citus_fixture.orders")
        conn.execute("DROP INDEX citus_fixture.orders_id")
        conn.execute("DROP TRIGGER policies_stamp ON citus_fixture.policies")
    code, report = run(pbl, empty_db_url, "--schema", "citus_fixture")
    assert code == 0 and report["findings"] == [] and report["distributed"] == ["orders"]


def test_a_schema_without_tables_is_an_error(empty_db_url: str, pbl) -> None:  # type: ignore[no-untyped-def]
    result = pbl(
        "schema", "check", "--citus", "--schema", "nowhere", "--database-url", empty_db_url
    )
    assert result.code == 2 and "no tables" in result.err


def test_today_s_schema(db_url: str, pbl) -> None:  # type: ignore[no-untyped-def]
    """What stands between the migrated schema and Citus (quoted in docs/scale-out.md)."""
    code, report = run(pbl, db_url)
    assert code == 1
    assert "tenants" in report["reference"] and "audit_logs" in report["distributed"]
    assert {"applications", "devices", "users"} <= set(report["distributed"])
    got = found(report)
    assert ("blocker", "unique without tenant_id", "users", "idx_users_email") in got
    assert ("blocker", "primary key without tenant_id", "audit_logs", "audit_logs_pkey") in got
    assert (
        "blocker",
        "trigger uses a local table",
        "audit_logs",
        "audit_logs_zz_chain_link",
    ) in got
    assert not any(f[1].startswith("foreign key") for f in got)  # the keys carry tenant_id already


def test_the_check_must_be_named(db_url: str, pbl) -> None:  # type: ignore[no-untyped-def]
    result = pbl("schema", "check", "--database-url", db_url)
    assert result.code == 2 and "--citus" in result.err
