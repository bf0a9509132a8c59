"""Tenants: create, list, show, update (plan, quotas), suspend and resume; quota usage."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pbl_db import queries
from pbl_db.admin import events
from pbl_db.errors import ConfigError
from pbl_db.tenant import require_rls_bypass

PLANS = ("free", "basic", "professional", "enterprise")
QUOTAS = ("max_users", "max_devices", "max_applications_per_month")
USED = {"max_users": "users", "max_devices": "devices",
        "max_applications_per_month": "applications_this_month"}  # fmt: skip
MAX_QUOTA = 2**31 - 1  # the columns are integer
SLUG = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
WARN_PERCENT = 90.0


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    domain: str | None
    plan: str
    is_active: bool
    billing_email: str | None
    max_users: int
    max_devices: int
    max_applications_per_month: int
    users: int
    devices: int
    applications_this_month: int
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None

    @property
    def status(self) -> str:
        return "deleted" if self.deleted_at else "active" if self.is_active else "suspended"

    def usage(self) -> list[QuotaUsage]:
        return [
            QuotaUsage(self.slug, quota, int(getattr(self, USED[quota])), int(getattr(self, quota)))
            for quota in QUOTAS
        ]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status
        for key, value in out.items():
            if isinstance(value, uuid.UUID | dt.datetime):
                out[key] = str(value) if isinstance(value, uuid.UUID) else value.isoformat()
        return out


@dataclass(frozen=True)
class QuotaUsage:
    tenant: str
    quota: str
    used: int
    limit: int

    @property
    def percent(self) -> float:
        if self.limit > 0:
            return 100.0 * self.used / self.limit
        return 100.0 if self.used else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "percent": round(self.percent, 1)}


@dataclass
class TenantChange:
    """What a change did (or, with dry_run, would do): field -> [before, after]."""

    action: str
    tenant: TenantInfo
    changes: dict[str, list[Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    event_id: uuid.UUID | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "tenant": self.tenant.as_dict(),
            "changes": self.changes,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            "event_id": str(self.event_id) if self.event_id else None,
        }


def _check_slug(slug: str) -> str:
    if len(slug) > 100 or not SLUG.fullmatch(slug):
        shown = slug if len(slug) <= 80 else slug[:77] + "..."
        raise ConfigError(
            f"slug {shown!r} is not valid",
            "use 1-100 lowercase letters, digits and inner hyphens, e.g. acme-bank",
        )
    return slug


def _check_fields(values: dict[str, Any]) -> None:
    name = values.get("name")
    if name is not None and not (0 < len(name.strip()) <= 255):
        raise ConfigError("--name must be 1-255 characters")
    plan = values.get("plan")
    if plan is not None and plan not in PLANS:
        raise ConfigError(f"unknown plan {plan[:80]!r}", f"choose one of {', '.join(PLANS)}")
    email = values.get("billing_email")
    if email is not None and (len(email) > 255 or not EMAIL.fullmatch(email)):
        raise ConfigError("--billing-email is not an email address", "e.g. billing@example.com")
    domain = values.get("domain")
    if domain is not None and not (0 < len(domain) <= 255):
        raise ConfigError("--domain must be 1-255 characters")
    for quota in QUOTAS:
        limit = values.get(quota)
        if limit is not None and not 0 <= limit <= MAX_QUOTA:
            raise ConfigError(
                f"--{quota.replace('_', '-')} {limit} is out of range", f"use 0 to {MAX_QUOTA}"
            )


def _rows(conn: psycopg.Connection[Any], **where: Any) -> list[TenantInfo]:
    params = {"id": None, "slug": None, "deleted": False, **where}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(queries.load("list_admin_tenants"), params).fetchall()
    return [TenantInfo(**row) for row in rows]


def list_tenants(
    conn: psycopg.Connection[Any], *, include_deleted: bool = False
) -> list[TenantInfo]:
    """Every tenant, by slug, with this month's usage."""
    require_rls_bypass(conn, "pbl tenants list")
    return _rows(conn, deleted=include_deleted)


def get_tenant(conn: psycopg.Connection[Any], ref: str) -> TenantInfo:
    """The tenant named by a UUID or a slug (soft-deleted ones included)."""
    require_rls_bypass(conn, "pbl tenants")
    text = ref.strip()
    try:
        found = _rows(conn, id=uuid.UUID(text), deleted=True)
    except ValueError:
        found = _rows(conn, slug=text, deleted=True)
    if not found:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ConfigError(f"no tenant {shown!r}", "give a tenant id (UUID) or slug that exists")
    return found[0]


