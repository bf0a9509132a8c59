"""pbl retention: policies, backfill, run (drop / detach / purge / soft deletes), legal holds."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from pbl_db.partitions import partition_name

pytestmark = pytest.mark.matrix


def one(conn: psycopg.Connection, query: str, params: object = None) -> object:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def new_tenant(conn: psycopg.Connection) -> uuid.UUID:
    return one(  # type: ignore[return-value]
        conn,
        "INSERT INTO tenants (name, slug) VALUES ('Retention', %s) RETURNING id",
        (f"ret-{uuid.uuid4().hex[:8]}",),
    )


def new_application(
    conn: psycopg.Connection, tenant: uuid.UUID, deleted_ago: timedelta | None = None, **extra: str
) -> uuid.UUID:
    columns = ["tenant_id", "full_legal_name", "ssn_encrypted", "annual_income"]
    columns += ["employment_status", "deleted_at", *extra]
    deleted = None if deleted_ago is None else datetime.now(UTC) - deleted_ago
    values = [tenant, "A. Person", "pbl:v1:k:AAAA", 1, "employed", deleted, *extra.values()]
    return one(  # type: ignore[return-value]
        conn,
        sql.SQL("INSERT INTO applications ({}) VALUES ({}) RETURNING id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        values,
    )


def add_event(
    conn: psycopg.Connection,
    tenant: uuid.UUID,
    when: datetime,
    regulation: str | None,
    application: uuid.UUID | None = None,
) -> uuid.UUID:
    return one(  # type: ignore[return-value]
        conn,
        "INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category, "
        "service_name, regulation, created_at, event_timestamp) "
        "VALUES (%s, %s, 'decision.made', 'decision', 'pbl-tests', %s, %s, %s) RETURNING id",
        (tenant, application, regulation, when, when),
    )


def partition_of(conn: psycopg.Connection, event_id: uuid.UUID) -> str | None:
    row = conn.execute(
        "SELECT tableoid::regclass::text FROM audit_logs WHERE id = %s", (event_id,)
    ).fetchone()
    return row[0] if row else None


def exists(conn: psycopg.Connection, name: str) -> bool:
    return one(conn, "SELECT to_regclass(%s) IS NOT NULL", (f"public.{name}",)) is True


def is_partition(conn: psycopg.Connection, name: str) -> bool:
    return (
        one(
            conn,
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s) "
            "AND inhparent = 'audit_logs'::regclass)",
            (f"public.{name}",),
        )
        is True
    )


@dataclass
class World:
    tenant: uuid.UUID
    held_app: uuid.UUID
    expired_month: date  # 12 years ago: every row expired -> whole partition
    mixed_month: date  # 8 years ago: GDPR expired, FCRA kept
    held_month: date  # 12 years ago: expired, but some rows are under hold
    expired: list[uuid.UUID] = field(default_factory=list)  # all of expired_month
    gdpr_old: list[uuid.UUID] = field(default_factory=list)  # mixed_month, expired
    fcra_kept: list[uuid.UUID] = field(default_factory=list)  # mixed_month, retained
    held_rows: list[uuid.UUID] = field(default_factory=list)  # held_month, held
    unheld_rows: list[uuid.UUID] = field(default_factory=list)  # held_month, not held
    recent: list[uuid.UUID] = field(default_factory=list)


@pytest.fixture
def world(conn: psycopg.Connection) -> World:
    year = datetime.now(UTC).year
    w = World(
        tenant=new_tenant(conn),
        held_app=uuid.uuid4(),
        expired_month=date(year - 12, 3, 1),
        mixed_month=date(year - 8, 3, 1),
        held_month=date(year - 12, 5, 1),
    )
    w.held_app = new_application(conn, w.tenant)
    other_app = new_application(conn, w.tenant)
    for month in (w.expired_month, w.mixed_month, w.held_month):
        conn.execute("SELECT pbl_ensure_audit_partitions_between(%s, %s)", (month, month))

    def at(month: date, day: int) -> datetime:
        return datetime(month.year, month.month, day, 12, tzinfo=UTC)

    for day in range(1, 6):
        w.expired.append(add_event(conn, w.tenant, at(w.expired_month, day), "GDPR", other_app))
        w.expired.append(add_event(conn, w.tenant, at(w.expired_month, day + 10), "FCRA"))
        w.gdpr_old.append(add_event(conn, w.tenant, at(w.mixed_month, day), "GDPR"))
        w.gdpr_old.append(add_event(conn, w.tenant, at(w.mixed_month, day + 10), None))
        w.fcra_kept.append(add_event(conn, w.tenant, at(w.mixed_month, day + 20), "FCRA"))
        w.held_rows.append(add_event(conn, w.tenant, at(w.held_month, day), "FCRA", w.held_app))
        w.unheld_rows.append(add_event(conn, w.tenant, at(w.held_month, day + 10), "GDPR"))
        w.recent.append(add_event(conn, w.tenant, datetime.now(UTC), "GDPR"))
    conn.execute(
        "INSERT INTO legal_holds (tenant_id, application_id, reason) VALUES (%s, %s, 'lawsuit')",
        (w.tenant, w.held_app),
    )
    return w


def audit_ids(conn: psycopg.Connection) -> set[uuid.UUID]:
    return {r[0] for r in conn.execute("SELECT id FROM audit_logs WHERE service_name <> 'pbl'")}


def run_events(conn: psycopg.Connection) -> list[dict]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT event_data FROM audit_logs WHERE event_type = 'retention.run' "
            "ORDER BY created_at, event_timestamp"
        )
    ]


def test_policies_are_listed(pbl, db_url) -> None:
    res = pbl("retention", "policies", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    by_name = {p["regulation"]: p for p in json.loads(res.out)}
    assert by_name["GDPR"]["retention"] == "7 years"
    assert by_name["FCRA"]["retention"] == "10 years"
    assert by_name["DEFAULT"]["retention"] == "7 years"


def test_backfill_sets_retention_per_policy_in_batches(pbl, db_url, conn) -> None:
    tenant = new_tenant(conn)
    created = datetime(2021, 5, 17, 8, 30, tzinfo=UTC)
    later = datetime(2060, 1, 1, tzinfo=UTC)
    conn.execute("SET session_replication_role = replica")  # rows as an old system left them
    rows = {}
    for n, (regulation, retention) in enumerate(
        [("GDPR", None), ("fcra", None), ("PCI", None), (None, None), ("GDPR", later)] * 2
    ):
        rows[n] = one(
            conn,
            "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
            "regulation, created_at, event_timestamp, retention_until) "
            "VALUES (%s, 'x', 'y', 'pbl-tests', %s, %s, now(), %s) RETURNING id",
            (tenant, regulation, created + timedelta(minutes=n), retention),
        )
    conn.execute("SET session_replication_role = DEFAULT")

    res = pbl("retention", "backfill", "--dry-run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    preview = json.loads(res.out)
    assert preview["to_update"] == {"DEFAULT": 4, "FCRA": 2, "GDPR": 2}
    assert one(conn, "SELECT count(*) FROM audit_logs WHERE retention_until IS NULL") == 8

    res = pbl("retention", "backfill", "--batch-size", "3", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["updated"] == {"DEFAULT": 4, "FCRA": 2, "GDPR": 2}
    assert report["batches"] >= 3
    for n, event_id in rows.items():
        value = one(conn, "SELECT retention_until FROM audit_logs WHERE id = %s", (event_id,))
        made = created + timedelta(minutes=n)
        kind = n % 5
        if kind == 4:
            assert value == later  # a later value is never lowered
        elif kind == 1:
            assert value == made.replace(year=made.year + 10)
        else:
            assert value == made.replace(year=made.year + 7)

    res = pbl("retention", "backfill", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["to_update"] == {}


def test_dry_run_changes_nothing_and_reports_what_the_run_does(pbl, db_url, conn, world) -> None:
    before = audit_ids(conn)
    # --thin delete: the batch path (the rewrite path, which auto picks for these mostly
    # expired months, is tested in test_retention_rewrite.py)
    res = pbl(
        "retention", "run", "--dry-run", "--thin", "delete", "--database-url", db_url, "--json"
    )
    assert res.code == 0, res.err
    dry = json.loads(res.out)["plan"]
    assert audit_ids(conn) == before
    assert run_events(conn) == []
    assert exists(conn, partition_name(world.expired_month))
    actions = {p["name"]: p["action"] for p in dry["partitions"]}
    assert actions == {
        partition_name(world.expired_month): "drop",
        partition_name(world.mixed_month): "purge",
        partition_name(world.held_month): "purge",
    }
    counts = {(c["table"], c["regulation"]): c for c in dry["counts"]}
    assert counts["audit_logs", "GDPR"]["in_whole_partitions"] == 5
    assert counts["audit_logs", "GDPR"]["row_deletes"] == 10  # mixed 5 + held month 5
    assert counts["audit_logs", "FCRA"]["held"] == 5
    assert counts["audit_logs", "DEFAULT"]["row_deletes"] == 5
    assert dry["rows_to_remove"] == 25

    res = pbl("retention", "run", "--thin", "delete", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["plan"]["counts"] == dry["counts"]
    assert sum(out["report"]["removed"].values()) == dry["rows_to_remove"]


def test_run_drops_expired_partitions_deletes_expired_rows_and_keeps_holds(
    pbl, db_url, conn, world
) -> None:
    res = pbl(
        "retention", "run", "--thin", "delete", "--batch-size", "2", "--database-url", db_url,
        "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    report = json.loads(res.out)["report"]

    assert not exists(conn, partition_name(world.expired_month))
    assert report["dropped"] == [partition_name(world.expired_month)]
    left = audit_ids(conn)
    assert not left & set(world.expired)
    assert not left & set(world.gdpr_old)  # expired rows of a partly expired month: deleted
    assert set(world.fcra_kept) <= left
    assert set(world.held_rows) <= left  # expired, but under legal hold
    assert not left & set(world.unheld_rows)
    assert set(world.recent) <= left
    assert report["removed"] == {"GDPR": 15, "FCRA": 5, "DEFAULT": 5}
    assert report["rows_in_removed_partitions"] == 10 and report["rows_deleted"] == 15
    assert report["held"] == {"FCRA": 5}
    assert report["batches"] >= 8  # batches of 2
    assert report["completed"] and report["stopped"] is None

    events = run_events(conn)
    assert len(events) == 1
    assert events[0]["removed"] == report["removed"]
    assert events[0]["dropped"] == report["dropped"]
    event = conn.execute(
        "SELECT event_category, service_name, tenant_id, event_description FROM audit_logs "
        "WHERE event_type = 'retention.run'"
    ).fetchone()
    assert event is not None
    assert event[:2] == ("compliance", "pbl")
    assert one(conn, "SELECT slug FROM tenants WHERE id = %s", (event[2],)) == "pbl-system"
    assert "removed 25 audit row(s)" in event[3]

    # nothing is due any more: a second run removes nothing and records that
    res = pbl("retention", "run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["report"]["removed"] == {}
    assert len(run_events(conn)) == 2

    # once the hold is released, the held rows go too
    res = pbl(
        "retention", "release", "--application", str(world.held_app), "--reason", "settled",
        "--database-url", db_url,
    )  # fmt: skip
    assert res.code == 0, res.err
    res = pbl("retention", "run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert not audit_ids(conn) & set(world.held_rows)
    assert not exists(conn, partition_name(world.held_month))  # now fully expired


def test_keep_tables_detaches_and_renames(pbl, db_url, conn, world) -> None:
    res = pbl("retention", "run", "--keep-tables", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)["report"]
    name = partition_name(world.expired_month)
    assert report["dropped"] == [] and report["detached"] == [f"{name}_detached"]
    assert not exists(conn, name)
    assert exists(conn, f"{name}_detached") and not is_partition(conn, f"{name}_detached")
    assert one(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(f"{name}_detached")))
    assert not audit_ids(conn) & set(world.expired)


def test_keep_tables_when_an_earlier_archive_has_the_name(pbl, db_url, conn, world) -> None:
    """An archive of the same month detached by an earlier run (its rows came back later and
    expired again) must not make every later run fail on the rename."""
    name = partition_name(world.expired_month)
    conn.execute(sql.SQL("CREATE TABLE {} (kept int)").format(sql.Identifier(f"{name}_detached")))
    res = pbl("retention", "run", "--keep-tables", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["report"]["detached"] == [f"{name}_detached_2"]
    assert exists(conn, f"{name}_detached") and exists(conn, f"{name}_detached_2")
    assert not audit_ids(conn) & set(world.expired)


def test_the_audit_chain_is_told_before_a_partition_goes(pbl, db_url, conn, world) -> None:
    name = partition_name(world.expired_month)
    if one(conn, "SELECT to_regprocedure('pbl_audit_note_partition_removal(regclass)') IS NULL"):
        # before the audit chain (0017): a stand-in with the contract's signature
        conn.execute("CREATE TABLE removal_notes (part text, row_count bigint)")
        conn.execute(
            "CREATE FUNCTION pbl_audit_note_partition_removal(p regclass) RETURNS void "
            "LANGUAGE plpgsql AS $$ BEGIN EXECUTE format("
            "'INSERT INTO removal_notes SELECT %L, count(*) FROM %s', p::text, p); END $$"
        )
        notes_query = "SELECT part, sum(row_count) FROM removal_notes GROUP BY part"
    else:
        notes_query = (
            "SELECT source, sum(row_count) FROM audit_chain_removals "
            "WHERE kind = 'partition' GROUP BY source"
        )
    res = pbl("retention", "run", "--database-url", db_url)
    assert res.code == 0, res.err
    notes = [(part.removeprefix("public."), n) for part, n in conn.execute(notes_query)]
    assert notes == [(name, 10)]  # noted with its rows, in the transaction that dropped it
    assert not exists(conn, name)


def test_purge_function_skips_rows_under_hold(conn, world) -> None:
    purged = one(conn, "SELECT pbl_purge_expired_audit_logs(1000)")
    assert purged == 25  # 10 + 10 + 5: everything expired but the held rows
    assert set(world.held_rows) <= audit_ids(conn)
    with pytest.raises(psycopg.errors.RaiseException, match="not a partition of audit_logs"):
        conn.execute("SELECT * FROM pbl_purge_expired_audit_logs(10, 'tenants'::regclass, NULL)")


def test_soft_deleted_rows_past_grace_are_purged_unless_held_or_referenced(
    pbl, db_url, conn
) -> None:
    tenant = new_tenant(conn)
    gone = new_application(conn, tenant, timedelta(days=60))
    recent = new_application(conn, tenant, timedelta(days=5))
    referenced = new_application(conn, tenant, timedelta(days=60))
    add_event(conn, tenant, datetime.now(UTC), "GDPR", referenced)  # retained 7 years
    held = new_application(conn, tenant, timedelta(days=60), duoplus_device_id="dev-held")
    conn.execute(
        "INSERT INTO legal_holds (tenant_id, application_id, reason) VALUES (%s, %s, 'audit')",
        (tenant, held),
    )
    users = [
        one(
            conn,
            "INSERT INTO users (tenant_id, email, password_hash, deleted_at) "
            "VALUES (%s, %s, '$scrypt$x', now() - %s) RETURNING id",
            (tenant, f"u{n}-{uuid.uuid4().hex[:6]}@example.test", timedelta(days=days)),
        )
        for n, days in enumerate([60, 40, 2])
    ]
    devices = {
        name: one(
            conn,
            "INSERT INTO devices (device_id_external, tenant_id, device_type, region, deleted_at) "
            "VALUES (%s, %s, 'android', 'us-east', now() - interval '60 days') RETURNING id",
            (name, tenant),
        )
        for name in ("dev-free", "dev-held")
    }

    res = pbl("retention", "run", "--dry-run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    counts = {c["table"]: c for c in json.loads(res.out)["plan"]["counts"]}
    assert counts["applications"] | {} == {
        **counts["applications"],
        "due": 3,
        "held": 1,
        "referenced": 1,
        "to_remove": 1,
    }
    assert counts["users"]["to_remove"] == 2
    assert counts["devices"]["held"] == 1 and counts["devices"]["to_remove"] == 1

    res = pbl("retention", "run", "--grace", "30d", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    soft = json.loads(res.out)["report"]["soft_deleted"]
    assert soft["applications"]["purged"] == 1
    assert soft["applications"]["held"] == 1 and soft["applications"]["referenced"] == 1
    assert soft["users"]["purged"] == 2 and soft["devices"]["purged"] == 1
    apps = {r[0] for r in conn.execute("SELECT id FROM applications")}
    assert gone not in apps and {recent, referenced, held} <= apps
    assert {r[0] for r in conn.execute("SELECT id FROM users")} == {users[2]}
    assert {r[0] for r in conn.execute("SELECT id FROM devices")} == {devices["dev-held"]}
    assert run_events(conn)[0]["soft_deleted"]["applications"]["referenced"] == 1


def test_an_archive_reference_is_skipped_and_counted_not_fatal(pbl, db_url, conn) -> None:
    """A detached archive still references its applications: the purge counts them, goes on."""
    tenant = new_tenant(conn)
    app = new_application(conn, tenant, timedelta(days=90))
    old = datetime(datetime.now(UTC).year - 12, 1, 10, tzinfo=UTC)
    conn.execute("SELECT pbl_ensure_audit_partitions_between(%s, %s)", (old.date(), old.date()))
    add_event(conn, tenant, old, "FCRA", app)
    user = one(
        conn,
        "INSERT INTO users (tenant_id, email, password_hash, deleted_at) "
        "VALUES (%s, 'gone@example.test', '$scrypt$x', now() - interval '90 days') RETURNING id",
        (tenant,),
    )
    res = pbl("retention", "run", "--keep-tables", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    soft = json.loads(res.out)["report"]["soft_deleted"]
    assert soft["applications"]["purged"] == 0
    assert soft["applications"]["refused_by_foreign_key"] == 1
    assert one(conn, "SELECT count(*) FROM applications WHERE id = %s", (app,)) == 1
    assert one(conn, "SELECT count(*) FROM users WHERE id = %s", (user,)) == 0


def test_max_runtime_stops_early_and_a_rerun_finishes(pbl, db_url, conn, world) -> None:
    res = pbl("retention", "run", "--max-runtime", "0", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)["report"]
    assert report["stopped"] == "max-runtime" and not report["completed"]
    assert report["removed"] == {}
    assert exists(conn, partition_name(world.expired_month))
    assert set(world.gdpr_old) <= audit_ids(conn)
    events = run_events(conn)
    assert len(events) == 1 and events[0]["stopped"] == "max-runtime"

    res = pbl("retention", "run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["report"]["completed"]
    assert not exists(conn, partition_name(world.expired_month))
    assert not audit_ids(conn) & set(world.gdpr_old)


def test_a_busy_partition_is_left_for_the_next_run(pbl, db_url, conn, world) -> None:
    holder = psycopg.connect(db_url)
    try:
        holder.execute("SELECT count(*) FROM audit_logs")  # a long reader holds audit_logs
        res = pbl("retention", "run", "--lock-timeout", "20ms", "--database-url", db_url, "--json")
        assert res.code == 5
        report = json.loads(res.out)["report"]
        assert report["busy"] == [partition_name(world.expired_month)]
        assert not audit_ids(conn) & set(world.gdpr_old)  # row deletes do not need that lock
    finally:
        holder.rollback()
        holder.close()
    assert exists(conn, partition_name(world.expired_month))
    res = pbl("retention", "run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert not exists(conn, partition_name(world.expired_month))


def test_hold_release_and_holds(pbl, db_url, conn) -> None:
    tenant = new_tenant(conn)
    app = new_application(conn, tenant)
    base = ("--database-url", db_url)

    res = pbl("retention", "hold", "--application", str(app), "--reason", "subpoena 42", *base)
    assert res.code == 0, res.err
    assert "placed" in res.out
    row = conn.execute(
        "SELECT tenant_id, reason, placed_by FROM legal_holds WHERE application_id = %s", (app,)
    ).fetchone()
    assert row == (tenant, "subpoena 42", "postgres")
    assert one(conn, "SELECT pbl_application_on_hold(%s)", (app,)) is True

    res = pbl("retention", "hold", "--application", str(app), "--reason", "again", *base)
    assert res.code == 1 and "already under legal hold" in res.err

    res = pbl("retention", "holds", *base, "--json")
    assert res.code == 0, res.err
    listed = json.loads(res.out)
    assert [h["application_id"] for h in listed] == [str(app)]

    res = pbl("retention", "release", "--application", str(app), "--reason", "closed", *base)
    assert res.code == 0, res.err
    assert one(conn, "SELECT pbl_application_on_hold(%s)", (app,)) is False
    res = pbl("retention", "release", "--application", str(app), "--reason", "closed", *base)
    assert res.code == 1 and "not under legal hold" in res.err

    res = pbl("retention", "holds", *base, "--json")
    assert json.loads(res.out) == []
    res = pbl("retention", "holds", "--all", *base, "--json")
    released = json.loads(res.out)
    assert len(released) == 1 and released[0]["release_reason"] == "closed"

    events = conn.execute(
        "SELECT event_type, tenant_id, application_id FROM audit_logs "
        "WHERE event_category = 'compliance' ORDER BY event_timestamp"
    ).fetchall()
    assert events == [("retention.hold", tenant, app), ("retention.release", tenant, app)]

    unknown = str(uuid.uuid4())
    res = pbl("retention", "hold", "--application", unknown, "--reason", "x", *base)
    assert res.code == 2 and f"no application {unknown}" in res.err
    res = pbl("retention", "release", "--application", unknown, "--reason", "x", *base)
    assert res.code == 2
    res = pbl("retention", "hold", "--application", "not-a-uuid", "--reason", "x", *base)
    assert res.code == 2
    res = pbl("retention", "hold", "--application", str(app), "--reason", "  ", *base)
    assert res.code == 2


def test_bad_durations_are_usage_errors(pbl, db_url) -> None:
    res = pbl("retention", "run", "--grace", "soon", "--database-url", db_url)
    assert res.code == 2 and "--grace" in res.err
    res = pbl("retention", "run", "--max-runtime", "5 parsecs", "--database-url", db_url)
    assert res.code == 2
    res = pbl("retention", "run", "--lock-timeout", "soon", "--database-url", db_url)
    assert res.code == 2 and "--lock-timeout" in res.err


def test_max_delay_leaves_a_month_that_expires_soon_for_a_whole_drop(pbl, db_url, conn) -> None:
    tenant = new_tenant(conn)
    month = date(datetime.now(UTC).year - 12, 9, 1)
    conn.execute("SELECT pbl_ensure_audit_partitions_between(%s, %s)", (month, month))
    now = datetime.now(UTC)
    seven = now.replace(year=now.year - 7)
    ids = []
    for days in (-5, -3, 4):  # retention_until 5 and 3 days ago, and in 4 days
        ids.append(
            one(
                conn,
                "INSERT INTO audit_logs (tenant_id, event_type, event_category, service_name, "
                "regulation, created_at, event_timestamp) "
                "VALUES (%s, 'x', 'y', 'pbl-tests', 'GDPR', %s, %s) RETURNING id",
                (tenant, seven + timedelta(days=days), datetime(month.year, 9, 10, tzinfo=UTC)),
            )
        )
    name = partition_name(month)

    res = pbl("retention", "run", "--max-delay", "31d", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert {p["name"]: p["action"] for p in out["plan"]["partitions"]} == {name: "wait"}
    counts = {(c["table"], c["regulation"]): c for c in out["plan"]["counts"]}
    assert counts["audit_logs", "GDPR"]["waiting"] == 2
    assert out["report"]["waiting"] == {"GDPR": 2} and out["report"]["removed"] == {}
    assert set(ids) <= audit_ids(conn)

    # a shorter delay than the month needs: the expired rows go now, row by row
    res = pbl("retention", "run", "--max-delay", "5d", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["report"]["removed"] == {"GDPR": 2}
    assert audit_ids(conn) & set(ids) == {ids[2]}


def test_a_partition_changed_after_the_plan_is_not_dropped(db_url, conn, world) -> None:
    """The check is repeated under lock: a retention extended meanwhile keeps its row."""
    from pbl_db import retention

    kept = world.expired[0]
    with psycopg.connect(db_url, autocommit=True) as session:
        the_plan = retention.plan(session)
        assert [p.name for p in the_plan.whole] == [partition_name(world.expired_month)]
        conn.execute(
            "UPDATE audit_logs SET retention_until = now() + interval '1 year' WHERE id = %s",
            (kept,),
        )
        report = retention.execute(session, the_plan)
    assert report.dropped == []
    assert exists(conn, partition_name(world.expired_month))
    assert audit_ids(conn) & set(world.expired) == {kept}  # the others went row by row
    assert report.removed == {"GDPR": 14, "FCRA": 5, "DEFAULT": 5}  # [0] is a GDPR row


def test_a_bad_batch_size_prints_no_plan_and_removes_nothing(pbl, db_url, conn, world) -> None:
    before = audit_ids(conn)
    for size in ("-5", "0", "1000001", "100000000000000000000"):
        for dry in ((), ("--dry-run",)):
            res = pbl("retention", "run", "--batch-size", size, *dry, "--database-url", db_url)
            assert res.code == 2, res.err
            assert "--batch-size" in res.err and res.out == ""
            assert "what it" not in res.err and "nothing is due" not in res.err
    assert audit_ids(conn) == before and run_events(conn) == []
    assert exists(conn, partition_name(world.expired_month))


def test_durations_are_bounded_not_overflowing() -> None:
    from pbl_db.errors import ConfigError
    from pbl_db.retention import parse_duration

    assert parse_duration("1d12h", "--grace") == timedelta(days=1, hours=12)
    assert parse_duration("3650d", "--grace") == timedelta(days=3650)
    for bad in ("3651d", "100000000000000000000h", "99999999999d", "1" * 400):
        with pytest.raises(ConfigError, match="at most 3650 days"):
            parse_duration(bad, "--grace")
    with pytest.raises(ConfigError, match="at most 1 day;"):
        parse_duration("25h", "--for", timedelta(days=1))
    with pytest.raises(ConfigError) as caught:
        parse_duration("T" * 500, "--grace")
    assert len(str(caught.value)) < 200


def test_release_of_an_application_not_on_hold_is_a_failure_not_usage(pbl, db_url, conn) -> None:
    """The application exists (the lookup worked) but has no active hold: exit 1, as placing a
    second hold is; an application that does not exist is a usage error (exit 2)."""
    app = new_application(conn, new_tenant(conn))
    base = ("--database-url", db_url)
    res = pbl("retention", "release", "--application", str(app), "--reason", "x", *base)
    assert res.code == 1 and "not under legal hold" in res.err
    res = pbl("retention", "release", "--application", str(uuid.uuid4()), "--reason", "x", *base)
    assert res.code == 2 and "no application" in res.err
