"""The migrated catalog matches the spec: tables, columns, types, NOT NULL, defaults, indexes."""

from __future__ import annotations

import json
import re
from itertools import permutations
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.matrix

SPEC = json.loads((Path(__file__).parent / "spec" / "spec_schema.json").read_text())

# spec type -> (information_schema data_type, character_maximum_length / (precision, scale))
_VARCHAR = re.compile(r"VARCHAR\((\d+)\)")
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
_SIMPLE = {
    "UUID": "uuid",
    "TEXT": "text",
    "INTEGER": "integer",
    "JSONB": "jsonb",
    "INET": "inet",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp with time zone",  # DESIGN.md: timestamps are timestamptz
}


def catalog_columns(conn: psycopg.Connection, table: str) -> dict[str, dict[str, object]]:
    rows = conn.execute(
        """
        SELECT column_name, data_type, character_maximum_length, numeric_precision,
               numeric_scale, is_nullable, column_default
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = %s
        """,
        (table,),
    ).fetchall()
    return {
        r[0]: {
            "type": r[1],
            "length": r[2],
            "precision": r[3],
            "scale": r[4],
            "not_null": r[5] == "NO",
            "default": r[6],
        }
        for r in rows
    }


def normalise_default(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"::[a-z ]+(\([0-9, ]+\))?$", "", value.strip())
    return value.lower()


@pytest.mark.parametrize("table", list(SPEC["tables"]))
def test_every_spec_column_exists_with_its_type(conn: psycopg.Connection, table: str) -> None:
    actual = catalog_columns(conn, table)
    assert actual, f"table {table} is missing"
    for col in SPEC["tables"][table]:
        name, spec_type = col["name"], col["type"]
        assert name in actual, f"{table}.{name} is missing"
        got = actual[name]
        if m := _VARCHAR.fullmatch(spec_type):
            assert (got["type"], got["length"]) == ("character varying", int(m.group(1))), name
        elif m := _DECIMAL.fullmatch(spec_type):
            expected = ("numeric", int(m.group(1)), int(m.group(2)))
            assert (got["type"], got["precision"], got["scale"]) == expected, name
        else:
            assert got["type"] == _SIMPLE[spec_type], f"{table}.{name}: {got['type']}"


@pytest.mark.parametrize("table", list(SPEC["tables"]))
def test_not_null_and_defaults_follow_the_spec(conn: psycopg.Connection, table: str) -> None:
    actual = catalog_columns(conn, table)
    for col in SPEC["tables"][table]:
        got = actual[col["name"]]
        # docs/schema.md: NOT NULL where the spec says so, and where it gives a default
        expected_not_null = col["not_null"] or col["default"] is not None
        assert got["not_null"] == expected_not_null, f"{table}.{col['name']}"
        spec_default = normalise_default(col["default"])
        assert normalise_default(got["default"]) == spec_default, f"{table}.{col['name']}"


def test_every_spec_index_exists_on_its_column(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """
        SELECT i.relname, t.relname,
               array(SELECT a.attname FROM unnest(x.indkey[:x.indnkeyatts - 1]) AS k(attnum)
                     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public'
        """
    ).fetchall()
    found = {name: (table, keys) for name, table, keys in rows}
    for name, spec in SPEC["indexes"].items():
        assert name in found, f"index {name} is missing"
        table, keys = found[name]
        assert table == spec["table"], name
        assert spec["column"] in keys, f"{name} does not index {spec['column']}: {keys}"


def test_no_index_is_a_left_prefix_of_another(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """
        SELECT t.relname, i.relname, x.indkey[:x.indnkeyatts - 1]::int[],
               pg_get_expr(x.indpred, x.indrelid), am.amname, x.indisunique
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_am am ON am.oid = i.relam
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname = ANY(%s) AND NOT t.relispartition
        """,
        (list(SPEC["tables"]),),
    ).fetchall()
    for a, b in permutations(rows, 2):
        if a[0] != b[0] or a[3] != b[3] or a[4] != b[4] or a[5]:
            continue  # other table, other predicate or method, or a unique index (a constraint)
        assert b[2][: len(a[2])] != a[2], f"{a[1]} {a[2]} is a left prefix of {b[1]} {b[2]}"


def test_tenant_ids_reference_tenants(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """
        SELECT c.conrelid::regclass::text
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
        WHERE c.contype = 'f' AND c.confrelid = 'tenants'::regclass AND a.attname = 'tenant_id'
          AND NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = c.conrelid)
        """
    ).fetchall()
    referencing = {r[0] for r in rows}
    assert {"users", "applications", "devices", "audit_logs"} <= referencing
    with_column = conn.execute(
        """
        SELECT c.oid::regclass::text
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
          AND a.attname = 'tenant_id' AND NOT a.attisdropped
          AND NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = c.oid)
        """
    ).fetchall()
    # every table that holds a tenant_id (pbl's own tables too) references tenants
    assert {r[0] for r in with_column} == referencing


def test_updated_at_is_kept_by_a_trigger(conn: psycopg.Connection) -> None:
    tenant = conn.execute(
        "INSERT INTO tenants (name, slug, updated_at) "
        "VALUES ('T', 't-upd', now() - interval '1 day') RETURNING id, updated_at"
    ).fetchone()
    assert tenant is not None
    conn.execute("UPDATE tenants SET name = 'T2' WHERE id = %s", (tenant[0],))
    after = conn.execute("SELECT updated_at FROM tenants WHERE id = %s", (tenant[0],)).fetchone()
    assert after is not None and after[0] > tenant[1]


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("INSERT INTO tenants (name, slug) VALUES ('x', 'Not A Slug')", "tenants_slug_format"),
        (
            "INSERT INTO tenants (name, slug, subscription_plan) VALUES ('x', 'x1', 'gold')",
            "tenants_subscription_plan_known",
        ),
        (
            "INSERT INTO users (tenant_id, email, password_hash) "
            "VALUES (%(t)s, 'a@b.example', 'plaintext-password')",
            "users_password_hash_phc",
        ),
        (
            "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status, credit_score) "
            "VALUES (%(t)s, 'A', 'pbl:v1:k:AAAA', 1, 'employed', 900)",
            "applications_credit_score_range",
        ),
        (
            "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
            "employment_status, decision) "
            "VALUES (%(t)s, 'A', 'pbl:v1:k:AAAA', 1, 'employed', 'maybe')",
            "applications_decision_known",
        ),
        (
            "INSERT INTO devices (device_id_external, tenant_id, device_type, region, "
            "battery_level) VALUES ('d-1', %(t)s, 'phone', 'us', 101)",
            "devices_battery_level_range",
        ),
    ],
)
def test_check_constraints_refuse_bad_values(
    conn: psycopg.Connection, sql: str, constraint: str
) -> None:
    tenant = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES ('C', 'c-check') RETURNING id"
    ).fetchone()
    assert tenant is not None
    with pytest.raises(psycopg.errors.CheckViolation) as info:
        conn.execute(sql, {"t": tenant[0]})
    assert info.value.diag.constraint_name == constraint
