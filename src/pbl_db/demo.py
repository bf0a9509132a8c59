"""`pbl seed demo`: realistic synthetic tenants, applications, devices and audit events via COPY.

Everything but the ciphertexts is determined by the random seed and the anchor day (UTC
midnight of the run, or --anchor): the same seed on the same day gives the same rows. SSNs,
addresses and identity checks are encrypted under the active key, bound to their rows.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pbl_db import queries
from pbl_db.crypto.cipher import Context, KeyRing
from pbl_db.crypto.fields import encrypt_json
from pbl_db.errors import ConfigError, RefusedError, shown
from pbl_db.replica import require_primary
from pbl_db.tenant import require_rls_bypass

ProgressSink = Callable[[str, int, int], None]

FIRST = [
    "Ava",
    "Liam",
    "Maya",
    "Noah",
    "Zoe",
    "Ethan",
    "Iris",
    "Omar",
    "Lena",
    "Kai",
    "Nina",
    "Ravi",
    "Sofia",
    "Theo",
    "Yara",
    "Jonas",
    "Mei",
    "Diego",
    "Hana",
    "Felix",
]
LAST = [
    "Garcia",
    "Smith",
    "Chen",
    "Okafor",
    "Novak",
    "Silva",
    "Kim",
    "Patel",
    "Müller",
    "Rossi",
    "Haddad",
    "Johnson",
    "Nguyen",
    "Kowalski",
    "Andersen",
    "Tanaka",
    "Moreau",
    "Ali",
]
CITIES = [
    ("Austin", "TX"),
    ("Denver", "CO"),
    ("Portland", "OR"),
    ("Raleigh", "NC"),
    ("Madison", "WI"),
    ("Tucson", "AZ"),
    ("Boise", "ID"),
    ("Richmond", "VA"),
]
EMPLOYMENT = ["employed"] * 6 + [
    "self_employed",
    "self_employed",
    "retired",
    "student",
    "unemployed",
    "other",
]
EVENTS = [
    ("application.created", "application"),
    ("identity.verified", "verification"),
    ("credit.pulled", "verification"),
    ("decision.made", "decision"),
    ("review.completed", "review"),
    ("device.task", "device"),
    ("user.login", "access"),
]
REGULATIONS = ["GDPR", "FCRA", "FCRA", None]
DEVICE_TYPES = [
    ("android", "Pixel 8", "14"),
    ("android", "Galaxy S24", "14"),
    ("ios", "iPhone 15", "17.4"),
    ("ios", "iPhone 14", "16.7"),
]
REGIONS = ["us-east", "us-west", "eu-central", "ap-south"]

APPLICATION_COLUMNS = (
    "id",
    "tenant_id",
    "full_legal_name",
    "ssn_encrypted",
    "annual_income",
    "employment_status",
    "requested_limit",
    "credit_score",
    "email",
    "phone",
    "address",
    "identity_verification",
    "risk_score",
    "fraud_probability",
    "identity_match",
    "decision",
    "confidence",
    "processing_time_ms",
    "model_version",
    "status",
    "created_at",
    "updated_at",
)
DEVICE_COLUMNS = (
    "id",
    "device_id_external",
    "tenant_id",
    "device_type",
    "model",
    "os_version",
    "region",
    "status",
    "last_heartbeat",
    "battery_level",
    "signal_strength",
    "wifi_connected",
    "total_tasks_processed",
    "successful_tasks",
    "failed_tasks",
    "created_at",
    "updated_at",
)
AUDIT_COLUMNS = (
    "id",
    "application_id",
    "tenant_id",
    "event_type",
    "event_category",
    "decision",
    "risk_score",
    "service_name",
    "service_version",
    "environment",
    "regulation",
    "event_data",
    "event_timestamp",
    "created_at",
    "updated_at",
)


MAX_TENANTS = 10_000
MAX_ROWS = 10_000_000  # per table: --applications, --devices, --audit-logs
MAX_MONTHS = 1200
MAX_SEED = 2**63 - 1
ANCHOR_YEARS = 100  # --anchor within this many years of today

DEFAULT_MAX_DEVICES = 100  # the tenants table's defaults
DEFAULT_MAX_APPLICATIONS_PER_MONTH = 10000


@dataclass
class DemoSpec:
    tenants: int = 3
    applications: int = 1000
    devices: int = 50
    audit_logs: int = 2000
    months: int = 36
    random_seed: int = 42
    anchor: dt.datetime | None = None  # newest timestamp; default: today 00:00 UTC

    def check(self) -> None:
        """Refuse counts, months and an anchor out of range, before anything is written."""
        if not 1 <= self.tenants <= MAX_TENANTS:
            raise ConfigError(f"--tenants must be between 1 and {MAX_TENANTS:,}")
        for option, n in (
            ("--applications", self.applications),
            ("--devices", self.devices),
            ("--audit-logs", self.audit_logs),
        ):
            if not 0 <= n <= MAX_ROWS:
                raise ConfigError(f"{option} must be between 0 and {MAX_ROWS:,}")
        if not 1 <= self.months <= MAX_MONTHS:
            raise ConfigError(f"--months must be between 1 and {MAX_MONTHS:,}")
        if not -MAX_SEED <= self.random_seed <= MAX_SEED:
            raise ConfigError("--random-seed must be between -(2**63-1) and 2**63-1")
        if self.anchor is not None:
            check_anchor(self.anchor)
        if self.audit_logs and not self.applications:
            raise ConfigError("audit events belong to applications", "use --applications > 0")


def check_anchor(when: dt.datetime, text: str | None = None) -> dt.datetime:
    """An --anchor with a time zone, within ANCHOR_YEARS years of today."""
    if when.tzinfo is None:
        raise ConfigError("--anchor needs a time zone", "e.g. 2026-11-01T00:00:00+00:00")
    now = dt.datetime.now(dt.UTC)
    span = dt.timedelta(days=365.25 * ANCHOR_YEARS)
    if not now - span <= when <= now + span:
        raise ConfigError(
            f"--anchor {shown(text or when.isoformat())} is more than {ANCHOR_YEARS} years "
            "from today",
            "give a timestamp near today, e.g. 2026-11-01T00:00:00+00:00",
        )
    return when


def parse_anchor(text: str) -> dt.datetime:
    """--anchor: an ISO timestamp with a time zone, within ANCHOR_YEARS years of today."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--anchor {shown(text)!r} is not an ISO timestamp", "e.g. 2026-11-01T00:00:00+00:00"
        ) from None
    return check_anchor(when, text)


