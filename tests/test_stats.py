"""pbl stats and pbl_db.stats.tenant_stats against a real PostgreSQL and a real Redis."""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import mean
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pbl_db.cache import redis_client
from pbl_db.stats import TenantStats, tenant_stats
from tests.support.postgres import PgServer, free_port
from tests.support.redis_server import redis_server

pytestmark = pytest.mark.matrix

UTC = dt.UTC
SINCE = "2025-06-01"
SINCE_AT = dt.datetime(2025, 6, 1, tzinfo=UTC)


@dataclass
class App:
    created_at: dt.datetime
    decision: str | None
    risk_score: int | None
    deleted: bool = False


@dataclass
class Dataset:
    tenant: uuid.UUID
    slug: str
    other: uuid.UUID
    apps: list[App]


def insert(conn: psycopg.Connection, tenant: uuid.UUID, app: App) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
        "employment_status, decision, risk_score, created_at, deleted_at) "
        "VALUES (%s, 'Stats Applicant', 'pbl:v1:k:AAAA', 50000, 'employed', %s, %s, %s, "
        "CASE WHEN %s THEN now() END) RETURNING id",
        (tenant, app.decision, app.risk_score, app.created_at, app.deleted),
    ).fetchone()
    assert row is not None
    return row[0]


def expected(apps: list[App], since: dt.datetime | None) -> dict[str, Any]:
    """The statistics computed in Python from the rows the test wrote."""
    live = [a for a in apps if not a.deleted and (since is None or a.created_at >= since)]
    scores = [a.risk_score for a in live if a.risk_score is not None]
    return {
        "total": len(live),
        "approved": sum(a.decision == "approved" for a in live),
        "declined": sum(a.decision == "declined" for a in live),
        "avg_risk_score": mean(scores) if scores else None,
    }


def tenant(conn: psycopg.Connection, tag: str) -> tuple[uuid.UUID, str]:
    slug = f"stats-{tag}-{secrets.token_hex(3)}"
    row = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES (%s, %s) RETURNING id", (tag, slug)
    ).fetchone()
    assert row is not None
    return row[0], slug


