"""Tamper-evident audit trail: hash chains at insert, seals, proofs, verify, sanctioned removals."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import ip_address, ip_interface
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pbl_db.audit.encoding import GENESIS, content_from_row, row_hash
from pbl_db.audit.merkle import MerkleBuilder, audit_path, leaf_hash, merkle_root, root_from_path
from pbl_db.migrate.engine import Migrator
from tests.conftest import ROOT, Result

pytestmark = pytest.mark.matrix

Pbl = Callable[..., Result]
DAYS_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
LONG_AGO = datetime.now(UTC) - timedelta(days=11 * 366)  # FCRA's 10 years are over


def make_tenant(conn: psycopg.Connection, slug: str) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES (%s, %s) RETURNING id", (slug, slug)
    ).fetchone()
    assert row is not None
    return row[0]


def add(
    conn: psycopg.Connection,
    tenant: uuid.UUID,
    *,
    when: datetime | None = None,
    created: datetime | None = None,
    regulation: str | None = None,
    **extra: Any,
) -> uuid.UUID:
    columns = {
        "tenant_id": tenant,
        "event_type": "decision.made",
        "event_category": "decision",
        "service_name": "pbl-tests",
        "event_timestamp": when or DAYS_AGO,
        "created_at": created or when or DAYS_AGO,
        "regulation": regulation,
        **extra,
    }
    names = psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(c) for c in columns)
    marks = psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() for _ in columns)
    row = conn.execute(
        psycopg.sql.SQL("INSERT INTO audit_logs ({}) VALUES ({}) RETURNING id").format(
            names, marks
        ),
        list(columns.values()),
    ).fetchone()
    assert row is not None
    return row[0]


def chain(conn: psycopg.Connection, tenant: uuid.UUID) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, chain_seq, chain_prev_hash, verification_hash FROM audit_logs "
        "WHERE tenant_id = %s ORDER BY chain_seq",
        (tenant,),
    ).fetchall()


def verify(pbl: Pbl, db_url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = pbl("audit", "verify", "--database-url", db_url, "--json", *args)
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def problem(pbl: Pbl, db_url: str, *args: str) -> dict[str, Any]:
    code, report = verify(pbl, db_url, *args)
    assert code == 1 and not report["ok"], report
    return report["problems"][0]  # type: ignore[no-any-return]


def seal(pbl: Pbl, db_url: str, *args: str) -> list[dict[str, Any]]:
    result = pbl("audit", "seal", "--database-url", db_url, "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)["blocks"]  # type: ignore[no-any-return]


def tamper(db_url: str, statement: str, params: Any = None) -> None:
    """As a superuser with every trigger off for the session: no guard, no chain, no ledger."""
    with psycopg.connect(db_url, autocommit=True) as attacker:
        attacker.execute("SET session_replication_role = replica")
        attacker.execute(statement, params)


@pytest.fixture
def tenant(conn: psycopg.Connection) -> uuid.UUID:
    return make_tenant(conn, "acme")


@pytest.fixture
def five(conn: psycopg.Connection, tenant: uuid.UUID) -> list[uuid.UUID]:
    """Five rows of one tenant, chain_seq 1..5."""
    return [add(conn, tenant, event_description=f"event {i}") for i in range(5)]


# --- the chain ---------------------------------------------------------------------------------


def test_rows_of_two_tenants_form_two_chains(conn, pbl: Pbl, db_url: str) -> None:
    a, b = make_tenant(conn, "a-co"), make_tenant(conn, "b-co")
    for i in range(4):
        add(conn, a, event_description=f"a{i}")
        add(conn, b, event_description=f"b{i}")
    for t in (a, b):
        rows = chain(conn, t)
        assert [r[1] for r in rows] == [1, 2, 3, 4]
        assert rows[0][2] == GENESIS
        assert all(rows[i][2] == rows[i - 1][3] for i in range(1, 4))
    code, report = verify(pbl, db_url)
    assert code == 0 and report["ok"] and report["rows"] == 8
    assert {t["slug"]: t["rows"] for t in report["tenants"]} == {"a-co": 4, "b-co": 4}
    code, report = verify(pbl, db_url, "--tenant", "b-co")
    assert code == 0 and [t["slug"] for t in report["tenants"]] == ["b-co"]


def test_supplied_chain_values_are_overwritten(conn, tenant: uuid.UUID) -> None:
    forged = add(conn, tenant, verification_hash="f" * 64, chain_seq=99, chain_prev_hash="e" * 64)
    row = conn.execute(
        "SELECT chain_seq, chain_prev_hash, verification_hash FROM audit_logs WHERE id = %s",
        (forged,),
    ).fetchone()
    assert row is not None and row[0] == 1 and row[1] == GENESIS and row[2] != "f" * 64


def independent_row_hash(values: list[str | None], seq: int, prev: str) -> str:
    """The documented encoding, written out again without pbl_db (docs/audit.md)."""
    from pbl_db.audit.encoding import CONTENT_COLUMNS

    data = b"pbl-audit-v1\n"
    pairs = [*zip(CONTENT_COLUMNS, values, strict=True), ("chain_seq", str(seq))]
    for name, value in [*pairs, ("chain_prev_hash", prev)]:
        if value is None:
            data += name.encode() + b"=-\n"
        else:
            raw = value.encode("utf-8")
            data += name.encode() + b"=" + str(len(raw)).encode() + b":" + raw + b"\n"
    return hashlib.sha256(data).hexdigest()


def test_encoding_is_reproducible_in_python(conn, db_url: str, tenant: uuid.UUID) -> None:
    app = conn.execute(
        "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
        "employment_status) VALUES (%s, 'A', 'pbl:v1:k:AAAA', 1, 'employed') RETURNING id",
        (tenant,),
    ).fetchone()
    assert app is not None
    tricky = [
        {"event_description": "", "user_agent": None},
        {"event_description": None, "user_agent": ""},
        {
            "application_id": app[0],
            "event_description": 'naïve "quoted" \\ back\nslash\ttab 🚀',
            "decision": "approved",
            "risk_score": 0,
            "confidence": Decimal("87.50"),
            "user_id": "u-1",
            "user_role": "reviewer",
            "ip_address": ip_address("192.0.2.7"),
            "user_agent": "Mozilla/5.0 (X11)",
            "service_version": "3.4.1",
            "environment": "production",
            "event_data": Jsonb({"zz": 1, "a": [1, 2.5, None, True], "bb": {"k": "v\u0001"}}),
            "previous_state": Jsonb({"n": 1.1}, dumps=lambda _: '{"n": 1.10, "m": 1e2}'),
            "new_state": Jsonb([]),
            "metadata": Jsonb("text"),
            "compliance_requirement": "SOX",
            "regulation": "GDPR",
            "audit_required": False,
            "signature": "sig",
            "signing_key_id": "k1",
            "blockchain_tx_hash": "0xabc",
            "deleted_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        },
        {"ip_address": ip_interface("2001:db8::5/64"), "confidence": Decimal("0.00")},
    ]
    ids = [add(conn, tenant, **values) for values in tricky]
    text_forms = conn.execute(
        psycopg.sql.SQL(
            "SELECT a.id, a.chain_seq, a.chain_prev_hash, a.verification_hash, ARRAY[{}] "
            "FROM audit_logs AS a WHERE a.id = ANY(%s) ORDER BY a.chain_seq"
        ).format(psycopg.sql.SQL(_content_fragment())),
        (ids,),
    ).fetchall()
    for _, seq, prev, stored, content in text_forms:
        assert independent_row_hash(content, seq, prev) == stored
        assert row_hash(content, seq, prev) == stored
    # the same from psycopg's typed values (jsonb numbers as Decimal, as stored)
    with psycopg.connect(db_url, row_factory=dict_row) as typed:
        loads = psycopg.types.json.set_json_loads
        loads(lambda data: json.loads(data, parse_float=Decimal), typed)
        for row in typed.execute(
            "SELECT * FROM audit_logs WHERE id = ANY(%s) ORDER BY chain_seq", (ids,)
        ):
            content = content_from_row(row)
            assert (
                row_hash(content, row["chain_seq"], row["chain_prev_hash"])
                == row["verification_hash"]
            ), row["id"]
    assert text_forms[0][4] != text_forms[1][4]  # NULL and '' encode differently


def _content_fragment() -> str:
    from pbl_db import queries

    return queries.load("audit_chain_content")


def test_concurrent_inserts_form_one_unbroken_chain(db_url: str, conn, tenant, pbl: Pbl) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as session:
                for i in range(20):
                    if i % 7 == 3:  # a rolled-back insert must leave no gap
                        with pytest.raises(ZeroDivisionError), session.transaction():
                            add(session, tenant, event_description=f"lost {n}-{i}")
                            raise ZeroDivisionError
                    with session.transaction():
                        add(session, tenant, event_description=f"w{n}-{i}")
                        if i % 5 == 0:
                            add(session, tenant, event_description=f"w{n}-{i}b")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = chain(conn, tenant)
    assert [r[1] for r in rows] == list(range(1, 6 * 24 + 1))
    assert all(rows[i][2] == rows[i - 1][3] for i in range(1, len(rows)))
    code, report = verify(pbl, db_url)
    assert code == 0, report


def test_an_rls_refused_row_does_not_touch_the_other_tenants_chain(db_url: str, conn) -> None:
    a, b = make_tenant(conn, "a-co"), make_tenant(conn, "b-co")
    add(conn, b)
    with psycopg.connect(db_url) as session:
        session.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(a),))
        session.execute("SET ROLE application_user")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            session.execute(
                "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name) "
                "VALUES (%s, 'x', 'x', 'svc')",
                (b,),
            )
        # the refused transaction is still open: tenant b's writers must not wait for it
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("SET lock_timeout = '2s'")
            add(other, b)
        session.rollback()
    assert [r[1] for r in chain(conn, b)] == [1, 2]


# --- tampering ---------------------------------------------------------------------------------


def test_verify_passes_untouched(five, pbl: Pbl, db_url: str) -> None:
    code, report = verify(pbl, db_url)
    assert code == 0 and report["rows"] == 5


def test_changed_content_is_detected(five, tenant, pbl: Pbl, db_url: str) -> None:
    tamper(
        db_url, "UPDATE audit_logs SET event_description = 'rewritten' WHERE id = %s", (five[2],)
    )
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"], found["tenant_id"]) == (
        "content_changed",
        str(five[2]),
        str(tenant),
    )
    assert found["chain_seq"] == 3


def test_deleted_row_is_detected(five, tenant, pbl: Pbl, db_url: str) -> None:
    tamper(db_url, "DELETE FROM audit_logs WHERE id = %s", (five[2],))
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"], found["tenant_id"]) == (
        "chain_gap",
        str(five[3]),
        str(tenant),
    )
    assert "chain_seq 3 missing" in found["detail"]


def test_deleted_newest_row_is_detected(five, pbl: Pbl, db_url: str) -> None:
    tamper(db_url, "DELETE FROM audit_logs WHERE id = %s", (five[4],))
    found = problem(pbl, db_url)
    assert found["reason"] == "chain_gap" and found["row_id"] == str(five[3])


def test_inserted_unchained_row_is_detected(five, tenant, pbl: Pbl, db_url: str) -> None:
    forged = uuid.uuid4()
    tamper(
        db_url,
        "INSERT INTO audit_logs (id, tenant_id, event_type, event_category, service_name, "
        "event_timestamp) VALUES (%s, %s, 'decision.made', 'decision', 'pbl-tests', %s)",
        (forged, tenant, DAYS_AGO),
    )
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"]) == ("unchained_row", str(forged))


def _forge_copy(conn: psycopg.Connection, template: uuid.UUID, seq: int, prev: str) -> uuid.UUID:
    """A new row with a template row's content at chain_seq seq, with a valid hash."""
    forged = uuid.uuid4()
    conn.execute("SET session_replication_role = replica")
    conn.execute("CREATE TEMP TABLE f AS SELECT * FROM audit_logs WHERE id = %s", (template,))
    conn.execute("UPDATE f SET id = %s, chain_seq = %s, chain_prev_hash = %s", (forged, seq, prev))
    row = conn.execute(
        psycopg.sql.SQL("SELECT a.chain_seq, a.chain_prev_hash, ARRAY[{}] FROM f AS a").format(
            psycopg.sql.SQL(_content_fragment())
        )
    ).fetchone()
    assert row is not None
    conn.execute("UPDATE f SET verification_hash = %s", (row_hash(row[2], row[0], row[1]),))
    conn.execute("INSERT INTO audit_logs SELECT * FROM f")
    conn.execute("DROP TABLE f")
    return forged


