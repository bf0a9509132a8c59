"""`pbl tenants`: create, list, show, update, suspend, resume, usage (quota against use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, render_change, say, target

if TYPE_CHECKING:
    from pbl_db.admin.tenants import TenantChange

app = typer.Typer(
    help="Tenants: create, list, show, update plan and quotas, suspend, resume, usage."
)

TenantRef = Annotated[str, typer.Argument(help="The tenant's slug or id.", show_default=False)]
Name = Annotated[str | None, typer.Option("--name", help="Display name.", show_default=False)]
Plan = Annotated[
    str | None,
    typer.Option(
        "--plan", help="free, basic, professional or enterprise (a label: quotas are set apart).",
        show_default=False,
    ),
]  # fmt: skip
Domain = Annotated[str | None, typer.Option("--domain", show_default=False)]
BillingEmail = Annotated[str | None, typer.Option("--billing-email", show_default=False)]
MaxUsers = Annotated[
    int | None, typer.Option("--max-users", help="Live users allowed.", show_default=False)
]
MaxDevices = Annotated[
    int | None, typer.Option("--max-devices", help="Live devices allowed.", show_default=False)
]
MaxApplications = Annotated[
    int | None,
    typer.Option(
        "--max-applications-per-month",
        help="Applications allowed per UTC calendar month.",
        show_default=False,
    ),
]

LIST_COLUMNS = [
    ("slug", "slug"),
    ("name", "name"),
    ("plan", "plan"),
    ("status", "status"),
    ("users", "users"),
    ("devices", "devices"),
    ("applications_this_month", "applications this month"),
]
USAGE_COLUMNS = [
    ("tenant", "tenant"),
    ("quota", "quota"),
    ("used", "used"),
    ("limit", "limit"),
    ("percent", "%"),
]


def _quotas(users: int | None, devices: int | None, applications: int | None) -> dict[str, int]:
    given = {"max_users": users, "max_devices": devices, "max_applications_per_month": applications}
    return {k: v for k, v in given.items() if v is not None}


def _connect(database_url: str | None, *, write: str | None = None) -> Any:
    from pbl_db.connection import connect

    conn = connect(target(database_url))
    if write:
        from pbl_db.replica import require_primary

        try:
            require_primary(conn, write)
        except BaseException:
            conn.close()
            raise
    return conn


def _report(change: TenantChange, as_json: bool) -> None:
    render_change(
        change.as_dict(), as_json=as_json, subject=f"tenant {change.tenant.slug}",
        action=change.action, changes=change.changes, warnings=change.warnings,
        dry_run=change.dry_run, event_id=change.event_id,
    )  # fmt: skip


@app.command()
def create(
    slug: Annotated[str, typer.Option("--slug", help="Lowercase letters, digits, hyphens.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    plan: Plan = None,
    domain: Domain = None,
    billing_email: BillingEmail = None,
    max_users: MaxUsers = None,
    max_devices: MaxDevices = None,
    max_applications_per_month: MaxApplications = None,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A new tenant (quotas not given take the schema's defaults)."""
    from pbl_db.admin.tenants import create_tenant

    with _connect(database_url, write="pbl tenants create") as conn:
        change = create_tenant(
            conn, name=name, slug=slug, plan=plan, domain=domain, billing_email=billing_email,
            quotas=_quotas(max_users, max_devices, max_applications_per_month), dry_run=dry_run,
        )  # fmt: skip
    _report(change, as_json)


@app.command("list")
def list_cmd(
    include_deleted: Annotated[
        bool, typer.Option("--all", help="Soft-deleted tenants too.")
    ] = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Every tenant with its plan, status and this month's usage."""
    from pbl_db.admin.tenants import list_tenants

    with _connect(database_url) as conn:
        tenants = list_tenants(conn, include_deleted=include_deleted)
    rows = [t.as_dict() for t in tenants]
    render(rows, as_json=as_json, columns=LIST_COLUMNS, title="tenants")


@app.command()
def show(tenant: TenantRef, as_json: Json = False, database_url: DatabaseUrl = None) -> None:
    """One tenant: details, quotas and what it uses of them."""
    from pbl_db.admin.tenants import get_tenant

    with _connect(database_url) as conn:
        info = get_tenant(conn, tenant)
    if as_json:
        render({**info.as_dict(), "usage": [u.as_dict() for u in info.usage()]}, as_json=True)
        return
    details = info.as_dict()
    keys = ("id", "slug", "name", "status", "plan", "domain", "billing_email", "created_at")
    render(
        [{"field": k, "value": details[k]} for k in keys],
        as_json=False,
        columns=[("field", "field"), ("value", "value")],
        title=f"tenant {info.slug}",
    )
    render([u.as_dict() for u in info.usage()], as_json=False, columns=USAGE_COLUMNS)


@app.command()
def update(
    tenant: TenantRef,
    name: Name = None,
    plan: Plan = None,
    domain: Domain = None,
    billing_email: BillingEmail = None,
    max_users: MaxUsers = None,
    max_devices: MaxDevices = None,
    max_applications_per_month: MaxApplications = None,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Change details, plan or quotas. A quota lowered below use keeps the rows, refuses new."""
    from pbl_db.admin.tenants import update_tenant

    with _connect(database_url, write="pbl tenants update") as conn:
        change = update_tenant(
            conn, tenant, name=name, plan=plan, domain=domain, billing_email=billing_email,
            quotas=_quotas(max_users, max_devices, max_applications_per_month), dry_run=dry_run,
        )  # fmt: skip
    _report(change, as_json)


@app.command()
def suspend(
    tenant: TenantRef,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why (kept in the audit event).", show_default=False),
    ] = None,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Suspend: the services' sessions may still read the tenant's rows but not write them."""
    from pbl_db.admin.tenants import set_suspended

    with _connect(database_url, write="pbl tenants suspend") as conn:
        change = set_suspended(conn, tenant, True, reason=reason, dry_run=dry_run)
    _report(change, as_json)


@app.command()
def resume(
    tenant: TenantRef, dry_run: DryRun = False, as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:  # fmt: skip
    """Resume a suspended tenant: its services may write again."""
    from pbl_db.admin.tenants import set_suspended

    with _connect(database_url, write="pbl tenants resume") as conn:
        change = set_suspended(conn, tenant, False, dry_run=dry_run)
    _report(change, as_json)


@app.command()
def usage(
    tenant: Annotated[
        str | None, typer.Argument(help="One tenant (default: all).", show_default=False)
    ] = None,
    recount: Annotated[
        bool,
        typer.Option(
            "--recount",
            help="First set the counters to what the rows hold (after writes with triggers off).",
        ),
    ] = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Quota against use this UTC month, per tenant, fullest first."""
    from pbl_db.admin.tenants import recount_usage, tenant_usage

    with _connect(database_url, write="pbl tenants usage --recount" if recount else None) as conn:
        if recount:
            fixed = recount_usage(conn, tenant)
            say(f"recount: {fixed} counter(s) corrected")
        rows = [u.as_dict() for u in tenant_usage(conn, tenant)]
    render(rows, as_json=as_json, columns=USAGE_COLUMNS, title="quota usage (this UTC month)")
