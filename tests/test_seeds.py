"""pbl seed: ordered, idempotent seed files whose encrypted values open with the dev key."""

from __future__ import annotations

import io
import json

import psycopg
import pytest

from pbl_db.crypto.cipher import Context
from pbl_db.crypto.fields import decrypt_json
from pbl_db.crypto.keys import dev_seed_keyring
from pbl_db.passwords import verify_password

ACME = "11111111-1111-4111-8111-111111111111"
JANE = "c0000000-0000-4000-8000-000000000001"
TABLES = ("tenants", "users", "devices", "applications")


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every seeded row with its xmin: any write, even a no-op UPDATE, changes xmin."""
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(
                psycopg.sql.SQL("SELECT id, xmin::text FROM {} ORDER BY id").format(
                    psycopg.sql.Identifier(t)
                )
            ).fetchall()
            for t in TABLES
        }


@pytest.fixture
def seeded(db_url: str, monkeypatch: pytest.MonkeyPatch, pbl) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = pbl("seed")
    assert result.code == 0, result.err
    assert "001_tenants, 002_users, 003_devices, 004_applications" in result.out
    return db_url


def test_seed_loads_every_table(seeded: str) -> None:
    rows = snapshot(seeded)
    assert {t: len(r) for t, r in rows.items()} == {
        "tenants": 2,
        "users": 3,
        "devices": 3,
        "applications": 3,
    }


def test_second_run_changes_nothing(seeded: str, pbl) -> None:
    before = snapshot(seeded)
    assert pbl("seed").code == 0
    assert snapshot(seeded) == before


def test_specific_and_list(db_url: str, monkeypatch: pytest.MonkeyPatch, pbl) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    only = pbl("seed", "--specific", "001_tenants")
    assert only.code == 0, only.err
    assert {t: len(r) for t, r in snapshot(db_url).items()}["users"] == 0
    assert pbl("seed", "--specific", "009_nope").code == 2
    listed = json.loads(pbl("seed", "list", "--json").out)
    assert [s["name"] for s in listed] == [
        "001_tenants",
        "002_users",
        "003_devices",
        "004_applications",
    ]


def test_seeded_ssn_decrypts_with_the_dev_key(seeded: str, pbl, monkeypatch) -> None:
    with psycopg.connect(seeded) as conn:
        row = conn.execute(
            "SELECT ssn_encrypted, address FROM applications WHERE id = %s", (JANE,)
        ).fetchone()
    assert row is not None
    ring = dev_seed_keyring()
    assert (
        ring.decrypt_text(row[0], Context("applications", "ssn_encrypted", JANE, ACME))
        == "123-45-6789"
    )
    assert (
        decrypt_json(ring, row[1], Context("applications", "address", JANE, ACME))["city"]
        == "Springfield"
    )
    # the documented CLI path: the dev key from `pbl crypto dev-key`, the token on stdin
    monkeypatch.setenv("PBL_ENCRYPTION_KEYS", pbl("crypto", "dev-key").out.strip())
    monkeypatch.setattr("sys.stdin", io.StringIO(row[0] + "\n"))
    out = pbl(
        "crypto",
        "decrypt",
        "--table",
        "applications",
        "--column",
        "ssn_encrypted",
        "--row-id",
        JANE,
        "--tenant-id",
        ACME,
    )
    assert out.code == 0, out.err
    assert out.out.strip() == "123-45-6789"


def test_seeded_passwords_are_real_hashes(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        stored = conn.execute(
            "SELECT password_hash FROM users WHERE email = 'admin@acme.example'"
        ).fetchone()
    assert stored is not None and stored[0].startswith("$argon2id$")
    assert verify_password("acme-admin-dev", stored[0]).ok
    assert not verify_password("wrong", stored[0]).ok


def test_dev_data_is_refused_in_production(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBL_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/x?sslmode=verify-full")
    assert pbl("crypto", "dev-key").code == 4
    for args in (("seed",), ("seed", "demo", "--applications", "1")):
        result = pbl(*args)
        assert result.code == 4 and "production" in result.err


def test_specific_runs_in_file_order(db_url: str, monkeypatch: pytest.MonkeyPatch, pbl) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = pbl("seed", "--specific", "004_applications", "--specific", "001_tenants")
    assert result.code == 0, result.err
    assert "001_tenants, 004_applications" in result.out


def test_an_unknown_seed_name_is_echoed_short(db_url: str, monkeypatch: pytest.MonkeyPatch, pbl):
    monkeypatch.setenv("DATABASE_URL", db_url)
    res = pbl("seed", "--specific", "x" * 500)
    assert res.code == 2 and "no seed named" in res.err
    assert "x" * 81 not in res.err