@pytest.fixture
def data(conn: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Dataset:
    monkeypatch.setenv("PBL_QUIET", "1")
    monkeypatch.setenv("DATABASE_URL", db_url)  # not --database-url: its password warning
    tenant_id, slug = tenant(conn, "main")
    other, _ = tenant(conn, "other")
    apps = [  # edges first: just before and exactly at the window start, NULLs, soft delete
        App(SINCE_AT - dt.timedelta(seconds=1), "approved", 100),
        App(SINCE_AT, "approved", 200),
        App(SINCE_AT + dt.timedelta(days=3), None, None),
        App(SINCE_AT + dt.timedelta(days=4), "approved", None),
        App(SINCE_AT + dt.timedelta(days=5), "declined", 990, deleted=True),
        App(SINCE_AT + dt.timedelta(days=6), "manual_review", 500),
    ]
    rng = random.Random(7)
    for _ in range(60):
        apps.append(
            App(
                SINCE_AT + dt.timedelta(days=rng.randint(-200, 200), seconds=rng.randint(0, 86399)),
                rng.choice(["approved", "declined", "manual_review", None]),
                rng.choice([None, rng.randint(0, 1000)]),
                deleted=rng.random() < 0.1,
            )
        )
    for app in apps:
        insert(conn, tenant_id, app)
    for _ in range(5):  # another tenant's rows must not count
        insert(conn, other, App(SINCE_AT + dt.timedelta(days=1), "approved", 1))
    return Dataset(tenant_id, slug, other, apps)


def numbers(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("total", "approved", "declined", "avg_risk_score")}


def assert_numbers(result: dict[str, Any], want: dict[str, Any]) -> None:
    assert numbers(result) == {**want, "avg_risk_score": pytest.approx(want["avg_risk_score"])}


def run_stats(pbl, db_url: str, data: Dataset, *extra: str) -> dict[str, Any]:
    res = pbl("stats", "--tenant", data.slug, "--since", SINCE, "--json", *extra)
    assert res.code == 0, res.err
    result: dict[str, Any] = json.loads(res.out)
    return result


def test_numbers_match_a_hand_made_dataset(db_url: str, data: Dataset, pbl) -> None:
    assert expected(data.apps, SINCE_AT)["total"] > 10
    windowed = run_stats(pbl, db_url, data)
    assert_numbers(windowed, expected(data.apps, SINCE_AT))
    assert windowed["cached"] is False and windowed["cache"] == "off"
    assert windowed["tenant"] == data.slug and windowed["since"].startswith("2025-06-01T00:00")
    res = pbl("stats", "--tenant", str(data.tenant), "--json")
    assert res.code == 0, res.err
    assert_numbers(json.loads(res.out), expected(data.apps, None))
    table = pbl("stats", "--tenant", data.slug)
    assert table.code == 0 and str(expected(data.apps, None)["total"]) in table.out
    assert "warning" not in table.err  # no REDIS_URL: no cache, nothing to warn about


def test_spec_double_quoted_strings_are_not_reproduced(
    conn: psycopg.Connection, db_url: str, data: Dataset, pbl
) -> None:
    spec = (  # the spec's knex raw SQL, verbatim: "approved" is an identifier in PostgreSQL
        "SELECT COUNT(*) as total, "
        'COUNT(CASE WHEN decision = "approved" THEN 1 END) as approved, '
        'COUNT(CASE WHEN decision = "declined" THEN 1 END) as declined, '
        "AVG(risk_score) as avg_risk_score FROM applications WHERE tenant_id = %s"
    )
    with pytest.raises(psycopg.errors.UndefinedColumn, match='"approved" does not exist'):
        conn.execute(spec, (data.tenant,))
    result = run_stats(pbl, db_url, data)
    assert result["approved"] == expected(data.apps, SINCE_AT)["approved"] > 0
    assert result["declined"] == expected(data.apps, SINCE_AT)["declined"] > 0


def keys(redis_url: str, data: Dataset) -> list[bytes]:
    return sorted(redis_client(redis_url).scan_iter(match=f"pbl:stats:v1:*:{data.tenant}:*"))


def test_second_call_is_served_from_the_cache(
    db_url: str, data: Dataset, pbl, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    first = run_stats(pbl, db_url, data, "--ttl", "120")
    assert (first["cached"], first["cache"]) == (False, "miss")
    (key,) = keys(redis_url, data)
    assert key.decode().endswith(f":{data.tenant}:2025-06-01T00:00:00+00:00")
    assert 0 < redis_client(redis_url).ttl(key) <= 120
    second = run_stats(pbl, db_url, data)
    assert (second["cached"], second["cache"]) == (True, "hit")
    assert numbers(second) == numbers(first)
    assert second["computed_at"] == first["computed_at"]
    assert_numbers(second, expected(data.apps, SINCE_AT))
    whole = run_stats(pbl, db_url, data, "--since", "2024-01-01")  # another window, another key
    assert whole["cached"] is False and len(keys(redis_url, data)) == 2


def test_new_application_invalidates_even_when_backdated(
    conn: psycopg.Connection, db_url: str, data: Dataset, pbl, redis_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    run_stats(pbl, db_url, data)
    assert run_stats(pbl, db_url, data)["cached"] is True
    # created_at older than the newest row: a max(created_at) watermark would not notice
    late = App(SINCE_AT + dt.timedelta(hours=1), "declined", 10)
    insert(conn, data.tenant, late)
    data.apps.append(late)
    fresh = run_stats(pbl, db_url, data)
    assert (fresh["cached"], fresh["cache"]) == (False, "stale")
    assert_numbers(fresh, expected(data.apps, SINCE_AT))
    assert run_stats(pbl, db_url, data)["cached"] is True


def test_updates_invalidate_only_when_they_move_the_numbers(
    conn: psycopg.Connection, db_url: str, data: Dataset, pbl, redis_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    row = conn.execute(
        "SELECT id FROM applications WHERE tenant_id = %s AND created_at = %s",
        (data.tenant, SINCE_AT + dt.timedelta(days=3)),
    ).fetchone()
    assert row is not None
    run_stats(pbl, db_url, data)
    conn.execute("UPDATE applications SET review_reason = 'looked at' WHERE id = %s", row)
    assert run_stats(pbl, db_url, data)["cached"] is True  # nothing the statistics read changed

    conn.execute(
        "UPDATE applications SET decision = 'approved', risk_score = 42 WHERE id = %s", row
    )
    data.apps[2].decision, data.apps[2].risk_score = "approved", 42
    decided = run_stats(pbl, db_url, data)
    assert decided["cached"] is False
    assert_numbers(decided, expected(data.apps, SINCE_AT))

    conn.execute("UPDATE applications SET deleted_at = now() WHERE id = %s", row)
    data.apps[2].deleted = True
    removed = run_stats(pbl, db_url, data)
    assert removed["cached"] is False
    assert_numbers(removed, expected(data.apps, SINCE_AT))


def test_a_transaction_committing_after_the_cache_fill_is_not_hidden(
    conn: psycopg.Connection, db_url: str, data: Dataset, redis_url: str
) -> None:
    client = redis_client(redis_url)
    with psycopg.connect(db_url) as writer:  # a transaction left open across the cache fill
        late = App(SINCE_AT + dt.timedelta(days=1), "approved", 77)
        insert(writer, data.tenant, late)
        before = tenant_stats(conn, data.tenant, SINCE_AT, redis=client)
        assert before.total == expected(data.apps, SINCE_AT)["total"]
        assert tenant_stats(conn, data.tenant, SINCE_AT, redis=client).cached is True
        writer.commit()
    data.apps.append(late)
    after = tenant_stats(conn, data.tenant, SINCE_AT, redis=client)
    assert after.cached is False and after.total == before.total + 1
    assert after.approved == expected(data.apps, SINCE_AT)["approved"]


def test_epoch_moves_once_per_transaction_and_tenant(
    conn: psycopg.Connection, data: Dataset
) -> None:
    def epoch(tenant_id: uuid.UUID) -> int:
        conn.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(tenant_id),))
        row = conn.execute("SELECT pbl_application_stats_epoch()").fetchone()
        assert row is not None
        return int(row[0])

    start, other = epoch(data.tenant), epoch(data.other)
    with conn.transaction():
        for _ in range(3):
            insert(conn, data.tenant, App(SINCE_AT, "approved", 1))
    assert (epoch(data.tenant), epoch(data.other)) == (start + 1, other)
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
        insert(conn, data.tenant, App(SINCE_AT, "maybe", 1))
    assert epoch(data.tenant) == start + 1  # a rolled-back change moves nothing
    conn.execute("SELECT set_config('app.current_tenant_id', '', false)")
    assert conn.execute("SELECT pbl_application_stats_epoch()").fetchone() == (None,)


def test_truncate_invalidates_every_tenant(
    conn: psycopg.Connection, data: Dataset, redis_url: str
) -> None:
    client = redis_client(redis_url)
    tenant_stats(conn, data.tenant, redis=client)
    assert tenant_stats(conn, data.tenant, redis=client).cached is True
    # TRUNCATE is refused on audit_logs; a superuser who lifts that guard empties both
    conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_truncate")
    conn.execute("TRUNCATE applications, audit_logs, legal_holds")
    emptied = tenant_stats(conn, data.tenant, redis=client)
    assert (emptied.cached, emptied.total) == (False, 0)


def test_concurrent_writers_of_one_tenant_do_not_wait_for_each_other(
    conn: psycopg.Connection, db_url: str, data: Dataset
) -> None:
    conn.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(data.tenant),))
    start = conn.execute("SELECT pbl_application_stats_epoch()").fetchone()
    writers = [psycopg.connect(db_url) for _ in range(16)]
    try:
        for writer in writers:  # 16 open transactions at once: one slot each, nobody waits
            writer.execute("SET lock_timeout = '2s'")
            insert(writer, data.tenant, App(SINCE_AT, "approved", 5))
        for writer in writers:
            writer.commit()
    finally:
        for writer in writers:
            writer.close()
    after = conn.execute("SELECT pbl_application_stats_epoch()").fetchone()
    assert start is not None and after == (start[0] + 16,)


