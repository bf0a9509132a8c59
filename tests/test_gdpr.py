"""pbl gdpr export / erase against a real PostgreSQL: decrypted PII, tenants, holds, audit."""

from __future__ import annotations

import hashlib
import json
import secrets
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from pbl_db import gdpr
from pbl_db.crypto.cipher import Context
from pbl_db.crypto.fields import encrypt_row
from pbl_db.crypto.keys import DEV_SEED_KEY, dev_seed_keyring, encode_key
from pbl_db.errors import BusyError, OperationFailed
from pbl_db.stats import Tenant
from tests.support.postgres import PgServer

pytestmark = pytest.mark.matrix

JANE_EMAIL = "Jane.Doe@Example.test"  # stored with this spelling on her user account
JANE_SSN = "123-45-6789"
JANE_SSN_B = "222-33-4444"
OTHER_SSN = "987-65-4321"
JANE_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
RING = dev_seed_keyring()


@dataclass
class World:
    tenant_a: uuid.UUID
    slug_a: str
    tenant_b: uuid.UUID
    user: uuid.UUID
    jane_a: uuid.UUID  # Jane's application in tenant A
    jane_b: uuid.UUID  # Jane's application in tenant B
    other: uuid.UUID  # someone else's application in tenant A, reviewed by Jane
    device: uuid.UUID  # linked to jane_a
    spare_device: uuid.UUID
    audit: dict[str, list[uuid.UUID]]


def _tenant(conn: psycopg.Connection, tag: str) -> tuple[uuid.UUID, str]:
    slug = f"gdpr-{tag}-{secrets.token_hex(3)}"
    row = conn.execute(
        "INSERT INTO tenants (name, slug) VALUES (%s, %s) RETURNING id", (f"Lender {tag}", slug)
    ).fetchone()
    assert row is not None
    return row[0], slug


def _application(
    conn: psycopg.Connection,
    tenant: uuid.UUID,
    name: str,
    email: str | None,
    ssn: str,
    **extra: Any,
) -> uuid.UUID:
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": tenant,
        "full_legal_name": name,
        "ssn_encrypted": ssn,
        "annual_income": 72000,
        "employment_status": "employed",
        "email": email,
        "phone": "+15550001111",
        "address": {"line1": "1 Privacy Lane", "city": "Austin", "postal_code": "73301"},
        "identity_verification": {"provider": "plaid", "document": "passport"},
        "credit_score": 720,
        "risk_score": 250,
        "decision": "approved",
        "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (Android 14)",
        **extra,
    }
    sealed = encrypt_row(RING, "applications", row)
    for column in ("address", "identity_verification"):
        sealed[column] = Jsonb(sealed[column])
    columns = list(sealed)
    conn.execute(
        sql.SQL("INSERT INTO applications ({}) VALUES ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        [sealed[c] for c in columns],
    )
    return row["id"]


def _audit(
    conn: psycopg.Connection,
    tenant: uuid.UUID,
    event: str,
    application: uuid.UUID | None = None,
    user_id: str | None = None,
) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category, "
        "service_name, user_id, regulation, event_data) "
        "VALUES (%s, %s, %s, 'decision', 'risk-engine', %s, 'FCRA', %s) RETURNING id",
        (tenant, application, event, user_id, Jsonb({"model": "risk-v3"})),
    ).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def world(conn: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """Jane (a user of tenant A and an applicant in tenants A and B) and one other applicant,
    written as superuser (row-level security does not apply)."""
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", f"dev-seed:{encode_key(DEV_SEED_KEY)}")
    monkeypatch.setenv("PBL_QUIET", "1")
    monkeypatch.setenv("DATABASE_URL", db_url)
    tenant_a, slug_a = _tenant(conn, "a")
    tenant_b, _ = _tenant(conn, "b")
    user_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, phone, "
        "role, mfa_enabled, mfa_secret) VALUES (%s, %s, %s, %s, 'Jane', 'Doe', '+15550002222', "
        "'reviewer', TRUE, %s)",
        (
            user_id,
            tenant_a,
            JANE_EMAIL,
            JANE_HASH,
            RING.encrypt("JBSWY3DPEHPK3PXP", Context("users", "mfa_secret", user_id, tenant_a)),
        ),
    )
    device_ext = f"duo-{secrets.token_hex(4)}"
    device = conn.execute(
        "INSERT INTO devices (tenant_id, device_id_external, device_type, region) "
        "VALUES (%s, %s, 'android', 'us-east') RETURNING id",
        (tenant_a, device_ext),
    ).fetchone()
    spare = conn.execute(
        "INSERT INTO devices (tenant_id, device_id_external, device_type, region) "
        "VALUES (%s, %s, 'ios', 'us-west') RETURNING id",
        (tenant_a, f"spare-{secrets.token_hex(4)}"),
    ).fetchone()
    assert device is not None and spare is not None
    jane_a = _application(
        conn, tenant_a, "Jane Doe", "jane.doe@example.test", JANE_SSN, duoplus_device_id=device_ext
    )
    jane_b = _application(conn, tenant_b, "Jane Doe", "JANE.DOE@example.test", JANE_SSN_B)
    other = _application(
        conn,
        tenant_a,
        "Omar Other",
        "omar@example.test",
        OTHER_SSN,
        reviewed_by=JANE_EMAIL.lower(),
        decision="declined",
    )
    audit = {
        "jane_a": [
            _audit(conn, tenant_a, "application.created", jane_a),
            _audit(conn, tenant_a, "decision.made", jane_a),
        ],
        "jane_user": [_audit(conn, tenant_a, "user.login", user_id=str(user_id))],
        "jane_b": [_audit(conn, tenant_b, "application.created", jane_b)],
        "other": [_audit(conn, tenant_a, "application.created", other)],
    }
    return World(
        tenant_a, slug_a, tenant_b, user_id, jane_a, jane_b, other, device[0], spare[0], audit
    )


