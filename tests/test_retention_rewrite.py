"""pbl retention run: a past month that loses most of its rows is rebuilt from the rows it keeps
(migration 0019), and the audit chain stays verifiable through it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pbl_db.partitions import partition_name
from tests.test_audit_chain import check_proof_with_sha256, seal, tamper, verify
from tests.test_retention import World, audit_ids, exists, is_partition, one, world

pytestmark = pytest.mark.matrix

__all__ = ["world"]  # the fixture, imported for its use here


def rows_as_text(conn: psycopg.Connection, name: str) -> dict[uuid.UUID, str]:
    """Every row of a partition in its text form: any change to any column shows."""
    return {
        r[0]: r[1]
        for r in conn.execute(
            sql.SQL("SELECT id, a::text FROM {} AS a").format(sql.Identifier(name))
        )
    }


def shape(conn: psycopg.Connection, name: str) -> dict[str, Any]:
    """What makes a table a full audit_logs partition: triggers, indexes attached to the
    parent's, constraints (the foreign key included), the partition bound."""
    oid = one(conn, "SELECT %s::regclass::oid", (f"public.{name}",))
    return {
        "triggers": sorted(
            r[0]
            for r in conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal "
                "AND tgenabled <> 'D'",
                (oid,),
            )
        ),
        "indexes": sorted(
            r[0]
            for r in conn.execute(
                "SELECT p.inhparent::regclass::text FROM pg_index AS x "
                "JOIN pg_inherits AS p ON p.inhrelid = x.indexrelid WHERE x.indrelid = %s",
                (oid,),
            )
        ),
        "constraints": sorted(
            (r[0], r[1])
            for r in conn.execute(
                "SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s",
                (oid,),
            )
        ),
        "index_names": sorted(
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                "WHERE x.indrelid = %s",
                (oid,),
            )
        ),
        "reloptions": one(conn, "SELECT reloptions FROM pg_class WHERE oid = %s", (oid,)),
        "bound": one(
            conn, "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = %s", (oid,)
        ),
    }


def run(pbl: Any, db_url: str, *args: str) -> dict[str, Any]:
    res = pbl("retention", "run", "--database-url", db_url, "--json", *args)
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def test_auto_rewrites_mostly_expired_months_and_keeps_every_kept_row_as_it_was(
    pbl, db_url, conn, world: World
) -> None:
    mixed, held = partition_name(world.mixed_month), partition_name(world.held_month)
    reference = shape(conn, partition_name(world.expired_month))  # made by partitions ensure
    seal(pbl, db_url, "--period", "month")  # removed rows sit in sealed blocks
    conn.execute(  # a DBA's storage settings for an old month survive its rewrite
        sql.SQL("ALTER TABLE {} SET (fillfactor = 90, autovacuum_enabled = false)").format(
            sql.Identifier(mixed)
        )
    )
    before = {name: rows_as_text(conn, name) for name in (mixed, held)}
    shapes = {name: shape(conn, name) for name in (mixed, held)}
    assert shapes[mixed]["triggers"] == reference["triggers"]

    out = run(pbl, db_url)
    actions = {p["name"]: p["action"] for p in out["plan"]["partitions"]}
    assert actions[mixed] == actions[held] == "rewrite"
    report = out["report"]
    assert sorted(report["rewritten"]) == sorted([mixed, held])
    assert report["rows_in_rewrites"] == 15 and report["rows_deleted"] == 0
    assert report["removed"] == {"GDPR": 15, "FCRA": 5, "DEFAULT": 5}
    assert report["held"] == {"FCRA": 5}

    left = audit_ids(conn)
    assert not left & set(world.gdpr_old) and not left & set(world.unheld_rows)
    assert set(world.fcra_kept) <= left and set(world.held_rows) <= left
    for name in (mixed, held):
        after = rows_as_text(conn, name)
        kept = {k: v for k, v in before[name].items() if k in after}
        assert after == kept and len(after) == 5  # byte for byte, chain and seal columns too
        assert is_partition(conn, name)
        assert shape(conn, name) == shapes[name]  # the same triggers, indexes, checks, bound
    assert not exists(conn, f"{mixed}_rewrite") and not exists(conn, f"{held}_rewrite")

    ledger = conn.execute(
        "SELECT sum(row_count), count(*) FILTER (WHERE octet_length(leaves) <> 72 * row_count) "
        "FROM audit_chain_removals WHERE kind = 'rewrite'"
    ).fetchone()
    assert ledger == (15, 0)
    code, verified = verify(pbl, db_url)
    assert code == 0, verified["problems"]
    mine = next(t for t in verified["tenants"] if t["tenant_id"] == str(world.tenant))
    assert mine["purged"] == 15  # checked leaf by leaf, like rows the purge path deletes

    # a kept row of a block that lost rows still has a proof that checks with sha256 alone
    survivor = world.fcra_kept[0]
    res = pbl("audit", "proof", str(survivor), "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    proof = json.loads(res.out)
    assert check_proof_with_sha256(proof) == proof["merkle_root"]

    # the rebuilt partition is a partition like the others: the guard, the chain
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(mixed)))
    event = one(conn, "SELECT event_description FROM audit_logs WHERE event_type = 'retention.run'")
    assert "2 rewritten" in str(event)