def test_no_cache_bypasses_redis(
    db_url: str, data: Dataset, pbl, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    for _ in range(2):
        result = run_stats(pbl, db_url, data, "--no-cache")
        assert (result["cached"], result["cache"]) == (False, "bypassed")
    assert keys(redis_url, data) == []
    assert_numbers(result, expected(data.apps, SINCE_AT))


def test_redis_stopped_still_answers(
    db_url: str, data: Dataset, pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redis_server() as url:
        monkeypatch.setenv("REDIS_URL", url)
        assert run_stats(pbl, db_url, data)["cache"] == "miss"
        assert run_stats(pbl, db_url, data)["cached"] is True
    # the private server is stopped now
    res = pbl("stats", "--tenant", data.slug, "--since", SINCE, "--json")
    assert res.code == 0, res.err
    result = json.loads(res.out)
    assert (result["cached"], result["cache"]) == (False, "error")
    assert_numbers(result, expected(data.apps, SINCE_AT))
    warnings = [line for line in res.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "Redis" in warnings[0]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # never there at all
    assert run_stats(pbl, db_url, data)["cache"] == "error"
    monkeypatch.setenv("REDIS_URL", "memcached://nowhere")  # malformed: still answers
    malformed = run_stats(pbl, db_url, data)
    assert malformed["cache"] == "error" and malformed["total"] == result["total"]


def test_unknown_tenant_and_bad_since(db_url: str, data: Dataset, pbl) -> None:
    missing = pbl("stats", "--tenant", "no-such-tenant")
    assert missing.code == 2 and "no tenant" in missing.err
    bad = pbl("stats", "--tenant", data.slug, "--since", "last tuesday")
    assert bad.code == 2 and "--since" in bad.err


@pytest.fixture
def service_url(pg_server: PgServer, db_url: str) -> Iterator[str]:
    """A LOGIN role in application_user (row-level security applies), as a service has."""
    role = f"stats_svc_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(12)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE application_user").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    yield make_conninfo(db_url, user=role, password=password)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_library_function_for_services(data: Dataset, service_url: str, redis_url: str) -> None:
    client = redis_client(redis_url)
    with psycopg.connect(service_url) as conn:  # a pooled-style connection, not autocommit
        first = tenant_stats(conn, str(data.tenant), SINCE_AT, redis=client, ttl=30)
        second = tenant_stats(conn, data.tenant, SINCE_AT, redis=client, ttl=30)
        plain = tenant_stats(conn, data.tenant)
    assert isinstance(first, TenantStats)
    assert (first.cached, second.cached, plain.cached) == (False, True, False)
    want = expected(data.apps, SINCE_AT)
    assert (second.total, second.approved, second.declined) == (
        want["total"],
        want["approved"],
        want["declined"],
    )
    assert second.avg_risk_score == pytest.approx(want["avg_risk_score"])
    assert plain.total == expected(data.apps, None)["total"]
    assert first.computed_at.tzinfo is not None