@dataclass
class DemoReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class Generator:
    """Deterministic rows for a DemoSpec; encryption is the only non-deterministic step."""

    def __init__(self, spec: DemoSpec, ring: KeyRing) -> None:
        self.spec = spec
        self.ring = ring
        self.rng = random.Random(spec.random_seed)  # noqa: S311  (reproducible fake data)
        self.anchor = spec.anchor or dt.datetime.now(dt.UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self.span = dt.timedelta(days=30.44 * spec.months).total_seconds()
        self.tenant_ids = [self._uuid() for _ in range(spec.tenants)]
        self.oldest = self.anchor - dt.timedelta(seconds=self.span)
        self.applications: list[tuple[uuid.UUID, uuid.UUID, dt.datetime]] = []

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _when(self) -> dt.datetime:
        return self.anchor - dt.timedelta(seconds=self.rng.random() * self.span)

    def tenants(self) -> Iterator[tuple[Any, ...]]:
        for i, tenant_id in enumerate(self.tenant_ids):
            slug = f"demo-{self.spec.random_seed}-{i + 1}"
            yield (
                tenant_id,
                f"Demo Lender {self.spec.random_seed}-{i + 1}",
                slug,
                Jsonb({"currency": "USD", "demo": True}),
                "professional",
                # quotas the generated rows fit whichever tenant they fall to (0022 enforces
                # them), with room to spare so the health check's 90 % warning stays quiet
                max(DEFAULT_MAX_DEVICES, 2 * self.spec.devices),
                max(DEFAULT_MAX_APPLICATIONS_PER_MONTH, 2 * self.spec.applications),
                self.oldest,
                self.oldest,
            )

    def application_rows(self) -> Iterator[tuple[Any, ...]]:
        rng, ring = self.rng, self.ring
        for _ in range(self.spec.applications):
            app_id, tenant_id, created = self._uuid(), rng.choice(self.tenant_ids), self._when()
            self.applications.append((app_id, tenant_id, created))
            first, last = rng.choice(FIRST), rng.choice(LAST)
            ssn = f"{rng.randint(100, 899):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
            city, state = rng.choice(CITIES)
            address = {
                "line1": f"{rng.randint(1, 9999)} {rng.choice(LAST)} St",
                "city": city,
                "state": state,
                "postal_code": f"{rng.randint(10000, 99999)}",
                "country": "US",
            }
            identity = {
                "provider": "plaid",
                "match": round(rng.uniform(70, 100), 2),
                "document": rng.choice(["passport", "drivers_license"]),
            }
            score = rng.randint(300, 850)
            risk = max(0, min(1000, int((850 - score) * 1.6 + rng.gauss(0, 60))))
            decision = "approved" if risk < 350 else "declined" if risk > 650 else "manual_review"
            yield (
                app_id,
                tenant_id,
                f"{first} {last}",
                ring.encrypt(ssn, Context("applications", "ssn_encrypted", app_id, tenant_id)),
                round(rng.uniform(18000, 250000), 2),
                rng.choice(EMPLOYMENT),
                round(rng.uniform(500, 25000), 2),
                score,
                f"{first.lower()}.{last.lower()}.{app_id.hex[:6]}@example.test",
                f"+1555{rng.randint(1000000, 9999999)}",
                Jsonb(
                    encrypt_json(
                        ring, address, Context("applications", "address", app_id, tenant_id)
                    )
                ),
                Jsonb(
                    encrypt_json(
                        ring,
                        identity,
                        Context("applications", "identity_verification", app_id, tenant_id),
                    )
                ),
                risk,
                round(rng.uniform(0, 30), 2),
                round(rng.uniform(70, 100), 2),
                decision,
                round(rng.uniform(60, 99), 2),
                rng.randint(40, 2500),
                "risk-v3",
                decision,
                created,
                created,
            )

    def device_rows(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        for i in range(self.spec.devices):
            dtype, model, os_version = rng.choice(DEVICE_TYPES)
            created = self._when()
            total = rng.randint(0, 5000)
            failed = rng.randint(0, total // 10 if total else 0)
            yield (
                self._uuid(),
                f"demo-{self.spec.random_seed}-device-{i + 1}",
                rng.choice(self.tenant_ids),
                dtype,
                model,
                os_version,
                rng.choice(REGIONS),
                rng.choice(["online", "online", "offline", "busy", "maintenance"]),
                self.anchor - dt.timedelta(seconds=rng.randint(0, 86400)),
                round(rng.uniform(5, 100), 2),
                rng.randint(-110, -40),
                rng.random() < 0.8,
                total,
                total - failed,
                failed,
                created,
                created,
            )

    def audit_rows(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        for _ in range(self.spec.audit_logs):
            app_id, tenant_id, app_created = rng.choice(self.applications)
            event_type, category = rng.choice(EVENTS)
            offset = dt.timedelta(seconds=rng.randint(0, 14 * 86400))
            when = min(app_created + offset, self.anchor)
            yield (
                self._uuid(),
                app_id,
                tenant_id,
                event_type,
                category,
                rng.choice(["approved", "declined", "manual_review"])
                if category == "decision"
                else None,
                rng.randint(0, 1000) if category == "decision" else None,
                rng.choice(["risk-engine", "api-gateway", "review-console", "device-manager"]),
                "3.4.1",
                "demo",
                rng.choice(REGULATIONS),
                Jsonb({"request_id": self._uuid().hex[:16], "latency_ms": rng.randint(5, 900)}),
                when,
                when,
                when,
            )


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    columns: tuple[str, ...],
    rows: Iterator[tuple[Any, ...]],
    total: int,
    progress: ProgressSink,
) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
            if count % 5000 == 0:
                progress(table, count, total)
    progress(table, count, total)
    return count


def seed_demo(
    conn: psycopg.Connection[Any],
    spec: DemoSpec,
    ring: KeyRing,
    on_progress: ProgressSink | None = None,
) -> DemoReport:
    """Insert the demo data in one transaction; conn must be in autocommit mode."""
    require_primary(conn, "pbl seed demo")
    spec.check()
    require_rls_bypass(conn, "pbl seed demo (COPY into tables with row-level security)")
    progress = on_progress or (lambda _t, _d, _n: None)
    gen = Generator(spec, ring)
    started = time.monotonic()
    report = DemoReport()
    clash = conn.execute(queries.load("count_existing_tenants"), {"ids": gen.tenant_ids}).fetchone()
    if clash and clash[0]:
        raise RefusedError(
            f"demo data for --random-seed {spec.random_seed} is already in this database",
            "use another --random-seed",
        )
    with conn.transaction():
        first = gen.oldest.date()
        conn.execute(
            queries.load("ensure_audit_partitions"), {"first": first, "last": gen.anchor.date()}
        )
        report.rows["tenants"] = _copy(
            conn,
            "tenants",
            (
                "id",
                "name",
                "slug",
                "settings",
                "subscription_plan",
                "max_devices",
                "max_applications_per_month",
                "created_at",
                "updated_at",
            ),
            gen.tenants(),
            spec.tenants,
            progress,
        )
        report.rows["applications"] = _copy(
            conn,
            "applications",
            APPLICATION_COLUMNS,
            gen.application_rows(),
            spec.applications,
            progress,
        )
        report.rows["devices"] = _copy(
            conn, "devices", DEVICE_COLUMNS, gen.device_rows(), spec.devices, progress
        )
        report.rows["audit_logs"] = _copy(
            conn, "audit_logs", AUDIT_COLUMNS, gen.audit_rows(), spec.audit_logs, progress
        )
    report.seconds = time.monotonic() - started
    return report


def describe(report: DemoReport) -> str:
    rate = report.total / report.seconds if report.seconds else 0.0
    parts = ", ".join(f"{n} {t}" for t, n in report.rows.items())
    return f"{parts} in {report.seconds:.1f}s ({rate:,.0f} rows/s)"
