"""Legal holds against the deletion paths: a hold placed while rows are being removed, and the
sanctioned paths refusing what retention may not remove (migrations 0016, 0017)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from pbl_db.partitions import partition_name
from tests.support.wait import eventually
from tests.test_audit_chain import Pbl, add, make_tenant, verify

LONG_AGO = datetime.now(UTC) - timedelta(days=11 * 366)  # FCRA's 10 years are over
PURGES = {
    "batch": "SELECT pbl_purge_expired_audit_logs(100)",
    "partition": "SELECT purged FROM pbl_purge_expired_audit_logs(100, %(partition)s, NULL)",
}


def new_application(conn: psycopg.Connection, tenant: uuid.UUID) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO applications (tenant_id, full_legal_name, ssn_encrypted, annual_income, "
        "employment_status) VALUES (%s, 'A. Person', 'pbl:v1:k:AAAA', 1, 'employed') "
        "RETURNING id",
        (tenant,),
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def expired_rows(
    conn: psycopg.Connection, tenant: uuid.UUID, application: uuid.UUID | None, n: int = 3
) -> list[uuid.UUID]:
    """n FCRA rows of a month 11 years ago (expired), in that month's own partition."""
    conn.execute("SELECT pbl_ensure_audit_partitions_between(%s::date, %s::date)", (LONG_AGO,) * 2)
    return [
        add(conn, tenant, when=LONG_AGO, regulation="FCRA", application_id=application)
        for _ in range(n)
    ]


def place_hold(db_url: str, tenant: uuid.UUID, application: uuid.UUID) -> None:
    with psycopg.connect(db_url, autocommit=True) as placer:
        placer.execute("SET lock_timeout = '1s'")
        placer.execute(
            "INSERT INTO legal_holds (tenant_id, application_id, reason) "
            "VALUES (%s, %s, 'litigation')",
            (tenant, application),
        )


