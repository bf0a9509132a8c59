"""pbl partitions: ensure (idempotent premake), list, repair of the default partition."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, date, datetime

import psycopg
import pytest

from pbl_db.partitions import add_months, list_partitions, partition_name

pytestmark = pytest.mark.matrix


@pytest.fixture
def tenant(conn: psycopg.Connection) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES ('Parts', %s) RETURNING id",
        (f"parts-{uuid.uuid4().hex[:8]}",),
    ).fetchone()
    assert row is not None
    return row[0]


def this_month(conn: psycopg.Connection) -> date:
    row = conn.execute("SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date").fetchone()
    assert row is not None
    return row[0]


def attached(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_logs'::regclass"
    ).fetchall()
    return {name: bound for name, bound in rows}


def months_back_to(conn: psycopg.Connection, month: date) -> int:
    now = this_month(conn)
    return (now.year - month.year) * 12 + now.month - month.month


def add_event(
    conn: psycopg.Connection, tenant: uuid.UUID, when: datetime | str, **extra: object
) -> uuid.UUID:
    columns = ["tenant_id", "event_type", "event_category", "service_name", "event_timestamp"]
    values: list[object] = [tenant, "decision.made", "decision", "pbl-tests", when]
    if isinstance(when, datetime):  # retention counts from created_at
        extra.setdefault("created_at", when)
    for key, value in extra.items():
        columns.append(key)
        values.append(value)
    row = conn.execute(
        psycopg.sql.SQL("INSERT INTO audit_logs ({}) VALUES ({}) RETURNING id").format(
            psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)),
            psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() * len(columns)),
        ),
        values,
    ).fetchone()
    assert row is not None
    return row[0]


def snapshot(conn: psycopg.Connection) -> dict[str, str]:
    """Every audit row as the text of all its columns, by id."""
    return {
        str(r[0]): r[1]
        for r in conn.execute("SELECT a.id, row_to_json(a)::text FROM audit_logs AS a")
    }


def test_ensure_makes_the_right_months_and_is_idempotent(pbl, db_url, conn) -> None:
    now = this_month(conn)
    res = pbl(
        "partitions", "ensure", "--months-back", "4", "--months-ahead", "5", "--dry-run",
        "--database-url", db_url, "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    planned = json.loads(res.out)
    expected = {partition_name(add_months(now, k)) for k in range(-4, 6)}
    before = attached(conn)
    assert set(planned["created"]) == expected - set(before)
    assert attached(conn) == before  # the dry run made nothing

    res = pbl(
        "partitions", "ensure", "--months-back", "4", "--months-ahead", "5",
        "--database-url", db_url, "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    first = json.loads(res.out)
    assert set(first["created"]) == set(planned["created"])
    parts = attached(conn)
    assert expected <= set(parts)
    oldest = add_months(now, -4)
    assert parts[partition_name(oldest)] == (
        "FOR VALUES FROM ('" + f"{oldest:%Y-%m-%d}" + " 00:00:00+00') TO ('"
        f"{add_months(oldest, 1):%Y-%m-%d}" + " 00:00:00+00')"
    )

    res = pbl(
        "partitions", "ensure", "--months-back", "4", "--months-ahead", "5",
        "--database-url", db_url, "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    again = json.loads(res.out)
    assert again["created"] == []
    assert set(again["present"]) >= expected
    assert attached(conn) == parts


def test_list_shows_ranges_sizes_and_the_default_rows(pbl, db_url, conn, tenant) -> None:
    year = this_month(conn).year - 8  # GDPR rows of then are expired, FCRA rows are not
    name = f"audit_logs_y{year}m03"
    conn.execute(
        "SELECT pbl_ensure_audit_partitions_between(%s, %s)", (date(year, 3, 1), date(year, 3, 1))
    )
    add_event(conn, tenant, datetime(year, 3, 9, tzinfo=UTC), regulation="GDPR")
    add_event(conn, tenant, datetime(year, 3, 20, tzinfo=UTC), regulation="FCRA")
    stray = add_event(conn, tenant, datetime(year - 1, 6, 1, 12, tzinfo=UTC))
    assert conn.execute(
        "SELECT tableoid::regclass::text FROM audit_logs WHERE id = %s", (stray,)
    ).fetchone() == ("audit_logs_default",)

    res = pbl("partitions", "list", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    parts = {p["name"]: p for p in json.loads(res.out)}
    march = parts[name]
    assert march["range_from"].startswith(f"{year}-03-01 00:00:00")
    assert march["range_to"].startswith(f"{year}-04-01 00:00:00")
    assert march["size_bytes"] > 0
    assert march["rows_exact"] is False  # an estimate without --exact
    default = parts["audit_logs_default"]
    assert default["is_default"] and default["rows"] == 1 and default["non_empty_default"]
    assert list(parts)[-1] == "audit_logs_default"

    res = pbl("partitions", "list", "--exact", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    exact = {p["name"]: p for p in json.loads(res.out)}[name]
    assert exact["rows"] == 2 and exact["rows_exact"]
    assert exact["newest_retention_until"].startswith(f"{year + 10}-03-20")  # FCRA: 10 years
    assert exact["expired_rows"] == 1 and exact["droppable"] is False

    res = pbl("partitions", "list", "--database-url", db_url)
    assert res.code == 0
    assert name in res.out
    assert "pbl partitions repair" in res.err

    # the function the rest of pbl may use
    names = [p["name"] for p in list_partitions(conn)]
    assert name in names and names[-1] == "audit_logs_default"


def test_a_stray_row_blocks_ensure_and_repair_moves_it_untouched(pbl, db_url, conn, tenant) -> None:
    june, july = date(2018, 6, 1), date(2018, 7, 1)
    ids = [
        add_event(
            conn,
            tenant,
            datetime(2018, 6, 3, 4, 5, 6, 789012, tzinfo=UTC),
            regulation="GDPR",
            verification_hash="f" * 64,
            event_data=json.dumps({"k": [1, 2.50, "x"]}),
            ip_address="10.1.2.3",
        ),
        add_event(conn, tenant, datetime(2018, 6, 30, 23, 59, 59, tzinfo=UTC)),
        add_event(conn, tenant, datetime(2018, 7, 1, tzinfo=UTC), regulation="FCRA"),
        add_event(conn, tenant, "infinity"),
    ]
    assert len(ids) == 4
    # a row trigger of our own: it must not fire while rows are moved
    conn.execute("CREATE TABLE trigger_log (id uuid)")
    conn.execute(
        "CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO trigger_log VALUES (NEW.id); RETURN NEW; END $$"
    )
    conn.execute(
        "CREATE TRIGGER log_insert AFTER INSERT ON audit_logs "
        "FOR EACH ROW EXECUTE FUNCTION log_insert()"
    )
    before = snapshot(conn)

    back = months_back_to(conn, june)
    res = pbl(
        "partitions", "ensure", "--months-back", str(back), "--months-ahead", "0",
        "--database-url", db_url, "--json",
    )  # fmt: skip
    assert res.code == 1
    report = json.loads(res.out)
    blocked = {b["name"]: b for b in report["blocked"]}
    assert set(blocked) == {partition_name(june), partition_name(july)}
    assert blocked[partition_name(june)]["rows_in_default"] == 2
    assert "pbl partitions repair" in blocked[partition_name(june)]["reason"]
    assert "pbl partitions repair" in res.err
    assert partition_name(add_months(june, 2)) in report["created"]  # the others were made

    res = pbl("partitions", "repair", "--dry-run", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    preview = json.loads(res.out)
    assert {m["partition"]: m["rows"] for m in preview["moves"]} == {
        partition_name(june): 2,
        partition_name(july): 1,
    }
    assert partition_name(june) not in attached(conn)

    res = pbl("partitions", "repair", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    done = json.loads(res.out)
    assert done["rows"] == 4 and done["kept_in_default"] == 1
    assert sum(m["rows"] for m in done["moves"]) == 3

    assert snapshot(conn) == before  # every column of every row, byte for byte
    assert conn.execute("SELECT count(*) FROM trigger_log").fetchone() == (0,)
    parts = attached(conn)
    assert parts[partition_name(june)] == (
        "FOR VALUES FROM ('2018-06-01 00:00:00+00') TO ('2018-07-01 00:00:00+00')"
    )
    assert parts["audit_logs_default"] == "DEFAULT"
    where = dict(
        conn.execute(
            "SELECT id, tableoid::regclass::text FROM audit_logs WHERE id = ANY(%s)", (ids,)
        )
    )
    assert where[ids[0]] == where[ids[1]] == partition_name(june)
    assert where[ids[2]] == partition_name(july)
    assert where[ids[3]] == "audit_logs_default"  # infinity: no month holds it
    assert conn.execute("SELECT count(*) FROM audit_logs_default").fetchone() == (1,)
    owner = conn.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s",
        (partition_name(june),),
    ).fetchone()
    assert owner == ("pbl_owner",)
    # the moved partition is a full member: indexes attached, triggers cloned, guard works
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM audit_logs WHERE id = %s", (ids[0],))
    add_event(conn, tenant, datetime(2018, 6, 15, tzinfo=UTC))
    assert conn.execute("SELECT count(*) FROM trigger_log").fetchone() == (1,)

    res = pbl(
        "partitions", "ensure", "--months-back", str(back), "--months-ahead", "0",
        "--database-url", db_url, "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    res = pbl("partitions", "repair", "--database-url", db_url)
    assert res.code == 0 and "nothing to repair" not in res.out  # one infinite row stays
    assert "infinite" in res.err


def test_repair_of_an_empty_default_does_nothing(pbl, db_url) -> None:
    res = pbl("partitions", "repair", "--database-url", db_url)
    assert res.code == 0, res.err
    assert "nothing to repair" in res.out


def test_ensure_backs_off_while_a_long_transaction_holds_audit_logs(pbl, db_url) -> None:
    holder = psycopg.connect(db_url)
    try:
        holder.execute("SELECT count(*) FROM audit_logs")  # AccessShare until rollback
        res = pbl(
            "partitions", "ensure", "--months-ahead", "8", "--lock-timeout", "20ms",
            "--database-url", db_url, "--json",
        )  # fmt: skip
        assert res.code == 5
        report = json.loads(res.out)
        assert report["busy"] and not report["created"]
    finally:
        holder.rollback()
        holder.close()
    res = pbl("partitions", "ensure", "--months-ahead", "8", "--database-url", db_url, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["created"]


def test_inserts_are_not_blocked_for_long_by_ensure(pbl, db_url, conn, tenant) -> None:
    """While ensure runs, inserts for the current month keep succeeding."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        with psycopg.connect(db_url, autocommit=True) as w:
            while not stop.is_set():
                try:
                    w.execute(
                        "INSERT INTO audit_logs (tenant_id, event_type, event_category, "
                        "service_name) VALUES (%s, 'x', 'y', 'pbl-tests')",
                        (tenant,),
                    )
                except psycopg.Error as exc:  # pragma: no cover - reported below
                    failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        res = pbl("partitions", "ensure", "--months-ahead", "12", "--database-url", db_url)
    finally:
        stop.set()
        thread.join()
    assert res.code == 0, res.err
    assert not failures