def fingerprint(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Each row's full text by id: any change to any column shows."""
    query = sql.SQL("SELECT id::text, t::text FROM {} AS t").format(sql.Identifier(table))
    return dict(conn.execute(query).fetchall())


def everything(conn: psycopg.Connection) -> dict[str, dict[str, str]]:
    return {t: fingerprint(conn, t) for t in ("users", "applications", "devices", "audit_logs")}


def test_export_by_email_decrypts_and_finds_every_row(
    db_url: str, world: World, pbl, tmp_path: Path
) -> None:
    out = tmp_path / "jane.json"
    res = pbl("gdpr", "export", "--email", "JANE.doe@example.TEST", "--out", str(out))
    assert res.code == 0, res.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))  # written under a temporary name, then renamed
    text = out.read_text()
    doc = json.loads(text)
    header = doc["header"]
    assert header["counts"] == {
        "users": 1,
        "applications": 2,
        "devices": 1,
        "audit_logs": 4,
        "references": 1,
    }
    assert {t["id"] for t in header["tenants"]} == {str(world.tenant_a), str(world.tenant_b)}
    assert header["generated_at"] and header["subject"]["email"] == "JANE.doe@example.TEST"
    assert set(header["not_exported"]) == {"users.password_hash", "users.mfa_secret"}
    apps = {a["id"]: a for a in doc["applications"]}
    assert set(apps) == {str(world.jane_a), str(world.jane_b)}
    assert apps[str(world.jane_a)]["ssn_encrypted"] == JANE_SSN
    assert apps[str(world.jane_b)]["ssn_encrypted"] == JANE_SSN_B
    assert apps[str(world.jane_a)]["address"]["line1"] == "1 Privacy Lane"
    assert apps[str(world.jane_a)]["identity_verification"]["document"] == "passport"
    (user,) = doc["users"]
    assert user["first_name"] == "Jane" and user["email"] == JANE_EMAIL
    assert "password_hash" not in user and "mfa_secret" not in user
    assert JANE_HASH not in text and "JBSWY3DPEHPK3PXP" not in text
    assert [d["id"] for d in doc["devices"]] == [str(world.device)]
    wanted = world.audit["jane_a"] + world.audit["jane_user"] + world.audit["jane_b"]
    assert {a["id"] for a in doc["audit_logs"]} == {str(i) for i in wanted}
    assert doc["references"] == [
        {
            "tenant_id": str(world.tenant_a),
            "table_name": "applications",
            "id": str(world.other),
            "column_name": "reviewed_by",
        }
    ]
    # the other applicant's row is not in it, only the reference to Jane's review
    assert OTHER_SSN not in text and "Omar" not in text
    assert JANE_SSN not in res.err + res.out


def test_export_by_application_id_to_stdout(db_url: str, world: World, pbl) -> None:
    res = pbl("gdpr", "export", "--application-id", str(world.other))
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["header"]["counts"]["applications"] == 1
    (app,) = doc["applications"]
    assert app["id"] == str(world.other) and app["ssn_encrypted"] == OTHER_SSN
    assert doc["users"] == [] and doc["devices"] == [] and doc["references"] == []
    assert [a["id"] for a in doc["audit_logs"]] == [str(world.audit["other"][0])]
    assert JANE_SSN not in res.out and str(world.jane_a) not in res.out


