"""The spec's query patterns use indexes on 100k+ generated rows (plan shape, never timing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.support.postgres import PgServer

pytestmark = pytest.mark.matrix

ROWS = 120_000
TENANTS = 20


@pytest.fixture(scope="module")
def loaded(pg_server: PgServer, template_db: str) -> Iterator[tuple[str, uuid.UUID]]:
    name = f"plans_{uuid.uuid4().hex[:8]}"
    url = pg_server.create_database(name, template=template_db)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (name, slug) SELECT 'Tenant ' || g, 'tenant-' || g "
            "FROM generate_series(1, %s) AS g",
            (TENANTS,),
        )
        conn.execute(
            """
            INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income,
                                      employment_status, decision, risk_score, created_at)
            SELECT t.ids[1 + g %% %(tenants)s], 'Applicant ' || g, 'pbl:v1:dev:AAAA',
                   40000 + g %% 90000,
                   'employed', (ARRAY['approved', 'declined', 'manual_review'])[1 + g %% 3],
                   g %% 1000, now() - make_interval(secs => g * 60)
            FROM generate_series(1, %(rows)s) AS g,
                 (SELECT array_agg(id ORDER BY slug) AS ids FROM tenants) AS t
            """,
            {"tenants": TENANTS, "rows": ROWS},
        )
        conn.execute(
            """
            INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category,
                                    service_name, event_timestamp)
            SELECT a.tenant_id, a.id, 'decision.made', 'decision', 'risk-engine',
                   now() - make_interval(secs => (row_number() OVER ()) % 86400)
            FROM applications a
            """
        )
        conn.execute("VACUUM ANALYZE applications")
        conn.execute("ANALYZE audit_logs")
        tenant = conn.execute("SELECT id FROM tenants ORDER BY slug LIMIT 1").fetchone()
    assert tenant is not None
    yield url, tenant[0]
    pg_server.drop_database(name)


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def index_used(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> set[str]:
    row = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()
    assert row is not None
    nodes = list(plan_nodes(row[0][0]["Plan"]))
    seq = [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"]
    if seq:  # a scan of an empty partition reads nothing: only scans of real data count
        seq = [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relpages > 0", (seq,)
            )
        ]
    assert not seq, f"sequential scan on {seq}"
    return {
        n["Index Name"]
        for n in nodes
        if n["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
    }


PAGE_OFFSET = (
    "SELECT * FROM applications WHERE tenant_id = %(t)s ORDER BY created_at DESC LIMIT 20 OFFSET 40"
)
PAGE_KEYSET = (
    "SELECT * FROM applications WHERE tenant_id = %(t)s AND (created_at, id) < (%(at)s, %(id)s) "
    "ORDER BY created_at DESC, id DESC LIMIT 20"
)
STATS = (
    "SELECT count(*) AS total, "
    "count(CASE WHEN decision = 'approved' THEN 1 END) AS approved, "
    "count(CASE WHEN decision = 'declined' THEN 1 END) AS declined, "
    "avg(risk_score) AS avg_risk_score "
    "FROM applications WHERE tenant_id = %(t)s AND created_at >= %(since)s"
)
AUDIT_BY_APPLICATION = (
    "SELECT * FROM audit_logs WHERE application_id = %(app)s ORDER BY event_timestamp DESC"
)
AUDIT_BY_TENANT = (
    "SELECT * FROM audit_logs WHERE tenant_id = %(t)s AND event_timestamp >= now() - interval "
    "'1 hour' ORDER BY event_timestamp DESC LIMIT 50"
)


@pytest.mark.slow
@pytest.mark.parametrize("role", [None, "application_user"])
def test_spec_queries_use_indexes(loaded: tuple[str, uuid.UUID], role: str | None) -> None:
    url, tenant = loaded
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(tenant),))
        if role:
            conn.execute(f"SET LOCAL ROLE {role}")
        anchor = conn.execute(
            "SELECT created_at, id FROM applications WHERE tenant_id = %s "
            "ORDER BY created_at DESC OFFSET 100 LIMIT 1",
            (tenant,),
        ).fetchone()
        assert anchor is not None
        app = conn.execute("SELECT id FROM applications LIMIT 1").fetchone()
        assert app is not None
        params = {"t": tenant, "at": anchor[0], "id": anchor[1], "since": anchor[0], "app": app[0]}
        assert "idx_applications_tenant_id" in index_used(conn, PAGE_OFFSET, params)
        assert "idx_applications_tenant_id" in index_used(conn, PAGE_KEYSET, params)
        assert "idx_applications_tenant_id" in index_used(conn, STATS, params)
        assert any(
            i.endswith("application_id_event_timestamp_idx") or i == "idx_audit_logs_application_id"
            for i in index_used(conn, AUDIT_BY_APPLICATION, params)
        )
        assert any("tenant_id" in i for i in index_used(conn, AUDIT_BY_TENANT, params))


def test_explain_shape_helper_sees_seq_scans(loaded: tuple[str, uuid.UUID]) -> None:
    url, _ = loaded
    with psycopg.connect(url) as conn, pytest.raises(AssertionError, match="sequential scan"):
        index_used(conn, "SELECT * FROM applications WHERE review_reason = 'x'", {})