def test_a_partition_bound_after_year_9999_does_not_break_the_readers(pbl, db_url, conn) -> None:
    """PostgreSQL holds '10000-01-01', Python's datetime does not: such a bound (made by hand,
    or once by `seed demo --anchor 9999-12-31`) reads as datetime.max, never a crash."""
    conn.execute(
        "CREATE TABLE audit_logs_y9999m12 PARTITION OF audit_logs "
        "FOR VALUES FROM ('9999-12-01 00:00:00+00') TO ('10000-01-01 00:00:00+00')"
    )
    base = ("--database-url", db_url)
    listed = pbl("partitions", "list", *base)
    assert listed.code == 0, listed.err
    assert "audit_logs_y9999m12" in listed.out and "after 9999" in listed.out
    as_json = pbl("partitions", "list", "--exact", "--json", *base)
    assert as_json.code == 0, as_json.err
    part = next(p for p in json.loads(as_json.out) if p["name"] == "audit_logs_y9999m12")
    assert part["range_to"].startswith("9999-12-31") and part["droppable"] is False
    for argv in (
        ("partitions", "ensure", "--dry-run"),
        ("partitions", "repair", "--dry-run"),
        ("retention", "run", "--dry-run"),
    ):
        res = pbl(*argv, *base)
        assert res.code == 0, (argv, res.err)
        assert "internal error" not in res.err


def test_lock_timeouts_are_checked_before_connecting(pbl) -> None:
    """A value the server would refuse is refused up front, whatever the database URL."""
    from pbl_db.timeouts import normalise_timeout, parse_timeout_ms

    assert [parse_timeout_ms(v) for v in ("5", "100ms", "2min", "0", "0.1ms", "1.5s")] == [
        5000, 100, 120000, 0, 1, 1500,
    ]  # fmt: skip
    assert normalise_timeout("24d") == "2073600000ms"
    url = "postgresql://nobody@nohost.invalid/none"
    for value in ("100000000000000000000h", "3000000s", "-5s", "abc", "nan", "T" * 500):
        for dry in ((), ("--dry-run",)):
            res = pbl("partitions", "ensure", "--lock-timeout", value, *dry, "--database-url", url)
            assert res.code == 2 and "bad --lock-timeout" in res.err, res.err
            assert "T" * 81 not in res.err
