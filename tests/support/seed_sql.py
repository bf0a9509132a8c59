"""Writes sql/seeds/001-004 from the values documented in docs/seeds.md.

Run it after a change of the token format or of the seed values:
    .venv/bin/python -m tests.support.seed_sql
Ciphertexts use the public development seed key; password hashes are fresh argon2id hashes, so
every run gives new (equally valid) files.
"""

from __future__ import annotations

import json
from pathlib import Path

from pbl_db.crypto.cipher import Context
from pbl_db.crypto.fields import encrypt_json
from pbl_db.crypto.keys import dev_seed_keyring
from pbl_db.passwords import hash_password

SEEDS = Path(__file__).resolve().parent.parent.parent / "sql" / "seeds"
TENANTS = {
    "acme": ("11111111-1111-4111-8111-111111111111", "Acme Lending", "enterprise"),
    "globex": ("22222222-2222-4222-8222-222222222222", "Globex Credit", "basic"),
}
USERS = [
    (
        "acme",
        "a0000000-0000-4000-8000-000000000001",
        "admin@acme.example",
        "Ada",
        "Admin",
        "admin",
        "acme-admin-dev",
        "JBSWY3DPEHPK3PXP",
    ),
    (
        "acme",
        "a0000000-0000-4000-8000-000000000002",
        "reviewer@acme.example",
        "Rey",
        "Viewer",
        "reviewer",
        "acme-reviewer-dev",
        None,
    ),
    (
        "globex",
        "b0000000-0000-4000-8000-000000000001",
        "admin@globex.example",
        "Gus",
        "Admin",
        "admin",
        "globex-admin-dev",
        None,
    ),
]
DEVICES = [
    (
        "acme",
        "d0000000-0000-4000-8000-000000000001",
        "acme-android-001",
        "android",
        "Pixel 8",
        "14",
        "us-east",
        "online",
    ),
    (
        "acme",
        "d0000000-0000-4000-8000-000000000002",
        "acme-ios-001",
        "ios",
        "iPhone 15",
        "17.4",
        "us-west",
        "offline",
    ),
    (
        "globex",
        "d0000000-0000-4000-8000-000000000003",
        "globex-android-001",
        "android",
        "Galaxy S24",
        "14",
        "eu-central",
        "maintenance",
    ),
]
APPLICATIONS = [
    (
        "acme",
        "c0000000-0000-4000-8000-000000000001",
        "Jane Q. Applicant",
        "123-45-6789",
        85000,
        "employed",
        15000,
        742,
        180,
        "approved",
        "submitted",
    ),
    (
        "acme",
        "c0000000-0000-4000-8000-000000000002",
        "John R. Borrower",
        "987-65-4321",
        42000,
        "self_employed",
        8000,
        655,
        540,
        "manual_review",
        "manual_review",
    ),
    (
        "globex",
        "c0000000-0000-4000-8000-000000000003",
        "Maria S. Example",
        "555-12-3456",
        61000,
        "employed",
        5000,
        598,
        710,
        "declined",
        "declined",
    ),
]
ADDRESS = {"line1": "1 Demo Street", "city": "Springfield", "postal_code": "00000", "country": "US"}


def q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def tenant_scope(tenant_id: str) -> str:
    return f"SELECT set_config('app.current_tenant_id', '{tenant_id}', true);"


def tenants() -> str:
    lines = [
        "-- Default tenant configurations: two demo tenants (docs/seeds.md).",
        "-- Each tenant's rows are written with app.current_tenant_id set to it, so seeding works",
        "-- under forced row-level security for the owner role too.",
        "",
    ]
    for slug, (tid, name, plan) in TENANTS.items():
        settings = {"currency": "USD", "decision_model": "risk-v3", "manual_review_threshold": 650}
        flags = {"instant_decisions": slug == "acme", "device_automation": True}
        lines += [
            tenant_scope(tid),
            "INSERT INTO tenants (id, name, slug, domain, settings, feature_flags, "
            "subscription_plan, billing_email)",
            f"VALUES ('{tid}', {q(name)}, '{slug}', '{slug}.example', {q(json.dumps(settings))},",
            f"        {q(json.dumps(flags))}, '{plan}', 'billing@{slug}.example')",
            "ON CONFLICT DO NOTHING;",
            "",
        ]
    return "\n".join(lines)


