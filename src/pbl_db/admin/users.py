"""A tenant's users: create, list, show, lock, unlock, set-role, reset-password, MFA."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import secrets
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from pbl_db import queries
from pbl_db.admin import events
from pbl_db.errors import ConfigError, RefusedError

if TYPE_CHECKING:
    from pbl_db.crypto.cipher import KeyRing
    from pbl_db.stats import Tenant

ROLES = ("owner", "admin", "manager", "reviewer", "analyst", "auditor", "user", "service")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
MIN_PASSWORD = 12  # NIST SP 800-63B asks for at least 8; support staff pick temporary ones
MAX_PASSWORD = 1024
LOCK_FOREVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)  # drivers cannot read 'infinity'
MAX_LOCK = dt.timedelta(days=3650)
MFA_SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length
MFA_ISSUER = "Bun Payment Linker"


@dataclass(frozen=True)
class UserInfo:
    id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    role: str
    is_active: bool
    is_verified: bool
    mfa_enabled: bool
    failed_login_attempts: int
    locked_until: dt.datetime | None
    locked: bool
    password_change_required: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    deleted_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, uuid.UUID):
                out[key] = str(value)
            elif isinstance(value, dt.datetime):
                out[key] = value.isoformat()
        return out


@dataclass
class UserChange:
    """What a change did (or, with dry_run, would do): field -> [before, after]."""

    action: str
    tenant: str
    user: UserInfo
    changes: dict[str, list[Any]] = field(default_factory=dict)
    dry_run: bool = False
    event_id: uuid.UUID | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "tenant": self.tenant,
            "user": self.user.as_dict(),
            "changes": self.changes,
            "dry_run": self.dry_run,
            "event_id": str(self.event_id) if self.event_id else None,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class MfaEnrolment:
    """A new TOTP secret: shown once to the person enrolling, stored only encrypted."""

    change: UserChange
    secret: str  # base32
    uri: str  # otpauth:// for an authenticator app's QR code

    def as_dict(self) -> dict[str, Any]:
        return {**self.change.as_dict(), "secret": self.secret, "otpauth_uri": self.uri}


def _shown(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def _check_email(email: str) -> str:
    if len(email) > 255 or not EMAIL.fullmatch(email):
        raise ConfigError(f"{_shown(email)!r} is not an email address", "e.g. ana@example.com")
    return email


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown role {_shown(role)!r}", f"choose one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    """The rules a password given to pbl must meet (length only, as NIST SP 800-63B asks)."""
    if "\x00" in password:
        raise ConfigError("the password contains a NUL character", "type it again")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigError(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            "choose a longer passphrase" if len(password) < MIN_PASSWORD else "a shorter one",
        )
    return password


def _tenant(conn: psycopg.Connection[Any], ref: str) -> Tenant:
    from pbl_db.stats import resolve_tenant

    return resolve_tenant(conn, ref)


@contextmanager
def _as_tenant(
    conn: psycopg.Connection[Any], tenant: Tenant, *, rollback: bool = False
) -> Iterator[None]:
    """One transaction with the tenant set, so a role that row-level security limits sees the
    tenant's users too (an administrator sees them anyway)."""
    with conn.transaction(force_rollback=rollback), events.schema_rules():
        conn.execute(queries.load("set_current_tenant"), {"tenant_id": str(tenant.id)})
        yield


def _rows(conn: psycopg.Connection[Any], tenant: Tenant, **where: Any) -> list[UserInfo]:
    params = {"tenant_id": tenant.id, "id": None, "email": None, "deleted": False, **where}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(queries.load("list_admin_users"), params).fetchall()
    return [UserInfo(**row) for row in rows]


def _lookup(conn: psycopg.Connection[Any], tenant: Tenant, ref: str) -> UserInfo:
    """The tenant's user named by id or email, soft-deleted ones included."""
    text = ref.strip()
    try:
        found = _rows(conn, tenant, id=uuid.UUID(text), deleted=True)
    except ValueError:
        found = _rows(conn, tenant, email=text, deleted=True)
    if not found:
        raise ConfigError(
            f"no user {_shown(text)!r} in tenant {tenant.slug}", "give the user's id or email"
        )
    return found[0]


def _find(conn: psycopg.Connection[Any], tenant: Tenant, ref: str) -> UserInfo:
    """The live user to change."""
    user = _lookup(conn, tenant, ref)
    if user.deleted_at is not None:
        raise ConfigError(f"user {_shown(ref)!r} of {tenant.slug} is deleted", "nothing to change")
    return user