def test_row_appended_behind_the_head_is_detected(five, tenant, db_url, pbl: Pbl) -> None:
    with psycopg.connect(db_url, autocommit=True) as attacker:
        last = chain(attacker, tenant)[-1]
        forged = _forge_copy(attacker, five[0], 6, last[3])
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"]) == ("beyond_head", str(forged))


def test_row_inserted_inside_the_chain_is_detected(five, tenant, db_url, pbl: Pbl) -> None:
    with psycopg.connect(db_url, autocommit=True) as attacker:
        rows = chain(attacker, tenant)
        attacker.execute("SET session_replication_role = replica")
        attacker.execute(
            "UPDATE audit_logs SET chain_seq = chain_seq + 1 WHERE tenant_id = %s "
            "AND chain_seq >= 3",
            (tenant,),
        )
        attacker.execute(
            "UPDATE audit_chain_heads SET last_seq = last_seq + 1 WHERE chain_id = "
            "(SELECT id FROM audit_chains WHERE tenant_id = %s)",
            (tenant,),
        )
        _forge_copy(attacker, five[0], 3, rows[1][3])
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"], found["chain_seq"]) == (
        "inserted_row",
        str(five[2]),
        4,
    )


def test_reordered_rows_are_detected(five, pbl: Pbl, db_url: str) -> None:
    tamper(
        db_url,
        "UPDATE audit_logs SET chain_seq = CASE WHEN id = %s THEN 2 ELSE 3 END "
        "WHERE id IN (%s, %s)",
        (five[2], five[1], five[2]),
    )
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"], found["chain_seq"]) == (
        "reordered",
        str(five[2]),
        2,
    )


