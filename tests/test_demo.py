"""pbl seed demo: deterministic synthetic data, spread over monthly partitions."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from pbl_db.crypto.cipher import KeyRing
from pbl_db.demo import DemoSpec, seed_demo
from pbl_db.errors import RefusedError
from tests.support.postgres import PgServer

RING = KeyRing({"k": bytes(range(32))}, "k")
ANCHOR = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


ENCRYPTED = {"ssn_encrypted", "address", "identity_verification"}


def plaintext(url: str) -> dict[str, list[dict[str, object]]]:
    """Every demo row of every table, encrypted columns opened."""
    from psycopg.rows import dict_row

    from pbl_db.crypto.fields import decrypt_row

    out: dict[str, list[dict[str, object]]] = {}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        for table in ("tenants", "applications", "devices", "audit_logs"):
            rows = conn.execute(
                psycopg.sql.SQL("SELECT * FROM {} ORDER BY id").format(
                    psycopg.sql.Identifier(table)
                )
            ).fetchall()
            out[table] = [decrypt_row(RING, table, r) for r in rows]
    return out


@pytest.fixture
def clone(pg_server: PgServer, template_db: str):
    made = []

    def make() -> str:
        name = f"demo_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return pg_server.create_database(name, template=template_db)

    yield make
    for name in made:
        pg_server.drop_database(name)


def test_same_seed_same_rows(clone) -> None:
    spec = DemoSpec(
        tenants=2,
        applications=300,
        devices=5,
        audit_logs=400,
        months=24,
        random_seed=11,
        anchor=ANCHOR,
    )
    urls = [clone(), clone()]
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            report = seed_demo(conn, spec, RING)
        assert report.rows == {"tenants": 2, "applications": 300, "devices": 5, "audit_logs": 400}
    first, second = plaintext(urls[0]), plaintext(urls[1])
    assert first == second
    assert {t: len(rows) for t, rows in first.items()} == report.rows
    third = clone()
    other = DemoSpec(
        tenants=2,
        applications=300,
        devices=5,
        audit_logs=400,
        months=24,
        random_seed=12,
        anchor=ANCHOR,
    )
    with psycopg.connect(third, autocommit=True) as conn:
        seed_demo(conn, other, RING)
    differs = plaintext(third)
    assert {r["id"] for r in differs["applications"]}.isdisjoint(
        r["id"] for r in first["applications"]
    )
    names = sorted(str(r["full_legal_name"]) for r in first["applications"])
    assert sorted(str(r["full_legal_name"]) for r in differs["applications"]) != names


@pytest.mark.parametrize("anchor", [ANCHOR, dt.datetime(2021, 6, 1, tzinfo=dt.UTC)])
def test_audit_events_land_in_monthly_partitions(clone, anchor: dt.datetime) -> None:
    url = clone()
    spec = DemoSpec(
        tenants=2,
        applications=200,
        devices=0,
        audit_logs=1000,
        months=36,
        random_seed=5,
        anchor=anchor,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        seed_demo(conn, spec, RING)
        where = dict(
            conn.execute(
                "SELECT tableoid::regclass::text, count(*) FROM audit_logs GROUP BY 1"
            ).fetchall()
        )
        span = conn.execute(
            "SELECT min(event_timestamp), max(event_timestamp) FROM audit_logs"
        ).fetchone()
    assert "audit_logs_default" not in where
    assert len(where) >= 30  # roughly one partition per month of the 36
    assert span is not None and span[1] <= anchor and span[0] >= anchor - dt.timedelta(days=37 * 31)


def test_same_seed_twice_in_one_database_is_refused(clone) -> None:
    url = clone()
    spec = DemoSpec(
        tenants=1, applications=10, devices=1, audit_logs=5, random_seed=3, anchor=ANCHOR
    )
    with psycopg.connect(url, autocommit=True) as conn:
        seed_demo(conn, spec, RING)
        with pytest.raises(RefusedError, match="random-seed 3"):
            seed_demo(conn, spec, RING)


def test_cli_reports_rows(db_url: str, monkeypatch: pytest.MonkeyPatch, pbl) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", pbl("crypto", "keygen", "--id", "k9").out.strip())
    result = pbl(
        "seed",
        "demo",
        "--applications",
        "50",
        "--audit-logs",
        "20",
        "--devices",
        "3",
        "--anchor",
        "2026-01-01",
    )
    assert result.code == 2 and "time zone" in result.err
    result = pbl("seed", "demo", "--applications", "50", "--audit-logs", "20", "--devices", "3")
    assert result.code == 0, result.err
    assert "3 tenants, 50 applications, 3 devices, 20 audit_logs" in result.out


def test_counts_months_and_anchor_are_bounded(clone) -> None:
    from pbl_db.demo import parse_anchor
    from pbl_db.errors import ConfigError

    for spec, says in (
        (DemoSpec(tenants=1, months=100_000), "--months"),
        (DemoSpec(tenants=1, applications=10**20), "--applications"),
        (DemoSpec(tenants=1, audit_logs=10_000_001), "--audit-logs"),
        (DemoSpec(tenants=10_001), "--tenants"),
        (DemoSpec(tenants=1, anchor=dt.datetime(9999, 12, 31, tzinfo=dt.UTC)), "100 years"),
    ):
        url = clone()
        with psycopg.connect(url, autocommit=True) as conn:
            counts = (
                "SELECT (SELECT count(*) FROM pg_class WHERE relispartition), "
                "(SELECT count(*) FROM tenants)"
            )
            before = conn.execute(counts).fetchone()
            with pytest.raises(ConfigError, match=says):
                seed_demo(conn, spec, RING)
            assert conn.execute(counts).fetchone() == before  # no partition, no tenant made
    assert parse_anchor("2026-11-01T00:00:00+00:00") == ANCHOR
    for bad, says in (("9999-12-31T00:00:00+00:00", "100 years"), ("T" * 500, "ISO")):
        with pytest.raises(ConfigError, match=says) as caught:
            parse_anchor(bad)
        assert len(str(caught.value)) < 200