def users() -> str:
    ring = dev_seed_keyring()
    lines = [
        "-- Test user accounts with real argon2id hashes of the documented development passwords",
        "-- (docs/seeds.md). The MFA secret is encrypted with the development seed key.",
        "",
    ]
    for slug, uid, email, first, last, role, password, mfa in USERS:
        tid = TENANTS[slug][0]
        secret = q(ring.encrypt(mfa, Context("users", "mfa_secret", uid, tid))) if mfa else "NULL"
        lines += [
            tenant_scope(tid),
            "INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,",
            "                   is_verified, mfa_enabled, mfa_secret)",
            f"VALUES ('{uid}', '{tid}', '{email}',",
            f"        {q(hash_password(password))},",
            f"        '{first}', '{last}', '{role}', true, {'true' if mfa else 'false'},",
            f"        {secret})",
            "ON CONFLICT DO NOTHING;",
            "",
        ]
    return "\n".join(lines)


def devices() -> str:
    lines = ["-- Sample device configurations (docs/seeds.md).", ""]
    for slug, did, external, kind, model, os_version, region, status in DEVICES:
        tid = TENANTS[slug][0]
        caps = {"sms": True, "camera": True, "nfc": kind == "android"}
        conf = {"heartbeat_seconds": 30, "max_parallel_tasks": 2}
        lines += [
            tenant_scope(tid),
            "INSERT INTO devices (id, device_id_external, tenant_id, device_type, model, "
            "os_version, region,",
            "                     status, capabilities, configuration, battery_level, "
            "signal_strength,",
            "                     wifi_connected, mac_address, provisioned_by, provisioned_at)",
            f"VALUES ('{did}', '{external}', '{tid}', '{kind}', '{model}', '{os_version}', "
            f"'{region}',",
            f"        '{status}', {q(json.dumps(caps))}, {q(json.dumps(conf))}, 87.5, -67,",
            f"        true, '02:00:5e:10:00:0{did[-1]}', 'seed', '2026-01-15 09:00:00+00')",
            "ON CONFLICT DO NOTHING;",
            "",
        ]
    return "\n".join(lines)


def applications() -> str:
    ring = dev_seed_keyring()
    lines = [
        "-- Demo application data. SSNs and address JSON are encrypted with the development seed",
        "-- key (docs/seeds.md lists the plaintext SSNs); each value is bound to its row and "
        "tenant.",
        "",
    ]
    for slug, aid, name, ssn, income, job, limit, score, risk, decision, status in APPLICATIONS:
        tid = TENANTS[slug][0]
        token = ring.encrypt(ssn, Context("applications", "ssn_encrypted", aid, tid))
        address = encrypt_json(ring, ADDRESS, Context("applications", "address", aid, tid))
        lines += [
            tenant_scope(tid),
            "INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, "
            "annual_income,",
            "                          employment_status, requested_limit, credit_score, email, "
            "address,",
            "                          risk_score, fraud_probability, identity_match, decision, "
            "confidence,",
            "                          model_version, status)",
            f"VALUES ('{aid}', '{tid}', {q(name)},",
            f"        {q(token)},",
            f"        {income}, '{job}', {limit}, {score}, 'applicant{aid[-1]}@example.test',",
            f"        {q(json.dumps(address))},",
            f"        {risk}, 2.50, 97.00, '{decision}', 91.00, 'risk-v3', '{status}')",
            "ON CONFLICT DO NOTHING;",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    files = {
        "001_tenants": tenants,
        "002_users": users,
        "003_devices": devices,
        "004_applications": applications,
    }
    for name, make in files.items():
        (SEEDS / f"{name}.sql").write_text(make(), encoding="utf-8")


if __name__ == "__main__":
    main()