def remaining(conn: psycopg.Connection, application: uuid.UUID) -> int:
    row = conn.execute(
        "SELECT count(*) FROM audit_logs WHERE application_id = %s", (application,)
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("variant", sorted(PURGES))
def test_a_hold_cannot_commit_while_a_purge_that_cannot_see_it_deletes(
    conn: psycopg.Connection, db_url: str, variant: str
) -> None:
    """The purge's statement cannot see a hold committed after it began: it must keep holds
    from being placed until it commits, or it deletes rows a committed hold covers."""
    tenant = make_tenant(conn, "acme")
    app = new_application(conn, tenant)
    rows = expired_rows(conn, tenant, app)
    params = {"partition": f"public.{partition_name(LONG_AGO.date())}"}
    outcome: dict[str, Any] = {}
    with psycopg.connect(db_url) as locker:
        # a row the purge wants is locked: the purge starts, then waits for it
        locker.execute("SELECT 1 FROM audit_logs WHERE id = %s FOR UPDATE", (rows[-1],))

        def purge() -> None:
            try:
                with psycopg.connect(db_url, autocommit=True) as purger:
                    outcome["pid"] = purger.info.backend_pid
                    purger.execute("SET lock_timeout = '30s'")
                    outcome["purged"] = purger.execute(PURGES[variant], params).fetchone()
            except BaseException as exc:  # pragma: no cover - reported below
                outcome["error"] = exc

        thread = threading.Thread(target=purge, daemon=True)
        thread.start()
        try:
            eventually(
                lambda: (
                    "error" in outcome
                    or (
                        "pid" in outcome
                        and conn.execute(
                            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                            (outcome["pid"],),
                        ).fetchone()
                        == (True,)
                    )
                ),
                "the purge to wait for the locked row",
            )
            with pytest.raises(psycopg.errors.LockNotAvailable):
                place_hold(db_url, tenant, app)
        finally:
            locker.rollback()
            thread.join(60)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["purged"] == (3,)
    # the purge committed first; a hold placed now finds nothing left to keep, as it should
    place_hold(db_url, tenant, app)
    assert remaining(conn, app) == 0


def test_a_purge_waits_for_a_hold_being_placed_and_then_keeps_its_rows(
    conn: psycopg.Connection, db_url: str
) -> None:
    tenant = make_tenant(conn, "acme")
    app = new_application(conn, tenant)
    expired_rows(conn, tenant, app)
    with psycopg.connect(db_url) as placer:
        placer.execute(
            "INSERT INTO legal_holds (tenant_id, application_id, reason) "
            "VALUES (%s, %s, 'litigation')",
            (tenant, app),
        )
        with psycopg.connect(db_url, autocommit=True) as purger:
            purger.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                purger.execute("SELECT pbl_purge_expired_audit_logs(100)")
        placer.commit()
    assert conn.execute("SELECT pbl_purge_expired_audit_logs(100)").fetchone() == (0,)
    assert remaining(conn, app) == 3


def test_the_purge_flag_does_not_delete_a_held_row(
    conn: psycopg.Connection, db_url: str, pbl: Pbl
) -> None:
    """A DELETE with pbl.audit_purge set by hand would be recorded in the ledger as sanctioned:
    the guard must refuse a held row as the purge functions do."""
    tenant = make_tenant(conn, "acme")
    app = new_application(conn, tenant)
    rows = expired_rows(conn, tenant, app)
    conn.execute(
        "INSERT INTO legal_holds (tenant_id, application_id, reason) VALUES (%s, %s, 'x')",
        (tenant, app),
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute("SELECT set_config('pbl.audit_purge', 'on', true)")
        conn.execute("DELETE FROM audit_logs WHERE id = %s", (rows[0],))
    assert remaining(conn, app) == 3
    assert conn.execute("SELECT count(*) FROM audit_chain_removals").fetchone() == (0,)
    # without a hold the flag is the purge's own mechanism and still works
    conn.execute(
        "UPDATE legal_holds SET released_at = now(), released_by = 'tests', "
        "release_reason = 'settled' WHERE application_id = %s",
        (app,),
    )
    with conn.transaction():
        conn.execute("SELECT set_config('pbl.audit_purge', 'on', true)")
        conn.execute("DELETE FROM audit_logs WHERE id = %s", (rows[0],))
    assert remaining(conn, app) == 2
    code, report = verify(pbl, db_url)
    assert code == 0, report["problems"]


@pytest.mark.parametrize("why", ["unexpired", "held"])
def test_the_ledger_refuses_a_partition_retention_may_not_remove(
    conn: psycopg.Connection, why: str
) -> None:
    """pbl_audit_note_partition_removal() vouches for a drop in the ledger (verify then accepts
    the missing rows): only for a partition whose every row has expired and none is held."""
    tenant = make_tenant(conn, "acme")
    app = new_application(conn, tenant)
    expired_rows(conn, tenant, app)
    name = f"public.{partition_name(LONG_AGO.date())}"
    if why == "unexpired":
        add(conn, tenant, when=LONG_AGO, created=datetime.now(UTC), regulation="FCRA")
    else:
        conn.execute(
            "INSERT INTO legal_holds (tenant_id, application_id, reason) VALUES (%s, %s, 'x')",
            (tenant, app),
        )
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState), conn.transaction():
        conn.execute("SELECT pbl_audit_note_partition_removal(%s::regclass)", (name,))
    assert conn.execute("SELECT count(*) FROM audit_chain_removals").fetchone() == (0,)


def test_a_hold_cannot_commit_while_retention_deletes_a_device_it_covers(
    conn: psycopg.Connection, db_url: str
) -> None:
    """Soft-deleted devices are kept while an application naming them is held; nothing but the
    delete's own check ties them to the hold, so the delete must keep holds out until it
    commits."""
    from pbl_db import retention

    tenant = make_tenant(conn, "acme")
    app = new_application(conn, tenant)
    conn.execute("UPDATE applications SET duoplus_device_id = 'dev-race' WHERE id = %s", (app,))
    device = conn.execute(
        "INSERT INTO devices (device_id_external, tenant_id, device_type, region, deleted_at) "
        "VALUES ('dev-race', %s, 'phone', 'eu', now() - interval '60 days') RETURNING id",
        (tenant,),
    ).fetchone()
    assert device is not None
    outcome: dict[str, Any] = {}
    with psycopg.connect(db_url) as locker:
        locker.execute("SELECT 1 FROM devices WHERE id = %s FOR UPDATE", (device[0],))

        def run() -> None:
            try:
                with psycopg.connect(db_url, autocommit=True) as job:
                    outcome["pid"] = job.info.backend_pid
                    outcome["report"] = retention.execute(
                        job, retention.plan(job), lock_timeout="30s"
                    )
            except BaseException as exc:  # pragma: no cover - reported below
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            eventually(
                lambda: (
                    "error" in outcome
                    or (
                        "pid" in outcome
                        and conn.execute(
                            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                            (outcome["pid"],),
                        ).fetchone()
                        == (True,)
                    )
                ),
                "retention to wait for the locked device",
            )
            with pytest.raises(psycopg.errors.LockNotAvailable):
                place_hold(db_url, tenant, app)
        finally:
            locker.rollback()
            thread.join(60)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].soft_deleted["devices"]["purged"] == 1