def list_users(
    conn: psycopg.Connection[Any], tenant_ref: str, *, include_deleted: bool = False
) -> list[UserInfo]:
    tenant = _tenant(conn, tenant_ref)
    with _as_tenant(conn, tenant):
        return _rows(conn, tenant, deleted=include_deleted)


def get_user(conn: psycopg.Connection[Any], tenant_ref: str, ref: str) -> UserInfo:
    tenant = _tenant(conn, tenant_ref)
    with _as_tenant(conn, tenant):
        return _lookup(conn, tenant, ref)


def create_user(
    conn: psycopg.Connection[Any],
    tenant_ref: str,
    *,
    email: str,
    password: str,
    role: str = "user",
    first_name: str | None = None,
    last_name: str | None = None,
    verified: bool = False,
    dry_run: bool = False,
) -> UserChange:
    """A new user, its password hashed with argon2id (as the seeds' are). The tenant's max_users
    quota applies (RefusedError)."""
    from pbl_db.passwords import hash_password

    _check_email(email)
    _check_role(role)
    check_password(password)
    for label, value in (("--first-name", first_name), ("--last-name", last_name)):
        if value is not None and len(value) > 100:
            raise ConfigError(f"{label} is longer than 100 characters")
    tenant = _tenant(conn, tenant_ref)
    params = {"tenant_id": tenant.id, "email": email, "password_hash": hash_password(password),
              "role": role, "first_name": first_name, "last_name": last_name,
              "is_verified": verified}  # fmt: skip
    with _as_tenant(conn, tenant, rollback=dry_run):
        try:
            with conn.transaction():
                row = conn.execute(queries.load("insert_admin_user"), params).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "users_tenant_email_key":
                raise ConfigError(
                    f"a user with email {_shown(email)!r} exists in tenant {tenant.slug}",
                    "emails are unique per tenant (pbl schema email-scope)",
                ) from None
            raise ConfigError(
                f"a user with email {_shown(email)!r} exists",
                "emails are unique across tenants (docs/schema.md, pbl schema email-scope)",
            ) from None
        assert row is not None
        user = _rows(conn, tenant, id=row[0])[0]
        new = {"email": email, "role": role, "is_verified": verified}
        event = events.record(
            conn, tenant.id, "user.created", f"user {user.id} created", {"user_id": str(user.id)},
            None, {"role": role, "is_verified": verified},
        )  # fmt: skip
    return UserChange("create", tenant.slug, user, {k: [None, v] for k, v in new.items()},
                      dry_run, None if dry_run else event)  # fmt: skip


Plan = Callable[[UserInfo, "Tenant"], tuple[dict[str, list[Any]], dict[str, Any]]]


def _change(
    conn: psycopg.Connection[Any],
    tenant_ref: str,
    ref: str,
    action: str,
    event_type: str,
    query: str,
    plan: Plan,
    dry_run: bool,
) -> UserChange:
    """Find the user, plan the change (field -> [before, after], and the query's parameters;
    may refuse), write it and its audit event in one transaction."""
    tenant = _tenant(conn, tenant_ref)
    warnings: list[str] = []
    with _as_tenant(conn, tenant, rollback=dry_run):
        user = _find(conn, tenant, ref)
        changes, params = plan(user, tenant)
        event = None
        if changes:
            conn.execute(queries.load(query), {**params, "id": user.id, "tenant_id": tenant.id})
            event = events.record(
                conn, tenant.id, event_type, f"user {user.id}: {action}",
                {"user_id": str(user.id)},
                {k: v[0] for k, v in changes.items()}, {k: v[1] for k, v in changes.items()},
            )  # fmt: skip
            after = _rows(conn, tenant, id=user.id)[0]
        else:
            after = user
            warnings.append(f"{_shown(user.email)}: nothing to change")
    return UserChange(action, tenant.slug, user if dry_run else after, changes, dry_run,
                      None if dry_run else event, warnings)  # fmt: skip


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def lock_user(
    conn: psycopg.Connection[Any],
    tenant_ref: str,
    ref: str,
    *,
    duration: dt.timedelta | None = None,
    dry_run: bool = False,
) -> UserChange:
    """Lock until now + duration (None: until unlocked). A locked user cannot log in."""
    if duration is not None and not dt.timedelta(0) < duration <= MAX_LOCK:
        raise ConfigError("--for must be more than 0 and at most 3650 days")
    until = dt.datetime.now(dt.UTC) + duration if duration else LOCK_FOREVER
    return _change(
        conn, tenant_ref, ref, "lock", "user.locked", "update_admin_user_lock",
        lambda u, _t: ({"locked_until": [_iso(u.locked_until), until.isoformat()]},
                       {"until": until}),
        dry_run,
    )  # fmt: skip


