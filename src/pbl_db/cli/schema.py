"""`pbl schema check`: what in the live schema stops a planned layout (today: Citus by tenant);
`pbl schema email-scope`: where users' emails are unique."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, render, target

app = typer.Typer(
    help="Checks of the live schema against a planned layout (Citus); schema options."
)


@app.command()
def check(
    citus: Annotated[
        bool,
        typer.Option("--citus", help="Distributing by tenant_id on Citus (docs/scale-out.md)."),
    ] = False,
    schema: Annotated[str, typer.Option("--schema", help="Schema to read.")] = "public",
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """List each constraint, foreign key and trigger that blocks the layout, with its fix.
    Exit 1 when something blocks it (review items alone exit 0)."""
    from pbl_db.citus_check import check as run_check
    from pbl_db.connection import connect
    from pbl_db.errors import ConfigError

    if not citus:
        raise ConfigError("say which layout to check", "pbl schema check --citus")
    with connect(target(database_url)) as conn:
        report = run_check(conn, schema)
    if as_json:
        render(report.as_dict(), as_json=True)
    else:
        render(
            [
                {"layout": "distributed by tenant_id", "tables": ", ".join(report.distributed)},
                {"layout": "reference (on every node)", "tables": ", ".join(report.reference)},
                {"layout": "local (coordinator)", "tables": ", ".join(report.local)},
            ],
            as_json=False,
            title=f"Citus layout of schema {report.schema}",
        )
        render(
            [f.as_dict() for f in report.findings],
            as_json=False,
            title=f"{report.blockers} blocker(s), "
            f"{len(report.findings) - report.blockers} to review",
            columns=[
                ("severity", "severity"),
                ("table", "table"),
                ("name", "what"),
                ("rule", "rule"),
                ("fix", "fix"),
            ],
        )
    if report.blockers:
        raise typer.Exit(1)


@app.command("email-scope")
def email_scope(
    scope: Annotated[
        str | None,
        typer.Argument(help="global (the spec's, default) or tenant; omit to show the current."),
    ] = None,
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    as_json: Json = False,
) -> None:
    """Where users' emails are unique: across all tenants (global) or per tenant
    (docs/schema.md, "Email uniqueness")."""
    from pbl_db import email_scope as core
    from pbl_db.connection import connect

    with connect(target(database_url)) as conn:
        if scope is None:
            render({"scope": core.current_scope(conn)}, as_json=as_json, title="users email scope")
            return
        change = core.set_scope(conn, scope, dry_run=dry_run)
    if as_json:
        render(change.as_dict(), as_json=True)
        return
    if change.was == change.now:
        print(f"users' emails are already unique {_where(change.now)}; nothing to change")
    elif change.dry_run:
        print(
            f"dry run: would make users' emails unique {_where(change.now)} "
            f"(now {_where(change.was)}); nothing changed"
        )
    else:
        print(f"users' emails are now unique {_where(change.now)} (were {_where(change.was)})")


def _where(scope: str) -> str:
    return "across tenants" if scope == "global" else "per tenant"
