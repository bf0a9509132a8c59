"""`pbl crypto`: keys, field encryption, password hashes, key rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, DryRun, Json, Progress, read_secret, render, say, target

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
    from pbl_db.crypto import keys
    from pbl_db.crypto.cipher import KeyRing
    from pbl_db.errors import ConfigError

    kid = key_id or keys.new_key_id()
    key = keys.generate_key()
    KeyRing({kid: key}, kid)  # validates the id
    if out is None:
        typer.echo(f"{kid}:{keys.encode_key(key)}")
        return
    path = Path(out)
    existing, active = keys.read_key_file(path) if path.exists() else ({}, kid)
    if kid in existing:
        raise ConfigError(f"key id {kid} is already in {path}", "pick another --id")
    existing[kid] = key
    keys.write_key_file(path, existing, kid if activate else active)
    say(f"added key {kid} to {path}{' (active)' if activate else ''}")


@app.command("dev-key")
def dev_key() -> None:
    """Print the public development seed key (PBL_ENCRYPTION_KEYS form); refused in production."""
    from pbl_db.connection import is_production
    from pbl_db.crypto import keys
    from pbl_db.errors import RefusedError

    if is_production():
        raise RefusedError("PBL_ENV=production: the development seed key is not for production")
    typer.echo(f"{keys.DEV_SEED_KEY_ID}:{keys.encode_key(keys.DEV_SEED_KEY)}")


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
    from pbl_db.crypto.cipher import Context
    from pbl_db.crypto.fields import encrypt_json
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.errors import ConfigError

    ring = load_keyring(key_file)
    value = read_secret("Value")
    ctx = Context(table, column, row_id, tenant_id)
    if json_value:
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ConfigError("--json-value given but the input is not JSON") from None
        typer.echo(json.dumps(encrypt_json(ring, parsed, ctx)))
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
    from pbl_db.crypto.cipher import Context
    from pbl_db.crypto.fields import decrypt_json
    from pbl_db.crypto.keys import load_keyring

    ring = load_keyring(key_file)
    value = read_secret("Token").strip()
    ctx = Context(table, column, row_id, tenant_id)
    if value.startswith("{"):
        typer.echo(json.dumps(decrypt_json(ring, json.loads(value), ctx)))
    else:
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
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.errors import ConfigError

    try:
        return load_keyring(key_file).active
    except ConfigError:
        return None


@app.command()
def rotate(
    dry_run: DryRun = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per transaction.")
    ] = 5000,
    database_url: DatabaseUrl = None,
    key_file: KeyFile = None,
    as_json: Json = False,
) -> None:
    """Re-encrypt every value not under the active key, in short batches; resumable."""
    from dataclasses import asdict

    from pbl_db.connection import connect
    from pbl_db.crypto.keys import load_keyring
    from pbl_db.crypto.rotate import count_to_rotate, key_usage
    from pbl_db.crypto.rotate import rotate as run_rotation
    from pbl_db.replica import require_primary
    from pbl_db.tenant import require_rls_bypass

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
    from pbl_db.crypto.rotate import key_usage
    from pbl_db.errors import ConfigError, RefusedError
    from pbl_db.tenant import require_rls_bypass

    path = Path(key_file)
    ring_keys, active = keys.read_key_file(path)
    if key_id not in ring_keys:
        raise ConfigError(f"key {key_id} is not in {path}")
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
        typer.echo(f"would remove key {key_id} from {path}: no value uses it")
        return
    del ring_keys[key_id]
    keys.write_key_file(path, ring_keys, active)
    typer.echo(f"removed key {key_id} from {path}")