def test_thin_delete_and_keep_tables_delete_row_by_row(pbl, db_url, conn, world: World) -> None:
    mixed = partition_name(world.mixed_month)
    for args in (("--thin", "delete"), ("--keep-tables",)):
        dry = run(pbl, db_url, "--dry-run", *args)["plan"]
        actions = {p["name"]: p["action"] for p in dry["partitions"]}
        assert actions[mixed] == "purge", args
        assert all(c["in_rewrites"] == 0 for c in dry["counts"])
    dry = run(pbl, db_url, "--dry-run")["plan"]
    assert {c["regulation"]: c["in_rewrites"] for c in dry["counts"] if c["in_rewrites"]} == {
        "GDPR": 10,
        "DEFAULT": 5,
    }
    report = run(pbl, db_url, "--thin", "delete")["report"]
    assert report["rewritten"] == [] and report["rows_deleted"] == 15
    assert one(conn, "SELECT count(*) FROM audit_chain_removals WHERE kind = 'rewrite'") == 0
    assert pbl("retention", "run", "--thin", "sometimes", "--database-url", db_url).code == 2


def test_thin_rewrite_rewrites_a_month_that_loses_few_rows(pbl, db_url, conn, world) -> None:
    mixed = partition_name(world.mixed_month)
    conn.execute(  # 20 more kept rows: the month now loses 10 of 35 (auto deletes those)
        "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
        "regulation, created_at, event_timestamp) "
        "SELECT %s, 'decision.made', 'decision', 'pbl-tests', 'FCRA', t, t "
        "FROM (SELECT %s::timestamptz + i * interval '1 minute' AS t "
        "      FROM generate_series(1, 20) AS i) AS s",
        (world.tenant, f"{world.mixed_month:%Y-%m}-25T00:00:00Z"),
    )
    actions = {p["name"]: p["action"] for p in run(pbl, db_url, "--dry-run")["plan"]["partitions"]}
    assert actions[mixed] == "purge"
    report = run(pbl, db_url, "--thin", "rewrite")["report"]
    assert mixed in report["rewritten"]
    assert one(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(mixed))) == 25
    code, verified = verify(pbl, db_url)
    assert code == 0, verified["problems"]


def test_changed_rewrite_leaves_are_detected(pbl, db_url, conn, world) -> None:
    run(pbl, db_url)
    target = one(conn, "SELECT min(id) FROM audit_chain_removals WHERE kind = 'rewrite'")
    # flip one byte of the first removed row's verification_hash
    tamper(
        db_url,
        "UPDATE audit_chain_removals SET leaves = set_byte(leaves, 9, get_byte(leaves, 9) # 1) "
        "WHERE id = %s",
        (target,),
    )
    code, verified = verify(pbl, db_url)
    assert code == 1 and not verified["ok"]
    assert verified["problems"][0]["tenant_id"] == str(world.tenant)


def test_a_removed_row_hidden_from_the_ledger_is_detected(pbl, db_url, conn, world) -> None:
    run(pbl, db_url)
    # drop the ledger's account of the rewritten rows: the gap is no longer explained (the
    # rows interleave in the chain with those of the dropped month, whose ledger entry then
    # accounts for fewer rows than are missing in its range)
    tamper(db_url, "DELETE FROM audit_chain_removals WHERE kind = 'rewrite'")
    code, verified = verify(pbl, db_url)
    assert code == 1
    assert verified["problems"][0]["reason"] in ("chain_gap", "ledger_mismatch")


def test_malformed_hashes_make_the_run_fall_back_to_row_deletes(pbl, db_url, conn, world) -> None:
    mixed = partition_name(world.mixed_month)
    tamper(
        db_url,
        "UPDATE audit_logs SET verification_hash = 'not-a-hash' WHERE id = %s",
        (world.gdpr_old[0],),
    )
    report = run(pbl, db_url)["report"]
    assert mixed not in report["rewritten"] and report["rows_deleted"] >= 10
    assert report["not_rewritten"] == {mixed: "refused"}
    assert not audit_ids(conn) & set(world.gdpr_old)
    assert not exists(conn, f"{mixed}_rewrite")