# --- seals -------------------------------------------------------------------------------------


def test_seal_records_blocks_and_stamps_rows(conn, five, tenant, pbl: Pbl, db_url: str) -> None:
    planned = seal(pbl, db_url, "--dry-run")
    assert [(b["tenant_id"], b["leaf_count"], b["block_number"]) for b in planned] == [
        (str(tenant), 5, None)
    ]
    assert conn.execute("SELECT count(*) FROM audit_seals").fetchone() == (0,)
    blocks = seal(pbl, db_url)
    assert [(b["block_number"], b["leaf_count"], b["period"]) for b in blocks] == [(1, 5, "day")]
    hashes = [r[3] for r in chain(conn, tenant)]
    assert blocks[0]["merkle_root"] == merkle_root([leaf_hash(h) for h in hashes]).hex()
    stamped = conn.execute(
        "SELECT DISTINCT block_number, merkle_root, block_timestamp = "
        "(SELECT sealed_at FROM audit_seals) FROM audit_logs"
    ).fetchall()
    assert stamped == [("1", blocks[0]["merkle_root"], True)]
    assert seal(pbl, db_url) == []  # nothing left to seal

    late = add(conn, tenant)  # a row for the sealed day, arriving late
    seal(pbl, db_url, "--period", "month", "--until", "2000-01-01T00:00:00+00:00")
    again = seal(pbl, db_url)
    assert [(b["block_number"], b["leaf_count"]) for b in again] == [(2, 1)]
    record = conn.execute(
        "SELECT prev_seal_hash, (SELECT seal_hash FROM audit_seals WHERE block_number = 1) "
        "FROM audit_seals WHERE block_number = 2"
    ).fetchone()
    assert record is not None and record[0] == record[1]
    assert conn.execute(
        "SELECT block_number FROM audit_logs WHERE id = %s", (late,)
    ).fetchone() == ("2",)
    code, report = verify(pbl, db_url)
    assert code == 0 and report["tenants"][0]["blocks"] == 2 and report["seals"]["count"] == 2


