"""`pbl tenants` and `pbl users` against a real server: every change audited, dry runs change
nothing, bad input refused before any work, secrets shown once and stored only hashed or
encrypted."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import psycopg
import pytest

from pbl_db.crypto.cipher import Context
from pbl_db.crypto.keys import DEV_SEED_KEY, dev_seed_keyring, encode_key
from pbl_db.passwords import verify_password

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _target(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", f"dev-seed:{encode_key(DEV_SEED_KEY)}")


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return json.loads(result.out) if result.out.strip().startswith(("{", "[")) else result.out


def events(conn: psycopg.Connection, tenant_id: str) -> list[tuple[str, Any, Any, Any]]:
    return conn.execute(
        "SELECT event_type, event_data, previous_state, new_state FROM audit_logs "
        "WHERE tenant_id = %s AND event_category = 'administration' ORDER BY chain_seq",
        (tenant_id,),
    ).fetchall()


@pytest.fixture
def acme(pbl) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    made = ok(
        pbl("tenants", "create", "--slug", "acme-bank", "--name", "Acme Bank", "--max-users", "2",
            "--plan", "enterprise", "--json")
    )  # fmt: skip
    return made["tenant"]  # type: ignore[no-any-return]


def add_user(pbl, monkeypatch, email: str, *extra: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    stdin(monkeypatch, PASSWORD + "\n")
    return ok(pbl("users", "create", "--tenant", "acme-bank", "--email", email, *extra, "--json"))  # type: ignore[no-any-return]


def test_tenant_lifecycle_is_audited(pbl, conn, acme) -> None:  # type: ignore[no-untyped-def]
    assert (acme["plan"], acme["max_users"], acme["max_devices"], acme["status"]) == (
        "enterprise", 2, 100, "active",
    )  # fmt: skip
    listed = ok(pbl("tenants", "list", "--json"))
    assert [t["slug"] for t in listed] == ["acme-bank"]
    changed = ok(pbl("tenants", "update", "acme-bank", "--max-devices", "5", "--json"))
    assert changed["changes"] == {"max_devices": [100, 5]}
    suspended = ok(pbl("tenants", "suspend", "acme-bank", "--reason", "unpaid", "--json"))
    assert suspended["tenant"]["status"] == "suspended"
    ok(pbl("tenants", "resume", "acme-bank"))
    shown = ok(pbl("tenants", "show", acme["id"], "--json"))
    assert shown["status"] == "active"
    assert {u["quota"]: u["limit"] for u in shown["usage"]}["max_devices"] == 5
    assert [(e[0], e[2], e[3]) for e in events(conn, acme["id"])] == [
        ("tenant.created", None, {"slug": "acme-bank", "name": "Acme Bank", "plan": "enterprise",
                                  "max_users": 2, "max_devices": 100,
                                  "max_applications_per_month": 10000}),
        ("tenant.updated", {"max_devices": 100}, {"max_devices": 5}),
        ("tenant.suspended", {"is_active": True}, {"is_active": False}),
        ("tenant.resumed", {"is_active": False}, {"is_active": True}),
    ]  # fmt: skip
    assert events(conn, acme["id"])[2][1] == {"reason": "unpaid"}


def test_dry_runs_change_nothing_and_warn_of_a_quota_below_use(  # type: ignore[no-untyped-def]
    pbl, conn, acme, monkeypatch
) -> None:
    add_user(pbl, monkeypatch, "ana@acme.test")
    add_user(pbl, monkeypatch, "bo@acme.test")
    result = pbl("tenants", "update", "acme-bank", "--max-users", "1", "--dry-run")
    assert result.code == 0, result.err
    assert "uses 2 of max_users, above the new limit 1" in result.err
    assert "nothing changed" in result.err
    assert ok(pbl("tenants", "suspend", "acme-bank", "--dry-run", "--json"))["dry_run"] is True
    shown = ok(pbl("tenants", "show", "acme-bank", "--json"))
    assert (shown["max_users"], shown["status"]) == (2, "active")
    assert [e[0] for e in events(conn, acme["id"])] == ["tenant.created", *["user.created"] * 2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tenants", "create", "--slug", "Bad Slug", "--name", "X"], "slug 'Bad Slug' is not"),
        (["tenants", "create", "--slug", "x" * 120, "--name", "X"], "..."),
        (["tenants", "create", "--slug", "acme-bank", "--name", "X"], "a tenant with slug"),
        (["tenants", "create", "--slug", "ok", "--name", "X", "--plan", "gold"], "unknown plan"),
        (["tenants", "update", "acme-bank", "--max-users", "-1", "--dry-run"], "out of range"),
        (["tenants", "update", "acme-bank", "--max-devices", str(2**31)], "out of range"),
        (["tenants", "show", "no-such-tenant"], "no tenant 'no-such-tenant'"),
        (["users", "list", "--tenant", "no-such-tenant"], "no tenant"),
        (["users", "lock", "--tenant", "acme-bank", "nobody@acme.test"], "no user"),
        (["users", "lock", "--tenant", "acme-bank", "x@y", "--for", "0"], "--for must be"),
        (["users", "lock", "--tenant", "acme-bank", "x@y", "--for", "soon"], "bad --for"),
        (["users", "set-role", "--tenant", "acme-bank", "x@y", "king"], "unknown role"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_changes(  # type: ignore[no-untyped-def]
    pbl, conn, acme, argv: list[str], message: str
) -> None:
    result = pbl(*argv)
    assert result.code == 2, result.err
    assert message in result.err and "Traceback" not in result.err
    assert len([line for line in result.err.splitlines() if line.startswith("pbl: ")][-1]) < 300
    assert [e[0] for e in events(conn, acme["id"])] == ["tenant.created"]
    row = conn.execute("SELECT count(*) FROM tenants").fetchone()
    assert row == (1,)


def test_users_create_hashes_the_password_and_the_quota_refuses_the_third(  # type: ignore[no-untyped-def]
    pbl, conn, acme, monkeypatch
) -> None:
    made = add_user(pbl, monkeypatch, "ana@acme.test", "--role", "owner", "--first-name", "Ana")
    stored = conn.execute(
        "SELECT password_hash, role FROM users WHERE id = %s", (made["user"]["id"],)
    ).fetchone()
    assert stored is not None and stored[1] == "owner"
    assert stored[0].startswith("$argon2id$") and verify_password(PASSWORD, stored[0]).ok
    add_user(pbl, monkeypatch, "bo@acme.test")
    stdin(monkeypatch, PASSWORD + "\n")
    refused = pbl("users", "create", "--tenant", "acme-bank", "--email", "cy@acme.test")
    assert refused.code == 4
    assert "tenant acme-bank is at its max_users quota of 2" in refused.err
    assert "pbl tenants update --max-users" in refused.err
    stdin(monkeypatch, "short\n")
    weak = pbl("users", "create", "--tenant", "acme-bank", "--email", "dee@acme.test")
    assert weak.code == 2 and "12 to 1024 characters" in weak.err
    assert PASSWORD not in refused.err + weak.err
    listed = ok(pbl("users", "list", "--tenant", "acme-bank", "--json"))
    assert [u["email"] for u in listed] == ["ana@acme.test", "bo@acme.test"]
    assert all("password_hash" not in u and "mfa_secret" not in u for u in listed)


def test_lock_refuses_logins_until_unlocked(pbl, conn, acme, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = add_user(pbl, monkeypatch, "ana@acme.test")["user"]
    assert ok(pbl("users", "lock", "--tenant", "acme-bank", "ana@acme.test", "--dry-run",
                  "--json"))["dry_run"]  # fmt: skip
    conn.execute("SELECT pbl_record_login_success(%s)", (user["id"],))  # not locked yet
    conn.commit()
    locked = ok(pbl("users", "lock", "--tenant", "acme-bank", "ana@acme.test", "--json"))
    assert locked["user"]["locked"] is True
    with pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT pbl_record_login_success(%s)", (user["id"],))
    assert refused.value.sqlstate == "PBL01"
    conn.rollback()
    timed = ok(pbl("users", "lock", "--tenant", "acme-bank", user["id"], "--for", "2h", "--json"))
    assert timed["user"]["locked_until"] < locked["user"]["locked_until"]
    unlocked = ok(pbl("users", "unlock", "--tenant", "acme-bank", "ana@acme.test", "--json"))
    assert unlocked["user"]["locked"] is False
    conn.execute("SELECT pbl_record_login_success(%s)", (user["id"],))
    kinds = [e[0] for e in events(conn, acme["id"])]
    assert kinds == [
        "tenant.created", "user.created", "user.locked", "user.locked", "user.unlocked",
    ]  # fmt: skip


def test_set_role_keeps_a_last_owner_unless_forced(pbl, conn, acme, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    add_user(pbl, monkeypatch, "ana@acme.test", "--role", "owner")
    refused = pbl("users", "set-role", "--tenant", "acme-bank", "ana@acme.test", "admin")
    assert refused.code == 4 and "last active owner of acme-bank" in refused.err
    dry = ok(pbl("users", "set-role", "--tenant", "acme-bank", "ana@acme.test", "admin",
                 "--force", "--dry-run", "--json"))  # fmt: skip
    assert dry["changes"] == {"role": ["owner", "admin"]}
    assert ok(pbl("users", "show", "--tenant", "acme-bank", "ana@acme.test", "--json"))["role"] == (
        "owner"
    )
    forced = ok(pbl("users", "set-role", "--tenant", "acme-bank", "ana@acme.test", "admin",
                    "--force", "--json"))  # fmt: skip
    assert forced["user"]["role"] == "admin"


def test_reset_password_sets_a_temporary_password_and_the_change_flag(  # type: ignore[no-untyped-def]
    pbl, conn, acme, monkeypatch
) -> None:
    user = add_user(pbl, monkeypatch, "ana@acme.test")["user"]
    before = conn.execute("SELECT password_hash FROM users WHERE id = %s", (user["id"],)).fetchone()
    ok(pbl("users", "reset-password", "--tenant", "acme-bank", "ana@acme.test", "--generate",
           "--dry-run"))  # fmt: skip
    after_dry = conn.execute(
        "SELECT password_hash, password_change_required FROM users WHERE id = %s", (user["id"],)
    ).fetchone()
    assert after_dry == (before[0], False)  # type: ignore[index]
    result = pbl("users", "reset-password", "--tenant", "acme-bank", "ana@acme.test", "--generate")
    assert result.code == 0, result.err
    temporary = result.out.strip().rsplit(" ", 1)[-1]
    row = conn.execute(
        "SELECT password_hash, password_change_required FROM users WHERE id = %s", (user["id"],)
    ).fetchone()
    assert row is not None and row[1] is True and verify_password(temporary, row[0]).ok
    audit = events(conn, acme["id"])[-1]
    assert audit[0] == "user.password_reset" and temporary not in json.dumps(audit)
    stdin(monkeypatch, "another long passphrase\n")
    ok(pbl("users", "reset-password", "--tenant", "acme-bank", "ana@acme.test"))
    row = conn.execute("SELECT password_hash FROM users WHERE id = %s", (user["id"],)).fetchone()
    assert row is not None and verify_password("another long passphrase", row[0]).ok


def test_mfa_secret_is_shown_once_and_stored_encrypted(pbl, conn, acme, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = add_user(pbl, monkeypatch, "ana@acme.test")["user"]
    enrolled = ok(pbl("users", "enable-mfa", "--tenant", "acme-bank", "ana@acme.test", "--json"))
    secret = enrolled["secret"]
    assert len(secret) == 32 and f"secret={secret}" in enrolled["otpauth_uri"]
    row = conn.execute(
        "SELECT mfa_enabled, mfa_secret FROM users WHERE id = %s", (user["id"],)
    ).fetchone()
    assert row is not None and row[0] is True and secret not in row[1]
    opened = dev_seed_keyring().decrypt_text(
        row[1], Context("users", "mfa_secret", uuid.UUID(user["id"]), uuid.UUID(acme["id"]))
    )
    assert opened == secret
    again = pbl("users", "enable-mfa", "--tenant", "acme-bank", "ana@acme.test")
    assert again.code == 4 and "already has MFA" in again.err and "--replace" in again.err
    replaced = ok(pbl("users", "enable-mfa", "--tenant", "acme-bank", "ana@acme.test",
                      "--replace", "--json"))  # fmt: skip
    assert replaced["secret"] != secret
    ok(pbl("users", "disable-mfa", "--tenant", "acme-bank", "ana@acme.test"))
    row = conn.execute(
        "SELECT mfa_enabled, mfa_secret FROM users WHERE id = %s", (user["id"],)
    ).fetchone()
    assert row == (False, None)
    trail = json.dumps(events(conn, acme["id"]))
    assert secret not in trail and replaced["secret"] not in trail
    assert trail.count("user.mfa_enabled") == 2 and "user.mfa_disabled" in trail


def test_health_warns_from_90_percent_of_a_quota(pbl, conn, acme, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def quota_check() -> dict[str, Any]:
        result = pbl("health", "--check", "tenant_quotas", "--json")
        return json.loads(result.out)["checks"][0]  # type: ignore[no-any-return]

    ok(pbl("tenants", "update", "acme-bank", "--max-users", "10"))
    for i in range(8):
        add_user(pbl, monkeypatch, f"u{i}@acme.test")
    assert quota_check()["status"] == "OK"
    add_user(pbl, monkeypatch, "u8@acme.test")
    check = quota_check()
    assert check["status"] == "WARN" and "acme-bank: max_users 9/10 (90%)" in check["summary"]
    nagios = pbl("health", "--check", "tenant_quotas", "--format", "nagios")
    assert nagios.code == 1 and "WARNING" in nagios.out


def test_recount_mends_counters_from_the_cli(pbl, conn, acme, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    add_user(pbl, monkeypatch, "ana@acme.test")
    conn.execute("UPDATE tenant_usage SET users = 0 WHERE tenant_id = %s", (acme["id"],))
    conn.commit()
    result = pbl("tenants", "usage", "acme-bank", "--recount", "--json")
    assert result.code == 0, result.err
    assert "1 counter(s) corrected" in result.err
    assert {u["quota"]: u["used"] for u in json.loads(result.out)}["max_users"] == 1


def test_library_api_raises_domain_errors(conn, acme) -> None:  # type: ignore[no-untyped-def]
    from pbl_db import admin
    from pbl_db.errors import ConfigError, RefusedError

    conn.commit()
    admin.create_user(conn, "acme-bank", email="a@acme.test", password=PASSWORD)
    admin.create_user(conn, "acme-bank", email="b@acme.test", password=PASSWORD)
    with pytest.raises(RefusedError, match="max_users quota of 2"):
        admin.create_user(conn, "acme-bank", email="c@acme.test", password=PASSWORD)
    with pytest.raises(ConfigError, match="not an email address"):
        admin.create_user(conn, "acme-bank", email="nope", password=PASSWORD)
    usage = {u.quota: (u.used, u.limit) for u in admin.tenant_usage(conn, "acme-bank")}
    assert usage["max_users"] == (2, 2)