def test_export_without_keys_or_with_unknown_application(
    db_url: str, world: World, pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = pbl("gdpr", "export", "--application-id", str(uuid.uuid4()))
    assert unknown.code == 2 and "no application" in unknown.err
    both = pbl("gdpr", "export", "--email", "a@b.c", "--application-id", str(world.other))
    assert both.code == 2
    monkeypatch.delenv("PBL_ENCRYPTION_KEYS")
    res = pbl("gdpr", "export", "--application-id", str(world.other))
    assert res.code == 2 and "no encryption keys" in res.err
    assert OTHER_SSN not in res.err + res.out


@pytest.fixture
def service_url(pg_server: PgServer, db_url: str) -> Iterator[str]:
    """A LOGIN role in application_user: no BYPASSRLS, so row-level security applies."""
    role = f"gdpr_svc_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(12)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE application_user").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    yield make_conninfo(db_url, user=role, password=password)
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_role_under_row_level_security_needs_the_tenant(
    world: World, service_url: str, pbl
) -> None:
    res = pbl("gdpr", "export", "--email", JANE_EMAIL, "--database-url", service_url)
    assert res.code == 2 and "--tenant" in res.err
    by_slug = pbl(
        "gdpr",
        "export",
        "--email",
        JANE_EMAIL,
        "--tenant",
        world.slug_a,
        "--database-url",
        service_url,
    )
    assert by_slug.code == 2 and "tenant's id" in by_slug.err
    ok = pbl(
        "gdpr",
        "export",
        "--email",
        JANE_EMAIL,
        "--tenant",
        str(world.tenant_a),
        "--database-url",
        service_url,
    )
    assert ok.code == 0, ok.err
    doc = json.loads(ok.out)
    assert [a["id"] for a in doc["applications"]] == [str(world.jane_a)]
    assert doc["applications"][0]["ssn_encrypted"] == JANE_SSN
    assert doc["header"]["tenant"] == str(world.tenant_a)
    assert JANE_SSN_B not in ok.out  # tenant B's row stays invisible


def test_dry_run_changes_nothing(db_url: str, conn: psycopg.Connection, world: World, pbl) -> None:
    before = everything(conn)
    res = pbl("gdpr", "erase", "--email", JANE_EMAIL, "--reason", "ticket 1", "--dry-run", "--json")
    assert res.code == 0, res.err
    plan = json.loads(res.out)
    assert plan["dry_run"] is True and plan["changed"] == 0
    todo = {(r["tenant_id"], r["table"]): r.get("to_erase") for r in plan["plan"]}
    assert todo[(str(world.tenant_a), "applications")] == 1
    assert todo[(str(world.tenant_a), "users")] == 1
    assert todo[(str(world.tenant_b), "applications")] == 1
    assert everything(conn) == before


