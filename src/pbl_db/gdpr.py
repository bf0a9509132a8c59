"""GDPR: export every row of a data subject (PII decrypted, JSON) and erase them.

Who a data subject is (docs/gdpr.md): by email, the users with that email and the applications
whose applicant email is that address (both case-insensitive); by application id, that
application. Linked to them: devices named by the applications' duoplus_device_id, audit events
about the applications (application_id) or done by the users (user_id = their id or email), and
"references": rows of others that name the subject (reviewed_by, provisioned_by, ...).

Erasure soft-deletes and anonymizes the subject's users and applications in one transaction;
audit events, devices and other subjects' rows are kept (append-only evidence, retention
removes them later). Row-level security is forced: a superuser or BYPASSRLS role finds the
subject in every tenant, any other role must name the tenant and sees only that one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbl_db import __version__, queries
from pbl_db.crypto.fields import decrypt_row, fields_of
from pbl_db.errors import BusyError, ConfigError, OperationFailed, RefusedError, shown
from pbl_db.files import write_private
from pbl_db.replica import require_primary

if TYPE_CHECKING:
    import psycopg

    from pbl_db.crypto.cipher import KeyRing
    from pbl_db.stats import Tenant

EXPORT_FORMAT = "pbl-gdpr-export"
EXPORT_VERSION = 1
# Never exported: a credential is not the subject's data to carry elsewhere, and it is useless
# outside this system. The export says so in its header.
NOT_EXPORTED = {
    "users.password_hash": "a one-way password hash (a credential, not portable data)",
    "users.mfa_secret": "the multi-factor authentication secret (a credential)",
}
DEFAULT_LOCK_TIMEOUT = "5s"
MAX_REASON = 1000


@dataclass(frozen=True)
class Subject:
    """The data subject of a request: an email address or one application."""

    email: str | None = None
    application_id: uuid.UUID | None = None

    @classmethod
    def of(cls, email: str | None, application_id: str | None) -> Subject:
        if (email is None) == (application_id is None):
            raise ConfigError(
                "name the data subject once", "give either --email or --application-id"
            )
        if email is not None:
            text = email.strip()
            # never echoed (personal data); as long as users.email may be (255), printable UTF-8
            if (
                len(text) > MAX_EMAIL
                or "@" not in text
                or any(c.isspace() or not c.isprintable() for c in text)
                or not _is_utf8(text)
            ):
                raise ConfigError(
                    "--email is not an email address",
                    f"e.g. jane@example.com (at most {MAX_EMAIL} characters)",
                )
            return cls(email=text)
        try:
            return cls(application_id=uuid.UUID(str(application_id).strip()))
        except ValueError:
            raise ConfigError(
                "--application-id is not a UUID", "copy the application's id column"
            ) from None

    def reference(self) -> str:
        """How audit events name the subject: no personal data (an email only as its hash)."""
        if self.application_id is not None:
            return f"application:{self.application_id}"
        assert self.email is not None
        digest = hashlib.sha256(self.email.lower().encode("utf-8")).hexdigest()
        return f"email-sha256:{digest}"

    def describe(self) -> str:
        return (
            f"application {self.application_id}"
            if self.application_id is not None
            else f"email {shown(self.email)}"
        )


MAX_EMAIL = 255


def _is_utf8(text: str) -> bool:
    """False for text holding surrogates (bytes from argv that were not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class TenantRows:
    """A data subject's rows in one tenant, as stored (encrypted fields still sealed)."""

    tenant: Tenant
    users: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    audit_logs: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Hold:
    application_id: uuid.UUID
    hold_id: int | None = None
    placed_at: dt.datetime | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.hold_id is None:
            return f"application {self.application_id} is under an active legal hold"
        placed = self.placed_at.date().isoformat() if self.placed_at else "?"
        return (
            f"application {self.application_id} is under legal hold #{self.hold_id} "
            f"(placed {placed}: {self.reason})"
        )


@dataclass
class TenantPlan:
    tenant: Tenant
    users: list[uuid.UUID]  # to erase
    users_erased: list[uuid.UUID]  # erased before
    applications: list[uuid.UUID]
    applications_erased: list[uuid.UUID]
    devices: int
    audit_logs: int
    references: int
    holds: list[Hold]

    @property
    def pending(self) -> int:
        return len(self.users) + len(self.applications)


@dataclass
class ErasePlan:
    subject: Subject
    tenants: list[TenantPlan]

    @property
    def pending(self) -> int:
        return sum(t.pending for t in self.tenants)

    @property
    def holds(self) -> list[Hold]:
        return [h for t in self.tenants for h in t.holds]

    @property
    def found(self) -> bool:
        return any(
            t.users or t.users_erased or t.applications or t.applications_erased
            for t in self.tenants
        )

    def key(self) -> list[tuple[str, list[str], list[str]]]:
        """What an erase must find again to go ahead: the ids per tenant."""
        return sorted(
            (
                str(t.tenant.id),
                sorted(str(i) for i in t.users + t.users_erased),
                sorted(str(i) for i in t.applications + t.applications_erased),
            )
            for t in self.tenants
        )

    def rows(self) -> list[dict[str, Any]]:
        """Per tenant and table: what the erase does (for a table or JSON)."""
        out: list[dict[str, Any]] = []
        for t in self.tenants:
            base = {"tenant_id": str(t.tenant.id), "tenant": t.tenant.slug}
            out += [
                {
                    **base,
                    "table": "users",
                    "to_erase": len(t.users),
                    "already_erased": len(t.users_erased),
                    "action": "soft delete; email pseudonymized, names, phone, MFA removed, "
                    "login disabled",
                },
                {
                    **base,
                    "table": "applications",
                    "to_erase": len(t.applications),
                    "already_erased": len(t.applications_erased),
                    "action": "soft delete; name pseudonymized, SSN and encrypted PII "
                    "shredded, contact and network data removed",
                },
                {
                    **base,
                    "table": "devices",
                    "kept": t.devices,
                    "action": "kept: the tenant's devices, not the subject's data",
                },
                {
                    **base,
                    "table": "audit_logs",
                    "kept": t.audit_logs,
                    "action": "kept unchanged (append-only, legal retention); one gdpr.erase "
                    "event added",
                },
                {
                    **base,
                    "table": "references",
                    "kept": t.references,
                    "action": "kept: other subjects' rows naming this subject",
                },
            ]
        return out


@dataclass
class EraseResult:
    plan: ErasePlan
    users: int = 0  # rows erased now
    applications: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # audit events written

    @property
    def changed(self) -> int:
        return self.users + self.applications


def application_erased(row: Mapping[str, Any]) -> bool:
    return bool(row.get("full_legal_name") == f"erased:{row['id']}")


def user_erased(row: Mapping[str, Any]) -> bool:
    return bool(row.get("email") == f"erased-{row['id']}@erased.invalid")


def _db_error(exc: Exception, what: str) -> Exception:
    """One line without DETAIL (which can quote row values)."""
    import psycopg

    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return BusyError(
            f"{what}: a row of this subject is locked by another transaction; nothing changed",
            "retry later",
        )
    if isinstance(exc, psycopg.Error):
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        return OperationFailed(f"{what} failed: {message}", "nothing was changed")
    return exc


def _access(conn: psycopg.Connection[Any]) -> tuple[bool, bool]:
    """(sees every tenant, may read legal_holds)."""
    row = conn.execute(queries.load("get_gdpr_rls_bypass")).fetchone()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def _set_tenant(conn: psycopg.Connection[Any], tenant_id: uuid.UUID) -> None:
    conn.execute(queries.load("set_current_tenant"), {"tenant_id": str(tenant_id)})


def _discover(
    conn: psycopg.Connection[Any], subject: Subject, tenant: Tenant | None
) -> dict[uuid.UUID, dict[str, list[uuid.UUID]]]:
    """{tenant id: {"users": ids, "applications": ids}} of the subject (in an open transaction)."""
    if tenant is not None:
        _set_tenant(conn, tenant.id)
    params = {
        "email": subject.email,
        "application_id": subject.application_id,
        "tenant_id": tenant.id if tenant else None,
    }
    name = "list_gdpr_subject_by_email" if subject.email else "list_gdpr_subject_by_application"
    found: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = {}
    for table, row_id, tenant_id in conn.execute(queries.load(name), params):
        found.setdefault(tenant_id, {"users": [], "applications": []})[table].append(row_id)
    return found


def _fetch(
    conn: psycopg.Connection[Any], name: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(queries.load(name), params))


def _tenants(conn: psycopg.Connection[Any], ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
    from pbl_db.stats import Tenant

    out = {}
    for tenant_id in ids:  # one at a time: row-level security shows a tenant its own row only
        _set_tenant(conn, tenant_id)
        for row in conn.execute(queries.load("list_gdpr_subject_tenants"), {"ids": [tenant_id]}):
            out[row[0]] = Tenant(row[0], row[1], row[2])
    return out


def _gather(
    conn: psycopg.Connection[Any], subject: Subject, tenant: Tenant | None, *, lock: bool
) -> list[TenantRows]:
    """The subject's rows per tenant, in the open transaction; lock=True locks them FOR UPDATE."""
    from pbl_db.stats import Tenant

    bypass, _ = _access(conn)
    if tenant is None and not bypass:
        raise ConfigError(
            f"{conn.info.user} is subject to row-level security and sees one tenant at a time",
            "name the tenant with --tenant, or connect as a superuser or BYPASSRLS role to "
            "search every tenant",
        )
    found = _discover(conn, subject, tenant)
    if subject.application_id is not None and not found:
        where = f" in tenant {tenant.slug}" if tenant else ""
        raise ConfigError(
            f"no application {subject.application_id}{where}", "check the id (and --tenant)"
        )
    names = _tenants(conn, sorted(found))
    out = []
    for tenant_id in sorted(found):
        ids = found[tenant_id]
        _set_tenant(conn, tenant_id)
        scope = {"tenant_id": tenant_id}
        if lock:
            conn.execute(
                queries.load("lock_gdpr_subject_applications"),
                {**scope, "ids": ids["applications"]},
            )
            conn.execute(queries.load("lock_gdpr_subject_users"), {**scope, "ids": ids["users"]})
        rows = TenantRows(names.get(tenant_id) or Tenant(tenant_id, "?", "?"))
        rows.users = _fetch(conn, "list_gdpr_subject_users", {**scope, "ids": ids["users"]})
        rows.applications = _fetch(
            conn, "list_gdpr_subject_applications", {**scope, "ids": ids["applications"]}
        )
        rows.devices = _fetch(
            conn, "list_gdpr_subject_devices", {**scope, "ids": ids["applications"]}
        )
        audit = _fetch(
            conn, "list_gdpr_subject_audit_by_application", {**scope, "ids": ids["applications"]}
        )
        refs: list[str] = []
        if subject.email is not None:
            refs = sorted(
                {subject.email.lower()}
                | {str(u["id"]) for u in rows.users}
                | {str(u["email"]).lower() for u in rows.users}
            )
            seen = {(a["id"], a["event_timestamp"]) for a in audit}
            for event in _fetch(conn, "list_gdpr_subject_audit_by_user", {**scope, "refs": refs}):
                if (event["id"], event["event_timestamp"]) not in seen:
                    audit.append(event)
            audit.sort(key=lambda a: (a["event_timestamp"], str(a["id"])))
            rows.references = _fetch(conn, "list_gdpr_subject_references", {**scope, "refs": refs})
        rows.audit_logs = audit
        out.append(rows)
    return out


def collect(
    conn: psycopg.Connection[Any], subject: Subject, tenant: Tenant | None = None
) -> list[TenantRows]:
    """The subject's rows in every tenant the role may search (or in `tenant`), from one
    read-only REPEATABLE READ snapshot. `conn` must not be inside a transaction."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute(queries.load("set_gdpr_snapshot"))
            return _gather(conn, subject, tenant, lock=False)
    except psycopg.Error as exc:
        raise _db_error(exc, "reading the data subject's rows") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def _open_row(ring: KeyRing | None, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row for the export: secrets dropped, encrypted fields opened (or None once erased)."""
    out = {k: v for k, v in row.items() if f"{table}.{k}" not in NOT_EXPORTED}
    sealed = [
        f
        for f in fields_of(table)
        if f"{table}.{f.column}" not in NOT_EXPORTED and out.get(f.column) is not None
    ]
    if table == "applications" and application_erased(row):
        for f in sealed:
            out[f.column] = None  # shredded at erasure
    elif sealed:
        if ring is None:
            raise ConfigError(
                "the subject's rows hold encrypted fields and no encryption keys are configured",
                "set PBL_ENCRYPTION_KEYS or PBL_KEY_FILE (or --key-file)",
            )
        opened = decrypt_row(ring, table, {**out, "id": row["id"], "tenant_id": row["tenant_id"]})
        for f in sealed:
            out[f.column] = opened[f.column]
    result: dict[str, Any] = _jsonable(out)
    return result


def export_document(
    rows: Sequence[TenantRows],
    subject: Subject,
    ring: KeyRing | None,
    *,
    tenant_label: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The machine-readable export: a header and every row, PII decrypted."""
    doc: dict[str, list[dict[str, Any]]] = {
        "users": [],
        "applications": [],
        "devices": [],
        "audit_logs": [],
        "references": [],
    }
    erased: dict[str, list[str]] = {"users": [], "applications": []}
    for t in rows:
        doc["users"] += [_open_row(ring, "users", r) for r in t.users]
        doc["applications"] += [_open_row(ring, "applications", r) for r in t.applications]
        doc["devices"] += [_open_row(ring, "devices", r) for r in t.devices]
        doc["audit_logs"] += [_open_row(ring, "audit_logs", r) for r in t.audit_logs]
        doc["references"] += [{"tenant_id": str(t.tenant.id), **_jsonable(r)} for r in t.references]
        erased["users"] += [str(r["id"]) for r in t.users if user_erased(r)]
        erased["applications"] += [str(r["id"]) for r in t.applications if application_erased(r)]
    header = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "generated_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
        "generated_by": f"pbl {__version__}",
        "subject": {
            "email": subject.email,
            "application_id": str(subject.application_id) if subject.application_id else None,
        },
        "tenant": tenant_label,
        "tenants": [
            {"id": str(t.tenant.id), "slug": t.tenant.slug, "name": t.tenant.name} for t in rows
        ],
        "counts": {table: len(items) for table, items in doc.items()},
        "decrypted_fields": [
            f"{f.table}.{f.column}"
            for f in (*fields_of("applications"), *fields_of("users"))
            if f"{f.table}.{f.column}" not in NOT_EXPORTED
        ],
        "not_exported": NOT_EXPORTED,
        "erased": erased,
        "matched_by": (
            "users: email (case-insensitive); applications: applicant email "
            "(case-insensitive); devices: applications.duoplus_device_id; audit_logs: "
            "application_id, or user_id equal to the subject's user id or email; references: "
            "other rows whose reviewed_by, provisioned_by, decommissioned_by, billing_email "
            "or created_by names the subject"
            if subject.email
            else "applications: id; devices: applications.duoplus_device_id; audit_logs: "
            "application_id"
        ),
    }
    return {"header": header, **doc}


def export(
    conn: psycopg.Connection[Any],
    subject: Subject,
    ring: KeyRing | None,
    *,
    tenant: Tenant | None = None,
    tenant_label: str | None = None,
) -> dict[str, Any]:
    """Collect and decrypt the subject's rows into the export document."""
    return export_document(collect(conn, subject, tenant), subject, ring, tenant_label=tenant_label)


def check_out(out: str, *, force: bool = False) -> Path:
    """The --out path, checked before anything is read: a file name in a writable directory,
    not a directory, device, FIFO or socket, and no existing file unless force (it may hold
    another person's data)."""
    from pbl_db import pathcheck

    path = pathcheck.output_file(out, "--out")
    if path.exists() and not force:
        raise ConfigError(
            f"--out {shown(path)} exists and may hold personal data",
            "choose another name, or pass --force to replace it",
        )
    return path


def write_export(document: Mapping[str, Any], path: Path, *, replace: bool = False) -> None:
    """Write the export atomically: mode 0600 from the first byte, under a temporary name in the
    same directory, then renamed over `path`; an existing file only when replace."""
    write_private(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", replace=replace)


def _holds(
    conn: psycopg.Connection[Any], application_ids: Sequence[uuid.UUID], reads_holds: bool
) -> list[Hold]:
    if not application_ids:
        return []
    held = [
        r[0]
        for r in conn.execute(
            queries.load("list_gdpr_subject_holds"), {"ids": list(application_ids)}
        )
    ]
    if not held:
        return []
    if not reads_holds:
        return [Hold(a) for a in held]
    return [
        Hold(r[1], r[0], r[2], r[4])
        for r in conn.execute(queries.load("list_gdpr_hold_details"), {"ids": held})
    ]


def _plan(conn: psycopg.Connection[Any], subject: Subject, rows: Sequence[TenantRows]) -> ErasePlan:
    _, reads_holds = _access(conn)
    tenants = []
    for t in rows:
        apps = [r["id"] for r in t.applications]
        tenants.append(
            TenantPlan(
                tenant=t.tenant,
                users=[r["id"] for r in t.users if not user_erased(r)],
                users_erased=[r["id"] for r in t.users if user_erased(r)],
                applications=[r["id"] for r in t.applications if not application_erased(r)],
                applications_erased=[r["id"] for r in t.applications if application_erased(r)],
                devices=len(t.devices),
                audit_logs=len(t.audit_logs),
                references=len(t.references),
                holds=_holds(conn, apps, reads_holds),
            )
        )
    return ErasePlan(subject, tenants)


def plan_erase(
    conn: psycopg.Connection[Any], subject: Subject, tenant: Tenant | None = None
) -> ErasePlan:
    """What an erase of the subject would do, read-only."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute(queries.load("set_gdpr_snapshot"))
            rows = _gather(conn, subject, tenant, lock=False)
            return _plan(conn, subject, rows)
    except psycopg.Error as exc:
        raise _db_error(exc, "planning the erase") from None


def refuse_holds(plan: ErasePlan) -> None:
    holds = plan.holds
    if holds:
        raise RefusedError(
            f"erase of {plan.subject.describe()} refused: "
            + "; ".join(h.describe() for h in holds),
            "nothing was erased; the hold must be released first (pbl retention release)",
        )


def require_ring(plan: ErasePlan, ring: KeyRing | None) -> None:
    """Erasing an application needs the active key (its SSN becomes a sealed empty value)."""
    if ring is None and any(t.applications for t in plan.tenants):
        raise ConfigError(
            "erasing an application seals an empty value into ssn_encrypted (NOT NULL) and "
            "needs the active encryption key; nothing was erased",
            "set PBL_ENCRYPTION_KEYS or PBL_KEY_FILE (or --key-file)",
        )


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        raise ConfigError(
            f"--reason must be 1 to {MAX_REASON} characters", "e.g. --reason 'GDPR request #123'"
        )
    return text


def erase(
    conn: psycopg.Connection[Any],
    subject: Subject,
    reason: str,
    ring: KeyRing | None,
    *,
    tenant: Tenant | None = None,
    expected: ErasePlan | None = None,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
) -> EraseResult:
    """Soft-delete and anonymize the subject's users and applications in one transaction, and
    record one gdpr.erase audit event per tenant where something changed.

    Refused (RefusedError) while any of the subject's applications is under a legal hold. Rows
    erased before are left alone, so a second run changes nothing. With `expected` (the plan
    shown to the operator), the erase stops if the subject's rows are no longer the same.
    `ring` must hold the active key when an application is to be erased (its NOT NULL SSN
    column gets a sealed empty value). `conn` must not be inside a transaction.
    """
    require_primary(conn, "pbl gdpr erase")
    import psycopg
    from psycopg.types.json import Jsonb

    from pbl_db.crypto.cipher import Context

    why = check_reason(reason)
    try:
        with conn.transaction():
            conn.execute(queries.load("set_gdpr_lock_timeout"), {"lock_timeout": lock_timeout})
            rows = _gather(conn, subject, tenant, lock=True)
            plan = _plan(conn, subject, rows)
            if expected is not None and plan.key() != expected.key():
                raise OperationFailed(
                    f"the rows of {subject.describe()} changed since the plan was shown; "
                    "nothing was erased",
                    "run the command again",
                )
            refuse_holds(plan)
            result = EraseResult(plan)
            require_ring(plan, ring)
            for t in plan.tenants:
                if not t.pending:
                    continue
                _set_tenant(conn, t.tenant.id)
                apps: list[uuid.UUID] = []
                if t.applications:
                    assert ring is not None
                    tokens = [
                        ring.encrypt("", Context("applications", "ssn_encrypted", a, t.tenant.id))
                        for a in t.applications
                    ]
                    apps = [
                        r[0]
                        for r in conn.execute(
                            queries.load("update_gdpr_erase_applications"),
                            {"tenant_id": t.tenant.id, "ids": t.applications, "ssn_tokens": tokens},
                        )
                    ]
                users = [
                    r[0]
                    for r in conn.execute(
                        queries.load("update_gdpr_erase_users"),
                        {"tenant_id": t.tenant.id, "ids": t.users},
                    )
                ]
                if not apps and not users:
                    continue
                data = {
                    "subject": subject.reference(),
                    "reason": why,
                    "applications": sorted(str(a) for a in apps),
                    "users": sorted(str(u) for u in users),
                    "kept": {
                        "audit_logs": t.audit_logs,
                        "devices": t.devices,
                        "references": t.references,
                    },
                }
                event = conn.execute(
                    queries.load("insert_gdpr_erase_event"),
                    {
                        "tenant_id": t.tenant.id,
                        "application_id": apps[0] if len(apps) == 1 else None,
                        "service_version": __version__,
                        "event_data": Jsonb(data),
                    },
                ).fetchone()
                assert event is not None
                result.applications += len(apps)
                result.users += len(users)
                result.events.append(
                    {
                        "tenant_id": str(t.tenant.id),
                        "id": str(event[0]),
                        "event_timestamp": event[1].isoformat(),
                    }
                )
            return result
    except psycopg.Error as exc:
        raise _db_error(exc, "the erase") from None