def create_tenant(
    conn: psycopg.Connection[Any],
    *,
    name: str,
    slug: str,
    plan: str | None = None,
    domain: str | None = None,
    billing_email: str | None = None,
    quotas: dict[str, int] | None = None,
    dry_run: bool = False,
) -> TenantChange:
    """A new tenant; quotas not given take the table's defaults."""
    require_rls_bypass(conn, "pbl tenants create")
    _check_slug(slug)
    values = {"name": name, "plan": plan, "domain": domain, "billing_email": billing_email,
              **(quotas or {})}  # fmt: skip
    _check_fields(values)
    if _rows(conn, slug=slug, deleted=True):
        raise ConfigError(f"a tenant with slug {slug!r} exists", "choose another slug")
    with conn.transaction(force_rollback=dry_run), events.schema_rules():
        row = conn.execute(queries.load("insert_admin_tenant"), {**values, "slug": slug}).fetchone()
        assert row is not None
        conn.execute(
            queries.load("update_admin_tenant"),
            {**{k: None for k in (*QUOTAS, "name", "domain", "plan", "billing_email", "is_active")},
             **(quotas or {}), "id": row[0]},
        )  # fmt: skip
        made = _rows(conn, id=row[0])[0]
        new = {k: v for k, v in made.as_dict().items() if k in ("slug", "name", "plan", *QUOTAS)}
        event = events.record(
            conn, made.id, "tenant.created", f"tenant {slug} created", {}, None, new
        )
    return TenantChange("create", made, {k: [None, v] for k, v in new.items()}, [], dry_run,
                        None if dry_run else event)  # fmt: skip


def update_tenant(
    conn: psycopg.Connection[Any],
    ref: str,
    *,
    name: str | None = None,
    plan: str | None = None,
    domain: str | None = None,
    billing_email: str | None = None,
    quotas: dict[str, int] | None = None,
    dry_run: bool = False,
) -> TenantChange:
    """Change a tenant's details, plan or quotas. A quota lowered below what the tenant uses
    keeps its rows and refuses new ones: that is a warning, not an error."""
    values: dict[str, Any] = {"name": name, "plan": plan, "domain": domain,
                              "billing_email": billing_email, **(quotas or {})}  # fmt: skip
    _check_fields(values)
    return _change(conn, ref, "update", values, dry_run)


def set_suspended(
    conn: psycopg.Connection[Any],
    ref: str,
    suspended: bool,
    *,
    reason: str | None = None,
    dry_run: bool = False,
) -> TenantChange:
    """Suspend (the services' sessions may read, not write the tenant's rows) or resume."""
    if reason is not None and len(reason) > 500:
        raise ConfigError("--reason is longer than 500 characters")
    return _change(
        conn, ref, "suspend" if suspended else "resume", {"is_active": not suspended}, dry_run,
        reason,
    )  # fmt: skip


def _change(
    conn: psycopg.Connection[Any],
    ref: str,
    action: str,
    values: dict[str, Any],
    dry_run: bool,
    reason: str | None = None,
) -> TenantChange:
    require_rls_bypass(conn, f"pbl tenants {action}")
    before = get_tenant(conn, ref)
    if before.deleted_at is not None:
        raise ConfigError(f"tenant {before.slug} is deleted", "nothing to change")
    old = before.as_dict()
    changes = {
        key: [old[key], value]
        for key, value in values.items()
        if value is not None and old[key] != value
    }
    warnings = []
    for usage in before.usage():
        if usage.quota in changes and usage.used > changes[usage.quota][1]:
            warnings.append(
                f"{before.slug} uses {usage.used} of {usage.quota}, above the new limit "
                f"{changes[usage.quota][1]}: existing rows stay, new ones are refused"
            )
    if not changes:
        return TenantChange(action, before, {}, [f"{before.slug}: nothing to change"], dry_run)
    params: dict[str, Any] = dict.fromkeys(
        (*QUOTAS, "name", "domain", "plan", "billing_email", "is_active")
    )
    params.update({k: v[1] for k, v in changes.items()})
    params["id"] = before.id
    event_type = {"update": "tenant.updated", "suspend": "tenant.suspended",
                  "resume": "tenant.resumed"}[action]  # fmt: skip
    with conn.transaction(force_rollback=dry_run), events.schema_rules():
        conn.execute(queries.load("update_admin_tenant"), params)
        event = events.record(
            conn,
            before.id,
            event_type,
            f"tenant {before.slug}: {action}" + (f" ({reason})" if reason else ""),
            {"reason": reason} if reason else {},
            {k: v[0] for k, v in changes.items()},
            {k: v[1] for k, v in changes.items()},
        )
        after = _rows(conn, id=before.id, deleted=True)[0]
    return TenantChange(action, after if not dry_run else before, changes, warnings, dry_run,
                        None if dry_run else event)  # fmt: skip


def tenant_usage(conn: psycopg.Connection[Any], ref: str | None = None) -> list[QuotaUsage]:
    """Quota against use this UTC month: one tenant's, or every live tenant's, fullest first."""
    tenants = [get_tenant(conn, ref)] if ref else list_tenants(conn)
    usages = [u for t in tenants for u in t.usage()]
    return usages if ref else sorted(usages, key=lambda u: (-u.percent, u.tenant, u.quota))


def recount_usage(conn: psycopg.Connection[Any], ref: str | None = None) -> int:
    """Set the counters to what the rows hold (after writes with triggers off); how many were
    wrong."""
    require_rls_bypass(conn, "pbl tenants usage --recount")
    tenant = get_tenant(conn, ref).id if ref else None
    with conn.transaction():
        row = conn.execute(queries.load("recount_tenant_quotas"), {"tenant_id": tenant}).fetchone()
    return int(row[0]) if row else 0