def test_erase_by_email(db_url: str, conn: psycopg.Connection, world: World, pbl) -> None:
    before = everything(conn)
    res = pbl(
        "gdpr", "erase", "--email", JANE_EMAIL, "--reason", "GDPR request 42", "--yes", "--json"
    )
    assert res.code == 0, res.err
    outcome = json.loads(res.out)
    assert (outcome["applications"], outcome["users"]) == (2, 1)
    after = everything(conn)

    user = conn.execute(
        "SELECT email, password_hash, first_name, last_name, phone, mfa_enabled, mfa_secret, "
        "is_active, deleted_at IS NOT NULL FROM users WHERE id = %s",
        (world.user,),
    ).fetchone()
    assert user == (
        f"erased-{world.user}@erased.invalid",
        "$scrypt$erased",
        None,
        None,
        None,
        False,
        None,
        False,
        True,
    )
    for app_id, tenant in ((world.jane_a, world.tenant_a), (world.jane_b, world.tenant_b)):
        row = conn.execute(
            "SELECT full_legal_name, email, phone, address, identity_verification, ip_address, "
            "user_agent, credit_score, deleted_at IS NOT NULL, ssn_encrypted, decision, "
            "risk_score FROM applications WHERE id = %s",
            (app_id,),
        ).fetchone()
        assert row is not None
        assert row[:9] == (f"erased:{app_id}", None, None, None, None, None, None, None, True)
        ctx = Context("applications", "ssn_encrypted", app_id, tenant)
        assert RING.decrypt_text(row[9], ctx) == ""  # the SSN is shredded, the token still valid
        assert row[10:] == ("approved", 250)  # the decision record stays
    # other subjects, devices and every audit row are untouched
    assert after["applications"][str(world.other)] == before["applications"][str(world.other)]
    assert after["devices"] == before["devices"]
    assert {k: after["audit_logs"][k] for k in before["audit_logs"]} == before["audit_logs"]

    events = conn.execute(
        "SELECT tenant_id, application_id, event_category, service_name, regulation, "
        "event_data, a::text FROM audit_logs AS a WHERE event_type = 'gdpr.erase' "
        "ORDER BY tenant_id"
    ).fetchall()
    assert {(e[0], e[1]) for e in events} == {
        (world.tenant_a, world.jane_a),
        (world.tenant_b, world.jane_b),
    }
    digest = hashlib.sha256(JANE_EMAIL.lower().encode()).hexdigest()
    for event in events:
        assert event[2:5] == ("compliance", "pbl", "GDPR")
        assert event[5]["subject"] == f"email-sha256:{digest}"
        assert event[5]["reason"] == "GDPR request 42"
        assert "jane" not in event[6].lower() and JANE_SSN not in event[6]
    assert len(after["audit_logs"]) == len(before["audit_logs"]) + 2

    # idempotent: by email nothing is found any more, by id it is already erased
    again = pbl("gdpr", "erase", "--email", JANE_EMAIL, "--reason", "again", "--yes")
    assert again.code == 0, again.err
    assert "nothing to erase" in again.err
    by_id = pbl(
        "gdpr", "erase", "--application-id", str(world.jane_a), "--reason", "again", "--yes"
    )
    assert by_id.code == 0, by_id.err
    assert "already erased" in by_id.err
    assert everything(conn) == after

    # an export now holds no PII
    exported = pbl("gdpr", "export", "--application-id", str(world.jane_a))
    assert exported.code == 0, exported.err
    doc = json.loads(exported.out)
    (app,) = doc["applications"]
    assert app["ssn_encrypted"] is None and app["address"] is None and app["email"] is None
    assert doc["header"]["erased"]["applications"] == [str(world.jane_a)]
    for secret in (JANE_SSN, "Jane", "Privacy Lane", "203.0.113.7", "jane.doe"):
        assert secret.lower() not in exported.out.lower()
    by_email = pbl("gdpr", "export", "--email", JANE_EMAIL)
    counts = json.loads(by_email.out)["header"]["counts"]
    assert counts["users"] == counts["applications"] == 0


def test_erase_by_application_id_touches_only_it(
    db_url: str, conn: psycopg.Connection, world: World, pbl
) -> None:
    before = everything(conn)
    res = pbl(
        "gdpr", "erase", "--application-id", str(world.other), "--reason", "ticket 7", "--yes"
    )
    assert res.code == 0, res.err
    after = everything(conn)
    changed = {t: {k for k in after[t] if after[t][k] != before[t].get(k)} for t in after}
    event = conn.execute(
        "SELECT id::text, application_id, event_data ->> 'subject' FROM audit_logs "
        "WHERE event_type = 'gdpr.erase'"
    ).fetchone()
    assert event is not None and event[1:] == (world.other, f"application:{world.other}")
    assert changed == {
        "users": set(),
        "applications": {str(world.other)},
        "devices": set(),
        "audit_logs": {event[0]},
    }


def test_erase_refused_under_legal_hold(
    db_url: str, conn: psycopg.Connection, world: World, pbl
) -> None:
    hold = conn.execute(
        "INSERT INTO legal_holds (tenant_id, application_id, reason) "
        "VALUES (%s, %s, 'litigation 2024-17') RETURNING id",
        (world.tenant_b, world.jane_b),
    ).fetchone()
    assert hold is not None
    before = everything(conn)
    for extra in (["--dry-run"], ["--yes"]):
        res = pbl("gdpr", "erase", "--email", JANE_EMAIL, "--reason", "ticket 9", *extra)
        assert res.code == 4, res.err
        assert f"legal hold #{hold[0]}" in res.err and "litigation 2024-17" in res.err
        assert str(world.jane_b) in res.err
    assert everything(conn) == before


