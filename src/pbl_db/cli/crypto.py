"""`pbl crypto`: keys, field encryption, password hashes, key rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, Progress, read_secret, render, say, target

if TYPE_CHECKING:
    from pbl_db.crypto.cipher import Context
    from pbl_db.crypto.fields import Field

app = typer.Typer(help="Field encryption keys, encrypt/decrypt, password hashes, key rotation.")

KeyFile = Annotated[
    str | None,
    typer.Option(
        "--key-file", help="Key file (mode 0600); else PBL_KEY_FILE / PBL_ENCRYPTION_KEYS."
    ),
]
Table = Annotated[str, typer.Option("--table", help="Table the value lives in.")]
Column = Annotated[str, typer.Option("--column", help="Column the value lives in.")]
RowId = Annotated[str, typer.Option("--row-id", help="id of the row.")]
TenantId = Annotated[str, typer.Option("--tenant-id", help="tenant_id of the row.")]
AsJsonValue = Annotated[
    bool, typer.Option("--json-value", help="The value is JSON (a PII JSONB column).")
]


@app.command()
def keygen(
    key_id: Annotated[
        str | None, typer.Option("--id", help="Key id (default k<date><hex>).")
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Add the key to this key file (created 0600).")
    ] = None,
    activate: Annotated[
        bool, typer.Option("--activate/--no-activate", help="Make it the active key.")
    ] = True,
) -> None:
    """Make a new AES-256 key: print 'id:base64' or add it to a key file."""
    from pbl_db import pathcheck
    from pbl_db.crypto import keys
    from pbl_db.crypto.cipher import KEY_ID, KeyRing
    from pbl_db.errors import ConfigError, shown

    if key_id is not None and not KEY_ID.fullmatch(key_id):
        # never echoed: a key pasted in the id's place would land in the logs
        raise ConfigError("--id is not a valid key id", "ids are 1-32 letters, digits, '-' or '_'")
    path = None if out is None else pathcheck.output_file(out, "--out")
    kid = key_id or keys.new_key_id()
    key = keys.generate_key()
    KeyRing({kid: key}, kid)
    if path is None:
        typer.echo(f"{kid}:{keys.encode_key(key)}")
        return
    existing, active = keys.read_key_file(path) if path.exists() else ({}, kid)
    if kid in existing:
        raise ConfigError(f"key id {kid} is already in {shown(path)}", "pick another --id")
    existing[kid] = key
    keys.write_key_file(path, existing, kid if activate else active)
    say(f"added key {kid} to {shown(path)}{' (active)' if activate else ''}")


@app.command("dev-key")
def dev_key() -> None:
    """Print the public development seed key (PBL_ENCRYPTION_KEYS form); refused in production."""
    from pbl_db.connection import is_production
    from pbl_db.crypto import keys
    from pbl_db.errors import RefusedError

    if is_production():
        raise RefusedError("PBL_ENV=production: the development seed key is not for production")
    typer.echo(f"{keys.DEV_SEED_KEY_ID}:{keys.encode_key(keys.DEV_SEED_KEY)}")


def _where(
    table: str, column: str, row_id: str, tenant_id: str, *, json_value: bool | None = None
) -> tuple[Field, Context]:
    """The field and context the options name, checked before any key or input is read."""
    import uuid

    from pbl_db.crypto.cipher import Context
    from pbl_db.crypto.fields import lookup
    from pbl_db.errors import ConfigError

    found = lookup(table, column)
    ids = []
    for option, value, column in (
        ("--row-id", row_id, "id"),
        ("--tenant-id", tenant_id, "tenant_id"),
    ):
        try:
            ids.append(uuid.UUID(value.strip()))
        except ValueError:
            raise ConfigError(
                f"{option} is not a UUID", f"give the row's {column} column, e.g. {uuid.uuid4()}"
            ) from None
    name = f"{found.table}.{found.column}"
    if json_value is not None and json_value != (found.kind == "json"):
        raise ConfigError(
            f"{name} holds JSON: --json-value is required"
            if found.kind == "json"
            else f"{name} holds text, not JSON",
            "add --json-value" if found.kind == "json" else "leave out --json-value",
        )
    return found, Context(found.table, found.column, ids[0], ids[1])


@app.command()
def encrypt(
    table: Table,
    column: Column,
    row_id: RowId,
    tenant_id: TenantId,
    json_value: AsJsonValue = False,
    key_file: KeyFile = None,
) -> None:
    """Encrypt a value read from stdin (or a hidden prompt) for one field of one row."""
    from pbl_db.crypto.fields import encrypt_json, parse_json_value
    from pbl_db.crypto.keys import load_keyring

    _, ctx = _where(table, column, row_id, tenant_id, json_value=json_value)
    ring = load_keyring(key_file)
    value = read_secret("Value")  # refuses NUL and bytes that are not UTF-8: text cannot hold them
    if json_value:
        typer.echo(json.dumps(encrypt_json(ring, parse_json_value(value), ctx)))
    else:
        typer.echo(ring.encrypt(value, ctx))


@app.command()
def decrypt(
    table: Table,
    column: Column,
    row_id: RowId,
    tenant_id: TenantId,
    key_file: KeyFile = None,
) -> None:
    """Decrypt a token (or a {"pbl_encrypted": ...} JSON wrapper) read from stdin."""
    from pbl_db.crypto.cipher import TOKEN
    from pbl_db.crypto.fields import WRAPPER, decrypt_json
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.errors import ConfigError

    found, ctx = _where(table, column, row_id, tenant_id)
    ring = load_keyring(key_file)
    value = read_secret("Token").strip()
    name = f"{found.table}.{found.column}"
    if found.kind == "json":
        if not value.startswith("{"):
            raise ConfigError(
                f"{name} holds a JSON wrapper", f'give it as stored: {{"{WRAPPER}": "pbl:v1:..."}}'
            )
        try:
            wrapper = json.loads(value)
        except (ValueError, RecursionError):
            raise ConfigError(
                "the input is not valid JSON", f'give the wrapper as stored: {{"{WRAPPER}": ...}}'
            ) from None
        typer.echo(json.dumps(decrypt_json(ring, wrapper, ctx)))
        return
    if value.startswith("{"):
        raise ConfigError(f"{name} holds a text token, not a JSON wrapper", "give the token")
    if not TOKEN.fullmatch(value):
        raise ConfigError(
            "the input is not a pbl encrypted token", "expected pbl:v1:<key id>:<data>"
        )
    typer.echo(ring.decrypt_text(value, ctx))


@app.command("hash-password")
def hash_password() -> None:
    """Hash a password read from stdin (or a hidden prompt) as an argon2id PHC string."""
    from pbl_db.passwords import hash_password as make_hash

    typer.echo(make_hash(read_secret("Password", confirm=True)))


_USAGE_COLUMNS = [
    ("table", "table"),
    ("column", "column"),
    ("key_id", "key id"),
    ("values", "values"),
    ("active", "active"),
]


@app.command("key-usage")
def key_usage(
    database_url: DatabaseUrl = None, key_file: KeyFile = None, as_json: Json = False
) -> None:
    """How many encrypted values each key id protects, per field."""
    from dataclasses import asdict

    from pbl_db.connection import connect
    from pbl_db.crypto.rotate import key_usage as usage
    from pbl_db.tenant import require_rls_bypass

    active = _active_or_none(key_file)
    with connect(target(database_url)) as conn:
        require_rls_bypass(conn, "counting key usage")  # else the counts would be partial
        rows = [{**asdict(u), "active": u.key_id == active} for u in usage(conn)]
    render(rows, as_json=as_json, columns=_USAGE_COLUMNS)


def _active_or_none(key_file: str | None) -> str | None:
    """The active key id when keys are configured (--key-file, PBL_KEY_FILE or
    PBL_ENCRYPTION_KEYS), else None; keys that are configured but unusable are an error."""
    import os

    from pbl_db.crypto.keys import load_keyring

    if key_file is None and not (
        os.environ.get("PBL_KEY_FILE") or os.environ.get("PBL_ENCRYPTION_KEYS")
    ):
        return None
    return load_keyring(key_file).active


@app.command()
def rotate(
    dry_run: DryRun = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1_000_000, help="Rows per transaction.")
    ] = 5000,
    database_url: DatabaseUrl = None,
    key_file: KeyFile = None,
    as_json: Json = False,
) -> None:
    """Re-encrypt every value not under the active key, in short batches; resumable."""
    from dataclasses import asdict

    from pbl_db.connection import connect
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.crypto.rotate import check_batch_size, count_to_rotate, key_usage
    from pbl_db.crypto.rotate import rotate as run_rotation
    from pbl_db.replica import require_primary
    from pbl_db.tenant import require_rls_bypass

    check_batch_size(batch_size)  # dry run or not
    ring = load_keyring(key_file)
    resolved = target(database_url)
    with connect(resolved) as conn:
        require_primary(conn, "pbl crypto rotate")
        if dry_run:
            require_rls_bypass(conn, "key rotation")
            rows = [{**asdict(u), "active": u.key_id == ring.active} for u in key_usage(conn)]
            pending = count_to_rotate(conn, ring.active)
            if as_json:
                render(
                    {"active_key": ring.active, "rows_to_rotate": pending, "usage": rows},
                    as_json=True,
                )
            else:
                render(rows, as_json=False, columns=_USAGE_COLUMNS)
                typer.echo(f"would re-encrypt {pending} row(s) under {ring.active}")
            return
        say(f"re-encrypting under key {ring.active}")
        with connect(resolved) as writer, Progress("re-encrypting") as progress:
            report = run_rotation(
                conn, ring, batch_size=batch_size, on_progress=progress, writer_conn=writer
            )
    if as_json:
        render(asdict(report), as_json=True)
    else:
        rotated = sum(report.values_rotated.values())
        typer.echo(
            f"re-encrypted {rotated} value(s) in {report.rows_updated} row(s) under "
            f"{report.active_key} in {report.seconds:.1f}s; {report.changed_concurrently} row(s) "
            f"changed meanwhile (left for the next run); {len(report.failures)} failure(s)"
        )
        for failure in report.failures[:50]:
            where = f"{failure.table}.{failure.column} of {failure.row_id}"
            typer.echo(f"  cannot re-encrypt {where}: {failure.reason}", err=True)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def retire(
    key_id: Annotated[str, typer.Argument(help="The key id to remove from the key file.")],
    key_file: Annotated[str, typer.Option("--key-file", help="The key file to edit.")],
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a key from the key file; refused while any value still uses it."""
    from pbl_db.connection import connect
    from pbl_db.crypto import keys
    from pbl_db.crypto.cipher import KEY_ID
    from pbl_db.crypto.rotate import key_usage
    from pbl_db.errors import ConfigError, RefusedError, shown
    from pbl_db.tenant import require_rls_bypass

    if not KEY_ID.fullmatch(key_id):
        # never echoed: a key pasted in the id's place would land in the logs
        raise ConfigError(
            "KEY_ID is not a valid key id", "ids are 1-32 letters, digits, '-' or '_'"
        )
    if not key_file:
        raise ConfigError("--key-file is empty", "give the key file to edit")
    path = Path(key_file)
    ring_keys, active = keys.read_key_file(path)
    if key_id not in ring_keys:
        raise ConfigError(f"key {key_id} is not in {shown(path)}", "check the key id")
    if key_id == active:
        raise RefusedError(f"key {key_id} is the active key", "activate another key first")
    with connect(target(database_url)) as conn:
        require_rls_bypass(conn, "checking key usage")
        used = [u for u in key_usage(conn) if u.key_id == key_id]
    if used:
        where = ", ".join(f"{u.values} in {u.table}.{u.column}" for u in used)
        raise RefusedError(
            f"key {key_id} still protects values: {where}", "run 'pbl crypto rotate' first"
        )
    if dry_run:
        typer.echo(f"would remove key {key_id} from {shown(path)}: no value uses it")
        return
    del ring_keys[key_id]
    keys.write_key_file(path, ring_keys, active)
    typer.echo(f"removed key {key_id} from {shown(path)}")
