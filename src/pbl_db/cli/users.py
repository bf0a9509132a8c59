"""`pbl users`: a tenant's users: create, list, show, lock, unlock, set-role, reset-password,
enable-mfa, disable-mfa. Passwords only from stdin or a hidden prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, read_secret, render, render_change
from pbl_db.cli.tenants import _connect

if TYPE_CHECKING:
    from pbl_db.admin.users import UserChange

app = typer.Typer(
    help="A tenant's users: create, list, show, lock, unlock, set-role, reset-password, MFA."
)

Tenant = Annotated[str, typer.Option("--tenant", help="The tenant's slug or id.")]
UserRef = Annotated[str, typer.Argument(help="The user's email or id.", show_default=False)]

LIST_COLUMNS = [
    ("email", "email"),
    ("role", "role"),
    ("is_active", "active"),
    ("locked", "locked"),
    ("mfa_enabled", "mfa"),
    ("failed_login_attempts", "failures"),
    ("last_login_at", "last login"),
    ("id", "id"),
]


def _report(change: UserChange, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    render_change(
        {**change.as_dict(), **(extra or {})}, as_json=as_json,
        subject=f"{change.user.email} ({change.tenant})", action=change.action,
        changes=change.changes, warnings=change.warnings, dry_run=change.dry_run,
        event_id=change.event_id,
    )  # fmt: skip


@app.command()
def create(
    tenant: Tenant,
    email: Annotated[str, typer.Option("--email")],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="owner, admin, manager, reviewer, analyst, auditor, user or service."
        ),
    ] = "user",
    first_name: Annotated[str | None, typer.Option("--first-name", show_default=False)] = None,
    last_name: Annotated[str | None, typer.Option("--last-name", show_default=False)] = None,
    verified: Annotated[bool, typer.Option("--verified", help="Email already verified.")] = False,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A new user; the password comes from stdin or a hidden prompt (argon2id-hashed). The
    tenant's max_users quota applies."""
    from pbl_db.admin.users import _check_email, _check_role, create_user
    from pbl_db.errors import ConfigError
    from pbl_db.stats import resolve_tenant

    # everything that can be wrong is checked before the password is read or asked for
    _check_email(email)
    _check_role(role)
    for label, value in (("--first-name", first_name), ("--last-name", last_name)):
        if value is not None and len(value) > 100:
            raise ConfigError(f"{label} is longer than 100 characters")
    with _connect(database_url, write="pbl users create") as conn:
        resolve_tenant(conn, tenant)
        password = read_secret("Password", confirm=True)
        change = create_user(
            conn, tenant, email=email, password=password, role=role, first_name=first_name,
            last_name=last_name, verified=verified, dry_run=dry_run,
        )  # fmt: skip
    _report(change, as_json)