def test_erase_asks_and_needs_the_key(
    db_url: str, conn: psycopg.Connection, world: World, pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = everything(conn)
    unconfirmed = pbl("gdpr", "erase", "--email", JANE_EMAIL, "--reason", "ticket 3")
    assert unconfirmed.code == 4 and "--yes" in unconfirmed.err
    monkeypatch.delenv("PBL_ENCRYPTION_KEYS")
    keyless = pbl("gdpr", "erase", "--email", JANE_EMAIL, "--reason", "ticket 3", "--yes")
    assert keyless.code == 2 and "encryption key" in keyless.err
    blank = pbl("gdpr", "erase", "--email", JANE_EMAIL, "--reason", " ", "--yes")
    assert blank.code == 2
    assert everything(conn) == before


def test_erase_stops_when_the_rows_changed_after_the_plan(
    db_url: str, conn: psycopg.Connection, world: World
) -> None:
    subject = gdpr.Subject.of(JANE_EMAIL, None)
    with psycopg.connect(db_url, autocommit=True) as work:
        plan = gdpr.plan_erase(work, subject)
        late = _application(conn, world.tenant_a, "Jane Doe", JANE_EMAIL, JANE_SSN)
        before = everything(conn)
        with pytest.raises(OperationFailed, match="changed since the plan"):
            gdpr.erase(work, subject, "ticket", RING, expected=plan)
        assert everything(conn) == before
        result = gdpr.erase(work, subject, "ticket", RING, expected=gdpr.plan_erase(work, subject))
    assert result.applications == 3 and late in result.plan.tenants[0].applications + (
        result.plan.tenants[1].applications
    )


def test_erase_gives_up_on_a_locked_row(
    db_url: str, conn: psycopg.Connection, world: World
) -> None:
    subject = gdpr.Subject.of(None, str(world.other))
    with psycopg.connect(db_url) as locker, psycopg.connect(db_url, autocommit=True) as work:
        locker.execute("SELECT 1 FROM applications WHERE id = %s FOR UPDATE", (world.other,))
        with pytest.raises(BusyError, match="locked"):
            gdpr.erase(work, subject, "ticket", RING, lock_timeout="200ms")
        locker.rollback()
    assert conn.execute(
        "SELECT deleted_at FROM applications WHERE id = %s", (world.other,)
    ).fetchone() == (None,)


def test_erase_in_one_tenant_as_service_role(
    world: World, service_url: str, conn: psycopg.Connection
) -> None:
    subject = gdpr.Subject.of(JANE_EMAIL, None)
    tenant = Tenant(world.tenant_a, world.slug_a, "Lender a")
    with psycopg.connect(service_url, autocommit=True) as svc:
        result = gdpr.erase(svc, subject, "ticket", RING, tenant=tenant)
    assert (result.applications, result.users) == (1, 1)
    rows = dict(
        conn.execute(
            "SELECT id, deleted_at IS NOT NULL FROM applications WHERE id = ANY(%s)",
            ([world.jane_a, world.jane_b],),
        ).fetchall()
    )
    assert rows == {world.jane_a: True, world.jane_b: False}  # tenant B was out of reach


def test_export_out_is_checked_before_anything_is_read(
    db_url: str, world: World, pbl, tmp_path: Path
) -> None:
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    res = pbl("gdpr", "export", "--email", JANE_EMAIL, "--out", str(fifo))
    assert res.code == 2 and "is a FIFO" in res.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not replaced by a file

    other = tmp_path / "someone-else.json"
    other.write_text('{"somebody": "else"}\n')
    refused = pbl("gdpr", "export", "--email", JANE_EMAIL, "--out", str(other))
    assert refused.code == 2 and "personal data" in refused.err and "--force" in refused.err
    assert other.read_text() == '{"somebody": "else"}\n'
    assert JANE_SSN not in refused.err + refused.out
    forced = pbl("gdpr", "export", "--email", JANE_EMAIL, "--out", str(other), "--force")
    assert forced.code == 0, forced.err
    assert json.loads(other.read_text())["applications"]
    assert stat.S_IMODE(other.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "someone-else.json"]


def test_export_never_echoes_a_long_email(db_url: str, world: World, pbl) -> None:
    email = "T" * 500 + "@example.test"
    res = pbl("gdpr", "export", "--email", email)
    assert res.code == 2 and "not an email address" in res.err
    assert "T" * 81 not in res.err + res.out
    # the longest allowed address is shown clipped in the summary line
    longest = "t" * 240 + "@example.test"
    ok = pbl("gdpr", "export", "--email", longest)
    assert ok.code == 0, ok.err
    assert "t" * 81 not in ok.err


def test_write_export_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    import os

    from pbl_db.errors import ConfigError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a FIFO"):
        gdpr.write_export({"header": {}}, fifo, replace=True)
    with pytest.raises(ConfigError, match="is a directory"):
        gdpr.write_export({"header": {}}, tmp_path, replace=True)
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    with pytest.raises(ConfigError, match="exists"):
        gdpr.write_export({"header": {}}, kept)
    assert kept.read_text() == "{}" and stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "kept.json"]
