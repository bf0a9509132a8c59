"""pbl gdpr: GDPR: export and erase a data subject."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, say, target

if TYPE_CHECKING:
    import psycopg

    from pbl_db.crypto.cipher import KeyRing
    from pbl_db.stats import Tenant

app = typer.Typer(help="GDPR: export and erase a data subject.")

Email = Annotated[
    str | None,
    typer.Option(
        "--email", help="The data subject's email address (case-insensitive).", show_default=False
    ),
]
ApplicationId = Annotated[
    str | None,
    typer.Option("--application-id", help="The data subject's application id.", show_default=False),
]
TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="Only this tenant (slug or id). Required for a role subject to row-level security.",
        show_default=False,
    ),
]
KeyFile = Annotated[
    str | None,
    typer.Option(
        "--key-file", help="Key file (mode 0600); else PBL_KEY_FILE / PBL_ENCRYPTION_KEYS."
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _ring(key_file: str | None) -> KeyRing | None:
    """The key ring when one is configured; None when none is (needed only for encrypted rows)."""
    import os

    from pbl_db.crypto.keys import load_keyring

    if (
        key_file is not None
        or os.environ.get("PBL_KEY_FILE")
        or os.environ.get("PBL_ENCRYPTION_KEYS")
    ):
        return load_keyring(key_file)
    return None


def _tenant(conn: psycopg.Connection[object], value: str | None) -> Tenant | None:
    from pbl_db.stats import resolve_tenant

    return resolve_tenant(conn, value) if value else None


@app.command("export")
def export_cmd(
    email: Email = None,
    application_id: ApplicationId = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", help="Write the JSON here (mode 0600); default stdout.", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing --out file (it may hold personal data)."),
    ] = False,
    tenant: TenantOpt = None,
    key_file: KeyFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every row of a data subject across tables, PII decrypted, as JSON (data portability)."""
    import json

    from pbl_db.connection import connect
    from pbl_db.errors import shown
    from pbl_db.gdpr import Subject, check_out, export

    subject = Subject.of(email, application_id)
    path = None if out is None else check_out(out, force=force)  # before anything is read
    ring = _ring(key_file)
    with connect(target(database_url)) as conn:
        document = export(conn, subject, ring, tenant=_tenant(conn, tenant), tenant_label=tenant)
    counts = ", ".join(f"{n} {table}" for table, n in document["header"]["counts"].items())
    if path is None:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        from pbl_db.gdpr import write_export

        write_export(document, path, replace=force)
        say(f"wrote {shown(path)} (mode 0600)")
    say(f"exported {subject.describe()}: {counts}")


@app.command()
def erase(
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why (e.g. the request's ticket); stored in the audit event: no personal data.",
        ),
    ],
    email: Email = None,
    application_id: ApplicationId = None,
    tenant: TenantOpt = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    key_file: KeyFile = None,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Soft-delete and anonymize a data subject's users and applications (one transaction);
    audit events are kept and a gdpr.erase event is recorded. Refused under a legal hold."""
    from pbl_db.connection import connect
    from pbl_db.errors import RefusedError
    from pbl_db.gdpr import Subject, check_reason, plan_erase, refuse_holds, require_ring
    from pbl_db.gdpr import erase as run_erase
    from pbl_db.replica import require_primary

    subject = Subject.of(email, application_id)
    why = check_reason(reason)
    ring = _ring(key_file)
    with connect(target(database_url)) as conn:
        require_primary(conn, "pbl gdpr erase")
        scope = _tenant(conn, tenant)
        plan = plan_erase(conn, subject, scope)
        if plan.found and not as_json:
            render(
                plan.rows(),
                as_json=False,
                columns=[
                    ("tenant", "tenant"),
                    ("table", "table"),
                    ("to_erase", "to erase"),
                    ("already_erased", "erased before"),
                    ("kept", "kept"),
                    ("action", "action"),
                ],
                title=f"GDPR erase of {subject.describe()}{' (dry run)' if dry_run else ''}",
            )
        refuse_holds(plan)
        if dry_run or not plan.pending:
            if as_json:
                render({"dry_run": dry_run, "changed": 0, "plan": plan.rows()}, as_json=True)
            if not plan.found:
                say(f"no rows of {subject.describe()} found: nothing to erase")
            elif not plan.pending:
                say(f"{subject.describe()} is already erased: nothing changed")
            else:
                say(f"dry run: {plan.pending} row(s) would be erased; nothing changed")
            return
        require_ring(plan, ring)
        say(f"will erase {plan.pending} row(s) of {subject.describe()}")
        if not yes:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "erase needs confirmation and stdin is not a terminal; nothing was erased",
                    "pass --yes",
                )
            if not typer.confirm("Erase? This cannot be undone", default=False):
                raise RefusedError("not confirmed; nothing was erased", "answer y or pass --yes")
        result = run_erase(conn, subject, why, ring, tenant=scope, expected=plan)
    if as_json:
        render(
            {
                "dry_run": False,
                "changed": result.changed,
                "users": result.users,
                "applications": result.applications,
                "audit_events": result.events,
                "plan": plan.rows(),
            },
            as_json=True,
        )
    say(
        f"erased {result.applications} application(s) and {result.users} user(s) of "
        f"{subject.describe()}; {len(result.events)} audit event(s) recorded"
    )
