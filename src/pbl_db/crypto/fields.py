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
from pbl_db.errors import ConfigError, shown

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


def lookup(table: str, column: str) -> Field:
    """The encrypted field table.column; ConfigError listing the known ones if it is not one."""
    for f in ENCRYPTED_FIELDS:
        if (f.table, f.column) == (table, column):
            return f
    known = ", ".join(f"{f.table}.{f.column}" for f in ENCRYPTED_FIELDS)
    raise ConfigError(
        f"{shown(table, 40)}.{shown(column, 40)} is not an encrypted field",
        f"the encrypted fields are {known}",
    )


def canonical_json(value: Any) -> str:
    """The text a JSON field seals: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def parse_json_value(text: str) -> Any:
    """A value for a JSON field, parsed from text; ConfigError unless PostgreSQL jsonb can hold
    it: strict JSON (no NaN or Infinity), no NUL (\\u0000), no unpaired surrogate escapes."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ConfigError("the JSON value is nested too deeply", "flatten it") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"the input is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            "give one JSON value",
        ) from None
    except ValueError as exc:  # NaN, Infinity: Python reads them, jsonb does not
        raise ConfigError(f"the input is not JSON ({exc})", "give one JSON value") from None
    try:
        canonical, nul = canonical_json(value), _has_nul(value)
    except RecursionError:
        raise ConfigError("the JSON value is nested too deeply", "flatten it") from None
    if nul:
        raise ConfigError(
            "the JSON value holds a NUL character (\\u0000)", "jsonb cannot store it: remove it"
        )
    try:
        canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            "the JSON value holds an unpaired surrogate escape (\\ud800-\\udfff)",
            "it is not UTF-8 text: remove it",
        ) from None
    return value


def encrypt_json(ring: KeyRing, value: Any, context: Context) -> dict[str, str]:
    return {WRAPPER: ring.encrypt(canonical_json(value), context)}


def token_of(wrapper: object) -> str:
    if not isinstance(wrapper, Mapping) or set(wrapper) != {WRAPPER}:
        raise DecryptError(f"JSON value is not a {{{WRAPPER!r}: token}} wrapper")
    token = wrapper[WRAPPER]
    if not isinstance(token, str):
        raise DecryptError(f"{WRAPPER} must hold a string token")
    return token


def decrypt_json(ring: KeyRing, wrapper: object, context: Context) -> Any:
    text = ring.decrypt_text(token_of(wrapper), context)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise DecryptError(
            f"value opens for {context.describe()} but does not decrypt to JSON",
            "it was not sealed as a JSON field",
        ) from None


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
