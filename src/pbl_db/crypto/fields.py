"""Which columns hold encrypted values, and helpers to write and read them.

Text columns hold a token; JSONB columns that carry PII hold {"pbl_encrypted": "<token>"}, the
token sealing the canonical JSON of the value (docs/crypto.md lists them and why).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pbl_db.crypto.cipher import Context, DecryptError, KeyRing

WRAPPER = "pbl_encrypted"


@dataclass(frozen=True)
class Field:
    table: str
    column: str
    kind: str  # "text" or "json"


ENCRYPTED_FIELDS: tuple[Field, ...] = (
    Field("applications", "ssn_encrypted", "text"),
    Field("applications", "address", "json"),
    Field("applications", "identity_verification", "json"),
    Field("applications", "credit_report", "json"),
    Field("applications", "kyc_documents", "json"),
    Field("users", "mfa_secret", "text"),
)


def fields_of(table: str) -> list[Field]:
    return [f for f in ENCRYPTED_FIELDS if f.table == table]


def encrypt_json(ring: KeyRing, value: Any, context: Context) -> dict[str, str]:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return {WRAPPER: ring.encrypt(text, context)}


def token_of(wrapper: object) -> str:
    if not isinstance(wrapper, Mapping) or set(wrapper) != {WRAPPER}:
        raise DecryptError(f"JSON value is not a {{{WRAPPER!r}: token}} wrapper")
    token = wrapper[WRAPPER]
    if not isinstance(token, str):
        raise DecryptError(f"{WRAPPER} must hold a string token")
    return token


def decrypt_json(ring: KeyRing, wrapper: object, context: Context) -> Any:
    return json.loads(ring.decrypt_text(token_of(wrapper), context))


def _map_fields(
    table: str,
    row: Mapping[str, Any],
    text: Callable[[Any, Context], Any],
    json_value: Callable[[Any, Context], Any],
) -> dict[str, Any]:
    out = dict(row)
    for field in fields_of(table):
        value = row.get(field.column)
        if value is not None:
            ctx = Context(table, field.column, row["id"], row["tenant_id"])
            out[field.column] = (text if field.kind == "text" else json_value)(value, ctx)
    return out


def encrypt_row(ring: KeyRing, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of row (with id and tenant_id) whose encrypted fields are sealed for storage."""
    return _map_fields(
        table, row, lambda v, c: ring.encrypt(str(v), c), lambda v, c: encrypt_json(ring, v, c)
    )


def decrypt_row(ring: KeyRing, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a stored row with its encrypted fields opened."""
    return _map_fields(table, row, ring.decrypt_text, lambda v, c: decrypt_json(ring, v, c))