def test_a_writer_in_the_month_makes_the_run_delete_row_by_row_instead(
    pbl, db_url, conn, world
) -> None:
    """The rewrite cannot have the month while a transaction writes into it; the expired rows
    go anyway, by the batch path, which does not need that lock."""
    mixed = partition_name(world.mixed_month)
    late = f"{world.mixed_month:%Y-%m}-27T00:00:00Z"
    with psycopg.connect(db_url) as writer:  # an open transaction that wrote into the month
        writer.execute(
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
            "regulation, created_at, event_timestamp) "
            "VALUES (%s, 'late.event', 'decision', 'pbl-tests', 'FCRA', %s, %s)",
            (world.tenant, late, late),
        )
        res = pbl(
            "retention", "run", "--lock-timeout", "20ms", "--database-url", db_url, "--json"
        )  # fmt: skip
        writer.commit()
    assert res.code == 5, res.err  # busy: the open insert holds audit_logs, so no DROP either
    report = json.loads(res.out)["report"]
    assert report["not_rewritten"][mixed] == "busy" and mixed not in report["rewritten"]
    assert report["busy"] == [partition_name(world.expired_month)]
    assert not audit_ids(conn) & set(world.gdpr_old)
    assert set(world.fcra_kept) <= audit_ids(conn)
    count = sql.SQL("SELECT count(*) FROM {} WHERE event_type = 'late.event'")
    assert one(conn, count.format(sql.Identifier(mixed))) == 1


def test_the_function_refuses_what_it_may_not_rewrite(conn, world) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a monthly partition"):
        conn.execute("SELECT * FROM pbl_audit_rewrite_partition_prepare('tenants', 'x_new')")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a monthly partition"):
        conn.execute(
            "SELECT * FROM pbl_audit_rewrite_partition_prepare('audit_logs_default', 'x_new')"
        )
    conn.execute("SELECT pbl_ensure_audit_partitions(0, 0)")
    current = partition_name(datetime.now(UTC).date())
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="current or a future"):
        conn.execute(
            "SELECT * FROM pbl_audit_rewrite_partition_prepare(%s::regclass, 'x_new')",
            (str(current),),
        )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="plain lower-case"):
        conn.execute(
            "SELECT * FROM pbl_audit_rewrite_partition_prepare(%s::regclass, 'X; DROP')",
            (partition_name(world.mixed_month),),
        )


def test_a_hold_placed_during_the_copy_refuses_the_swap(db_url, conn, world) -> None:
    """Holds are not locked while the month is copied; the swap counts again under the holds'
    lock, so a hold placed meanwhile on an application whose expired rows were to go refuses
    the rewrite instead of losing them."""
    from tests.test_retention import add_event, new_application

    mixed = partition_name(world.mixed_month)
    app = new_application(conn, world.tenant)
    day = datetime(world.mixed_month.year, world.mixed_month.month, 28, tzinfo=UTC)
    doomed = add_event(conn, world.tenant, day, "GDPR", app)
    with psycopg.connect(db_url) as rewriter:
        row = rewriter.execute(
            "SELECT kept, removed FROM pbl_audit_rewrite_partition_prepare(%s::regclass, %s)",
            (mixed, f"{mixed}_rewrite"),
        ).fetchone()
        assert row == (5, 11)
        rewriter.execute("SELECT pbl_audit_rewrite_partition_keys(%s)", (f"{mixed}_rewrite",))
        conn.execute(  # commits at once: the copy does not hold legal_holds
            "INSERT INTO legal_holds (tenant_id, application_id, reason) VALUES (%s, %s, 'late')",
            (world.tenant, app),
        )
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="changed since"):
            rewriter.execute(
                "SELECT pbl_audit_rewrite_partition_swap(%s::regclass, %s, 5)",
                (mixed, f"{mixed}_rewrite"),
            )
        rewriter.rollback()
    assert doomed in audit_ids(conn)
    assert one(conn, "SELECT count(*) FROM audit_chain_removals WHERE kind = 'rewrite'") == 0


def test_rewrites_run_under_read_committed_whatever_the_default(pbl, db_url, conn, world) -> None:
    """Under REPEATABLE READ a row committed while a lock was awaited would stay invisible to
    the copy and be lost with the old partition: the functions refuse it, the run sets READ
    COMMITTED for itself."""
    mixed = partition_name(world.mixed_month)
    with psycopg.connect(db_url) as other:
        other.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with pytest.raises(psycopg.errors.InvalidTransactionState, match="READ COMMITTED"):
            other.execute(
                "SELECT * FROM pbl_audit_rewrite_partition_prepare(%s::regclass, 'x_new')",
                (mixed,),
            )
    dbname = one(conn, "SELECT current_database()")
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET default_transaction_isolation = 'repeatable read'").format(
            sql.Identifier(str(dbname))
        )
    )
    report = run(pbl, db_url)["report"]
    assert mixed in report["rewritten"] and report["not_rewritten"] == {}
    code, verified = verify(pbl, db_url)
    assert code == 0, verified["problems"]