def unlock_user(
    conn: psycopg.Connection[Any], tenant_ref: str, ref: str, *, dry_run: bool = False
) -> UserChange:
    """Lift a lock and clear the failure count."""
    return _change(
        conn, tenant_ref, ref, "unlock", "user.unlocked", "update_admin_user_lock",
        lambda u, _t: ({"locked_until": [_iso(u.locked_until), None],
                        "failed_login_attempts": [u.failed_login_attempts, 0]}
                       if u.locked_until or u.failed_login_attempts else {}, {"until": None}),
        dry_run,
    )  # fmt: skip


def set_role(
    conn: psycopg.Connection[Any],
    tenant_ref: str,
    ref: str,
    role: str,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> UserChange:
    """Change the user's role; refuses to take the tenant's last active owner away (force)."""
    _check_role(role)

    def plan(user: UserInfo, tenant: Tenant) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        if user.role == role:
            return {}, {}
        if user.role == "owner" and not force:
            row = conn.execute(
                queries.load("count_admin_tenant_owners"), {"tenant_id": tenant.id, "id": user.id}
            ).fetchone()
            if row and row[0] == 0:
                raise RefusedError(
                    f"{_shown(user.email)} is the last active owner of {tenant.slug}",
                    "make another user owner first, or pass --force",
                )
        return {"role": [user.role, role]}, {"role": role}

    return _change(
        conn, tenant_ref, ref, "set-role", "user.role_changed", "update_admin_user_role", plan,
        dry_run,
    )  # fmt: skip


def reset_password(
    conn: psycopg.Connection[Any],
    tenant_ref: str,
    ref: str,
    password: str,
    *,
    dry_run: bool = False,
) -> UserChange:
    """Set a temporary password and password_change_required: the services make the user choose
    a new one at the next login. A lock is left as it is (unlock is its own step)."""
    from pbl_db.passwords import hash_password

    check_password(password)
    hashed = hash_password(password)
    return _change(
        conn, tenant_ref, ref, "reset-password", "user.password_reset",
        "update_admin_user_password",
        lambda u, _t: ({"password_hash": ["(secret)", "(new)"],
                        "password_change_required": [u.password_change_required, True]},
                       {"password_hash": hashed}),
        dry_run,
    )  # fmt: skip


def generate_password() -> str:
    """A temporary password for reset-password --generate: 20 characters, ~119 bits."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def enable_mfa(
    conn: psycopg.Connection[Any],
    ring: KeyRing,
    tenant_ref: str,
    ref: str,
    *,
    replace: bool = False,
    dry_run: bool = False,
) -> MfaEnrolment:
    """Enrol a new TOTP secret, stored through the field encryption (users.mfa_secret)."""
    from pbl_db.crypto.cipher import Context

    secret = base64.b32encode(os.urandom(MFA_SECRET_BYTES)).decode("ascii")
    emails: list[str] = []

    def plan(user: UserInfo, tenant: Tenant) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        if user.mfa_enabled and not replace:
            raise RefusedError(
                f"{_shown(user.email)} already has MFA",
                "pass --replace to enrol a new secret (the old one stops working)",
            )
        emails.append(user.email)
        token = ring.encrypt(secret, Context("users", "mfa_secret", user.id, tenant.id))
        changes: dict[str, list[Any]] = {
            "mfa_enabled": [user.mfa_enabled, True],
            "mfa_secret": ["(secret)", "(new)"],
        }
        return changes, {"secret": token}

    change = _change(
        conn, tenant_ref, ref, "enable-mfa", "user.mfa_enabled", "update_admin_user_mfa", plan,
        dry_run,
    )  # fmt: skip
    if dry_run:
        return MfaEnrolment(change, "", "")
    label = urllib.parse.quote(f"{MFA_ISSUER}:{emails[0]}")
    uri = (
        f"otpauth://totp/{label}?secret={secret}&issuer={urllib.parse.quote(MFA_ISSUER)}"
        "&algorithm=SHA1&digits=6&period=30"
    )
    return MfaEnrolment(change, secret, uri)


def disable_mfa(
    conn: psycopg.Connection[Any], tenant_ref: str, ref: str, *, dry_run: bool = False
) -> UserChange:
    """Remove the user's MFA: mfa_enabled false, the secret cleared."""
    return _change(
        conn, tenant_ref, ref, "disable-mfa", "user.mfa_disabled", "update_admin_user_mfa",
        lambda u, _t: ({"mfa_enabled": [True, False], "mfa_secret": ["(secret)", None]}
                       if u.mfa_enabled else {}, {"secret": None}),
        dry_run,
    )  # fmt: skip