@app.command("list")
def list_cmd(
    tenant: Tenant,
    include_deleted: Annotated[bool, typer.Option("--all", help="Soft-deleted users too.")] = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The tenant's users with role, lock and MFA state (never hashes or secrets)."""
    from pbl_db.admin.users import list_users

    with _connect(database_url) as conn:
        users = list_users(conn, tenant, include_deleted=include_deleted)
    render([u.as_dict() for u in users], as_json=as_json, columns=LIST_COLUMNS, title="users")


@app.command()
def show(
    tenant: Tenant, user: UserRef, as_json: Json = False, database_url: DatabaseUrl = None
) -> None:
    """One user of the tenant."""
    from pbl_db.admin.users import get_user

    with _connect(database_url) as conn:
        info = get_user(conn, tenant, user)
    details = info.as_dict()
    if as_json:
        render(details, as_json=True)
        return
    render([{"field": k, "value": v} for k, v in details.items()], as_json=False,
           columns=[("field", "field"), ("value", "value")], title=info.email)  # fmt: skip


@app.command()
def lock(
    tenant: Tenant,
    user: UserRef,
    duration: Annotated[
        str | None,
        typer.Option(
            "--for",
            help="How long, e.g. 30min, 12h, 7d (default: until unlocked).",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Lock the user out: no login (pbl_record_login_success refuses) until the time or unlock."""
    from pbl_db.admin.users import MAX_LOCK, lock_user
    from pbl_db.retention import parse_duration

    span = parse_duration(duration, "--for", MAX_LOCK) if duration is not None else None
    with _connect(database_url, write="pbl users lock") as conn:
        change = lock_user(conn, tenant, user, duration=span, dry_run=dry_run)
    _report(change, as_json)


@app.command()
def unlock(
    tenant: Tenant, user: UserRef, dry_run: DryRun = False, as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:  # fmt: skip
    """Lift a lock (set by pbl or by failed logins) and clear the failure count."""
    from pbl_db.admin.users import unlock_user

    with _connect(database_url, write="pbl users unlock") as conn:
        change = unlock_user(conn, tenant, user, dry_run=dry_run)
    _report(change, as_json)


@app.command("set-role")
def set_role_cmd(
    tenant: Tenant,
    user: UserRef,
    role: Annotated[str, typer.Argument(help="The new role.", show_default=False)],
    force: Annotated[
        bool, typer.Option("--force", help="Even if it removes the tenant's last owner.")
    ] = False,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Change the user's role (refuses to remove the tenant's last active owner)."""
    from pbl_db.admin.users import set_role

    with _connect(database_url, write="pbl users set-role") as conn:
        change = set_role(conn, tenant, user, role, force=force, dry_run=dry_run)
    _report(change, as_json)


@app.command("reset-password")
def reset_password_cmd(
    tenant: Tenant,
    user: UserRef,
    generate: Annotated[
        bool,
        typer.Option("--generate", help="Make a temporary password and print it once."),
    ] = False,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a temporary password (stdin, a hidden prompt, or --generate) and require a change at
    the next login (users.password_change_required)."""
    from pbl_db.admin.users import generate_password, reset_password

    password = generate_password() if generate else read_secret("Temporary password", confirm=True)
    with _connect(database_url, write="pbl users reset-password") as conn:
        change = reset_password(conn, tenant, user, password, dry_run=dry_run)
    shown = {"temporary_password": password} if generate and not dry_run else {}
    _report(change, as_json, shown)
    if shown and not as_json:
        typer.echo(f"temporary password (shown once): {password}")


@app.command("enable-mfa")
def enable_mfa_cmd(
    tenant: Tenant,
    user: UserRef,
    replace: Annotated[
        bool, typer.Option("--replace", help="Enrol a new secret over an existing one.")
    ] = False,
    key_file: Annotated[
        str | None,
        typer.Option(
            "--key-file",
            help="Key file (mode 0600); else PBL_KEY_FILE / PBL_ENCRYPTION_KEYS.",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRun = False,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Enrol a new TOTP secret, stored encrypted (users.mfa_secret); it is printed once, here,
    for the person enrolling."""
    from pbl_db.admin.users import enable_mfa
    from pbl_db.crypto.keys import load_keyring

    ring = load_keyring(key_file)
    with _connect(database_url, write="pbl users enable-mfa") as conn:
        enrolment = enable_mfa(conn, ring, tenant, user, replace=replace, dry_run=dry_run)
    if as_json:
        render(enrolment.as_dict(), as_json=True)
        return
    _report(enrolment.change, False)
    if not dry_run:
        typer.echo(f"secret (shown once): {enrolment.secret}")
        typer.echo(f"authenticator URI: {enrolment.uri}")


@app.command("disable-mfa")
def disable_mfa_cmd(
    tenant: Tenant, user: UserRef, dry_run: DryRun = False, as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:  # fmt: skip
    """Remove the user's MFA (the secret is cleared)."""
    from pbl_db.admin.users import disable_mfa

    with _connect(database_url, write="pbl users disable-mfa") as conn:
        change = disable_mfa(conn, tenant, user, dry_run=dry_run)
    _report(change, as_json)