def test_seal_groups_blocks_into_transactions_and_chains_across_them(
    conn, pbl: Pbl, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of about TXN_ROWS rows share a transaction; numbers and seal hashes run on
    across the transactions, and every row carries its own block."""
    monkeypatch.setattr("pbl_db.audit.seal.TXN_ROWS", 3)
    a, b = make_tenant(conn, "a-co"), make_tenant(conn, "b-co")
    for day in range(4):
        for t in (a, b):
            for i in range(1 + day % 2):
                add(conn, t, event_timestamp=DAYS_AGO - timedelta(days=day, minutes=i))
    blocks = seal(pbl, db_url)
    assert [b["block_number"] for b in blocks] == list(range(1, 9))
    assert sum(b["leaf_count"] for b in blocks) == 12
    seals = conn.execute(
        "SELECT block_number, prev_seal_hash, seal_hash, sealed_at, leaf_count FROM audit_seals "
        "ORDER BY block_number"
    ).fetchall()
    assert seals[0][1] == GENESIS
    assert all(seals[i][1] == seals[i - 1][2] for i in range(1, len(seals)))
    transactions = {r[3] for r in seals}
    assert 1 < len(transactions) < len(seals)  # several blocks per transaction, several of them
    stamped = conn.execute(
        "SELECT a.block_number, count(*) FROM audit_logs a GROUP BY a.block_number"
    ).fetchall()
    assert sorted((int(n), c) for n, c in stamped) == [(r[0], r[4]) for r in seals]
    code, report = verify(pbl, db_url)
    assert code == 0 and report["seals"]["count"] == 8, report["problems"]


def test_seal_columns_supplied_at_insert_are_cleared(
    conn, five, tenant, pbl: Pbl, db_url: str
) -> None:
    """A service may INSERT block_number, merkle_root and block_timestamp (0009's grant): a row
    claiming a seal it is not a leaf of would never be sealed and would break its block."""
    seal(pbl, db_url)
    sealed = conn.execute(
        "SELECT block_number, merkle_root, block_timestamp FROM audit_logs WHERE id = %s",
        (five[0],),
    ).fetchone()
    assert sealed is not None
    with psycopg.connect(db_url, autocommit=True) as service:
        service.execute("SELECT set_config('app.current_tenant_id', %s, false)", (str(tenant),))
        service.execute("SET ROLE application_user")
        inserted = service.execute(
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
            "event_timestamp, block_number, merkle_root, block_timestamp) "
            "VALUES (%s, 'x', 'decision', 'svc', %s, %s, %s, %s) RETURNING id",
            (tenant, DAYS_AGO, *sealed),
        ).fetchone()
    assert inserted is not None
    claimed = inserted[0]
    row = conn.execute(
        "SELECT block_number, merkle_root, block_timestamp FROM audit_logs WHERE id = %s",
        (claimed,),
    ).fetchone()
    assert row == (None, None, None)
    assert [b["leaf_count"] for b in seal(pbl, db_url)] == [1]
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]


def test_seal_columns_are_set_once(conn, five, pbl: Pbl, db_url: str) -> None:
    seal(pbl, db_url)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="sealed"):
        conn.execute("UPDATE audit_logs SET merkle_root = 'x' WHERE id = %s", (five[0],))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("DELETE FROM audit_seals")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("UPDATE audit_seals SET merkle_root = 'x'")


def test_changed_seal_record_is_detected(conn, five, tenant, pbl: Pbl, db_url: str) -> None:
    seal(pbl, db_url)
    tamper(db_url, "UPDATE audit_seals SET merkle_root = %s WHERE block_number = 1", ("0" * 64,))
    found = problem(pbl, db_url)
    assert (found["reason"], found["block_number"], found["tenant_id"]) == (
        "seal_record_changed",
        1,
        str(tenant),
    )


def test_changed_merkle_root_on_a_row_is_detected(five, pbl: Pbl, db_url: str) -> None:
    seal(pbl, db_url)
    tamper(db_url, "UPDATE audit_logs SET merkle_root = %s WHERE id = %s", ("0" * 64, five[1]))
    found = problem(pbl, db_url)
    assert (found["reason"], found["row_id"], found["block_number"]) == (
        "row_seal_mismatch",
        str(five[1]),
        1,
    )


def test_consistently_rewritten_seal_is_detected(conn, five, pbl: Pbl, db_url: str) -> None:
    """Seal record and rows changed together, seal hash recomputed: the leaves still disagree."""
    from pbl_db.audit.encoding import SealRecord

    seal(pbl, db_url)
    row = conn.execute(
        "SELECT block_number, tenant_id::text, period, period_start, period_end, leaf_count, "
        "first_seq, last_seq, merkle_root, sealed_at, sealed_by, prev_seal_hash, seal_hash "
        "FROM audit_seals"
    ).fetchone()
    assert row is not None
    forged = SealRecord(*row[:8], "1" * 64, *row[9:12])
    tamper(
        db_url,
        "UPDATE audit_seals SET merkle_root = %s, seal_hash = %s",
        ("1" * 64, forged.computed_hash()),
    )
    tamper(db_url, "UPDATE audit_logs SET merkle_root = %s", ("1" * 64,))
    found = problem(pbl, db_url)
    assert (found["reason"], found["block_number"]) == ("seal_root_mismatch", 1)


def test_deleted_seal_record_is_detected(conn, tenant, pbl: Pbl, db_url: str) -> None:
    add(conn, tenant, when=DAYS_AGO - timedelta(days=1))
    add(conn, tenant)
    assert len(seal(pbl, db_url)) == 2
    tamper(db_url, "DELETE FROM audit_seals WHERE block_number = 1")
    found = problem(pbl, db_url)
    assert (found["reason"], found["block_number"]) == ("seal_chain_broken", 1)


# --- proof -------------------------------------------------------------------------------------


def check_proof_with_sha256(p: dict[str, Any]) -> str:
    """The check docs/audit.md describes, with hashlib only."""
    row_hash_hex = hashlib.sha256(p["encoding"].encode("utf-8")).hexdigest()
    assert row_hash_hex == p["verification_hash"]
    h = hashlib.sha256(b"\x00" + bytes.fromhex(row_hash_hex)).digest()
    assert h.hex() == p["leaf_hash"]
    for step in p["path"]:
        sibling = bytes.fromhex(step["hash"])
        pair = sibling + h if step["side"] == "left" else h + sibling
        h = hashlib.sha256(b"\x01" + pair).digest()
    assert hashlib.sha256(p["seal_encoding"].encode("utf-8")).hexdigest() == p["seal_hash"]
    assert f"merkle_root={len(h.hex())}:{h.hex()}\n" in p["seal_encoding"]
    return h.hex()


def test_proof_checks_with_sha256_alone(conn, tenant, pbl: Pbl, db_url: str) -> None:
    ids = [add(conn, tenant, event_description=f"e{i}") for i in range(7)]
    seal(pbl, db_url)
    for row_id in (ids[0], ids[4], ids[6]):
        result = pbl("audit", "proof", str(row_id), "--database-url", db_url, "--json")
        assert result.code == 0, result.err
        p = json.loads(result.out)
        recorded = conn.execute(
            "SELECT s.merkle_root, s.seal_hash FROM audit_seals s "
            "JOIN audit_logs a ON a.block_number = s.block_number::text WHERE a.id = %s",
            (row_id,),
        ).fetchone()
        assert recorded is not None
        assert check_proof_with_sha256(p) == recorded[0] and p["seal_hash"] == recorded[1]
        assert (p["leaf_count"], p["row_id"]) == (7, str(row_id))
    text = pbl("audit", "proof", str(ids[4]), "--database-url", db_url)
    assert text.code == 0 and "merkle_root" in text.out and "sha256" in text.out


def test_proof_of_an_unsealed_row_is_refused(conn, tenant, pbl: Pbl, db_url: str) -> None:
    row_id = add(conn, tenant)
    result = pbl("audit", "proof", str(row_id), "--database-url", db_url)
    assert result.code == 1 and "not sealed" in result.err
    assert pbl("audit", "proof", "nope", "--database-url", db_url).code == 2


def test_merkle_builder_matches_the_tree() -> None:
    for n in range(1, 40):
        leaves = [hashlib.sha256(bytes([i])).digest() for i in range(n)]
        builder = MerkleBuilder()
        for leaf in leaves:
            builder.add(leaf)
        root = merkle_root(leaves)
        assert builder.root() == root
        assert all(root_from_path(leaves[i], audit_path(i, leaves)) == root for i in range(n))


# --- sanctioned removals -----------------------------------------------------------------------


def test_purged_rows_keep_chain_and_seals_verifiable(conn, tenant, pbl: Pbl, db_url) -> None:
    keep = add(conn, tenant)
    [  # two expired rows
        add(conn, tenant, when=LONG_AGO, created=LONG_AGO, regulation="FCRA") for _ in range(2)
    ]
    # same old month, created recently: kept, shares the block with the purged rows
    survivor = add(conn, tenant, when=LONG_AGO, created=datetime.now(UTC), regulation="GDPR")
    add(conn, tenant)
    seal(pbl, db_url, "--period", "month")
    assert conn.execute("SELECT pbl_purge_expired_audit_logs(100)").fetchone() == (2,)
    ledger = conn.execute(
        "SELECT kind, first_seq FROM audit_chain_removals ORDER BY first_seq"
    ).fetchall()
    assert ledger == [("purge", 2), ("purge", 3)]
    code, report = verify(pbl, db_url)
    assert code == 0, report
    assert report["tenants"][0]["purged"] == 2 and report["tenants"][0]["blocks"] >= 1
    result = pbl("audit", "proof", str(survivor), "--database-url", db_url, "--json")
    assert result.code == 0, result.err
    p = json.loads(result.out)
    assert p["leaf_count"] == 3 and check_proof_with_sha256(p) == p["merkle_root"]
    assert keep  # the rows around the purged ones still link through them


def test_deletion_without_the_purge_path_is_flagged(conn, tenant, pbl: Pbl, db_url) -> None:
    add(conn, tenant)
    expired = add(conn, tenant, when=LONG_AGO, created=LONG_AGO, regulation="FCRA")
    add(conn, tenant)
    tamper(db_url, "DELETE FROM audit_logs WHERE id = %s", (expired,))
    found = problem(pbl, db_url)
    assert found["reason"] == "chain_gap" and found["chain_seq"] == 3


@pytest.fixture
def old_months(conn: psycopg.Connection) -> Iterator[list[str]]:
    made = [
        r[0]
        for r in conn.execute(
            "SELECT * FROM pbl_ensure_audit_partitions_between('2019-03-01', '2019-04-01')"
        )
    ]
    assert made == ["audit_logs_y2019m03", "audit_logs_y2019m04"]
    yield made


def interleave(conn, tenant: uuid.UUID, month: int, n: int) -> list[uuid.UUID]:
    """n rows in 2019-month interleaved with current rows (the chain order is insert order)."""
    out = []
    for i in range(n):
        out.append(add(conn, tenant, when=datetime(2019, month, 5 + i, tzinfo=UTC)))
        add(conn, tenant)
    return out


def test_dropped_partition_noted_in_the_ledger_verifies(
    conn, tenant, old_months, pbl: Pbl, db_url: str
) -> None:
    other = make_tenant(conn, "other")
    interleave(conn, tenant, 3, 3)
    interleave(conn, other, 3, 2)
    add(conn, tenant, when=datetime(2019, 4, 2, tzinfo=UTC))
    seal(pbl, db_url, "--period", "month")
    with conn.transaction():
        noted = conn.execute(
            "SELECT pbl_audit_note_partition_removal('audit_logs_y2019m03'::regclass)"
        ).fetchone()
        again = conn.execute(
            "SELECT pbl_audit_note_partition_removal('audit_logs_y2019m03'::regclass)"
        ).fetchone()
        conn.execute("DROP TABLE audit_logs_y2019m03")
    assert noted == (5,) and again == (5,)
    ledger = conn.execute(
        "SELECT count(*), sum(row_count) FROM audit_chain_removals WHERE kind = 'partition'"
    ).fetchone()
    assert ledger == (2, 5)  # one row per tenant and block, not per row
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]
    mine = next(t for t in report["tenants"] if t["tenant_id"] == str(tenant))
    assert mine["removed_with_partitions"] == 3 and mine["blocks_unverifiable"] == 1

    # the next month dropped without the ledger is flagged
    conn.execute("DROP TABLE audit_logs_y2019m04")
    found = problem(pbl, db_url)
    assert (found["reason"], found["tenant_id"]) == ("chain_gap", str(tenant))


def test_detached_partition_noted_in_the_ledger_verifies(
    conn, tenant, old_months, pbl: Pbl, db_url: str
) -> None:
    interleave(conn, tenant, 4, 2)
    with conn.transaction():
        conn.execute("SELECT pbl_audit_note_partition_removal('audit_logs_y2019m04'::regclass)")
        conn.execute("ALTER TABLE audit_logs DETACH PARTITION audit_logs_y2019m04")
    code, report = verify(pbl, db_url)
    assert code == 0 and report["tenants"][0]["removed_with_partitions"] == 2


def test_ledger_without_the_removal_is_flagged(conn, tenant, old_months, pbl: Pbl, db_url) -> None:
    interleave(conn, tenant, 3, 2)
    conn.execute("SELECT pbl_audit_note_partition_removal('audit_logs_y2019m03'::regclass)")
    found = problem(pbl, db_url)
    assert found["reason"] == "ledger_mismatch" and found["tenant_id"] == str(tenant)


def test_note_partition_removal_refuses_other_tables(conn) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a partition"):
        conn.execute("SELECT pbl_audit_note_partition_removal('tenants'::regclass)")


def test_verify_since_checks_the_chain_from_then(conn, tenant, pbl: Pbl, db_url: str) -> None:
    first = add(conn, tenant, when=DAYS_AGO - timedelta(days=2))
    add(conn, tenant)
    add(conn, tenant)
    tamper(db_url, "UPDATE audit_logs SET event_type = 'forged' WHERE id = %s", (first,))
    since = (DAYS_AGO - timedelta(hours=1)).isoformat()
    code, report = verify(pbl, db_url, "--since", since)
    assert code == 0 and report["rows"] == 2 and report["tenants"][0]["from_seq"] == 2
    assert problem(pbl, db_url)["row_id"] == str(first)
    assert pbl("audit", "verify", "--database-url", db_url, "--since", "2026-01-01").code == 2


# --- the migration -----------------------------------------------------------------------------


def test_migration_chains_existing_rows_and_rolls_back(empty_db_url: str, pbl: Pbl) -> None:
    migrator = Migrator(empty_db_url, ROOT / "sql" / "migrations")
    ids = [f.id for f in migrator.files()]
    mine = next(i for i in ids if i.startswith("0017_"))
    migrator.apply(ids[ids.index(mine) - 1])
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        a, b = make_tenant(conn, "a-co"), make_tenant(conn, "b-co")
        for i in range(3):
            add(conn, b, created=DAYS_AGO + timedelta(minutes=10 - i))
            add(conn, a, created=DAYS_AGO + timedelta(minutes=i))
        migrator.apply(mine)
        rows = conn.execute(
            "SELECT tenant_id, chain_seq, created_at FROM audit_logs ORDER BY tenant_id, chain_seq"
        ).fetchall()
        for t in (a, b):
            mine_rows = [r for r in rows if r[0] == t]
            assert [r[1] for r in mine_rows] == [1, 2, 3]
            assert [r[2] for r in mine_rows] == sorted(r[2] for r in mine_rows)
        add(conn, a)  # continues the backfilled chain
        code, report = verify(pbl, empty_db_url)
        assert code == 0 and report["rows"] == 7, report
        migrator.rollback(count=1)
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'audit_logs' AND column_name LIKE 'chain%%'"
        ).fetchone()
        assert columns == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE audit_logs SET merkle_root = 'x'")


def test_refused_without_the_migration_or_without_seeing_every_tenant(
    pg_server, empty_db_url: str, db_url: str, pbl: Pbl
) -> None:
    import secrets

    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    result = pbl("audit", "verify", "--database-url", empty_db_url)
    assert result.code == 2 and "pbl migrate" in result.err
    role, password = f"auditor_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(12)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE pbl_reporting").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        url = make_conninfo(db_url, user=role, password=password)
        for args in (("verify",), ("seal",), ("proof", str(uuid.uuid4()))):
            result = pbl("audit", *args, "--database-url", url)
            assert result.code == 4 and "row-level security" in result.err, result.err
        assert pbl("audit", "verify", "--database-url", db_url, "--tenant", "nobody").code == 2
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
