"""AES-256-GCM field encryption with a self-describing token format.

Token: ``pbl:v1:<key id>:<base64url(nonce || ciphertext || tag)>`` (no padding). The key id picks
the key; the associated data binds the value to where it lives (table, column, row id, tenant
id) and to its own version and key id, so a token copied to another row, column or tenant, or
relabelled with another key id, fails to open.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbl_db.errors import ConfigError, OperationFailed, shown

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pbl"
VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
TOKEN = re.compile(r"pbl:(v[0-9]+):([A-Za-z0-9_-]{1,32}):([A-Za-z0-9_-]+)")


class DecryptError(OperationFailed):
    """A token that cannot be opened: wrong format, version, key, or a tampered/moved value."""


def _canonical_id(value: object) -> str:
    """A UUID in its canonical lower-case form, whatever spelling it came in; others as-is."""
    if value is None:
        raise ValueError("row id and tenant id are required to bind an encrypted value")
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    if len(text) == 36 and text == text.lower():
        return text  # canonical already, or not a UUID at all: used as it is either way
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


@dataclass(frozen=True)
class Context:
    """Where a value lives; becomes the AES-GCM associated data."""

    table: str
    column: str
    row_id: object
    tenant_id: object

    def __post_init__(self) -> None:
        parts = (self.table, self.column, _canonical_id(self.row_id), _canonical_id(self.tenant_id))
        # length-prefixed, so no two different contexts can encode alike
        object.__setattr__(self, "_tail", "".join(f"{len(p)}:{p};" for p in parts))

    def describe(self) -> str:
        """How errors name the context (each part clipped: they may come from argv)."""
        row, tenant = (shown(_canonical_id(v), 40) for v in (self.row_id, self.tenant_id))
        return f"{shown(self.table, 40)}.{shown(self.column, 40)} of row {row}, tenant {tenant}"

    def aad(self, key_id: str) -> bytes:
        tail: str = self._tail  # type: ignore[attr-defined]
        return f"{PREFIX};{VERSION};{len(key_id)}:{key_id};{tail}".encode()


def parse_token(token: str) -> tuple[str, str, bytes]:
    """(version, key id, nonce+ciphertext) of a token; DecryptError if it is not one."""
    match = TOKEN.fullmatch(token)
    if not match:
        raise DecryptError("value is not a pbl encrypted token (expected pbl:v1:<key id>:<data>)")
    version, key_id, body = match.groups()
    if version != VERSION:
        raise DecryptError(f"unsupported token version {version}", f"this pbl reads {VERSION}")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise DecryptError("token data is not base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != body:
        raise DecryptError("token data is not canonical base64url")  # one spelling per token
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptError("token data is too short to be AES-GCM output")
    return version, key_id, raw


def key_id_of(token: str) -> str:
    return parse_token(token)[1]


class KeyRing:
    """Keys by id; the active one encrypts, every one decrypts. One AESGCM object per key."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not keys:
            raise ConfigError("the key ring is empty", "add a key: pbl crypto keygen")
        for n, (key_id, key) in enumerate(keys.items(), 1):
            if not KEY_ID.fullmatch(key_id):
                # never echo it: a key pasted in the id's place would land in the logs
                raise ConfigError(
                    f"key ring entry {n} has a malformed key id",
                    "ids are 1-32 letters, digits, '-' or '_' (format id:base64key)",
                )
            if len(key) != KEY_BYTES:
                raise ConfigError(
                    f"key {key_id} is {len(key)} bytes; AES-256 needs {KEY_BYTES}",
                    "make one with: pbl crypto keygen",
                )
        if active not in keys:
            named = f"active key {active}" if KEY_ID.fullmatch(active) else "the active key id"
            raise ConfigError(f"{named} is not in the key ring", "check the key ids")
        self.active = active
        self._keys = dict(keys)
        self._aead: dict[str, AESGCM] = {kid: AESGCM(key) for kid, key in keys.items()}

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def raw_key(self, key_id: str) -> bytes:
        return self._keys[key_id]

    def encrypt(self, plaintext: str | bytes, context: Context) -> str:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self.active].encrypt(nonce, data, context.aad(self.active))
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{PREFIX}:{VERSION}:{self.active}:{body}"

    def decrypt(self, token: str, context: Context) -> bytes:
        from cryptography.exceptions import InvalidTag

        _, key_id, raw = parse_token(token)
        aead = self._aead.get(key_id)
        if aead is None:
            raise DecryptError(
                f"value is encrypted with key {key_id}, which is not in the key ring",
                "add that key (PBL_ENCRYPTION_KEYS or the key file)",
            )
        try:
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.aad(key_id))
        except InvalidTag:
            raise DecryptError(
                f"value does not open for {context.describe()}: the token was tampered with, "
                "moved from another row, column or tenant, or the context is wrong",
                "check the table, column, row id and tenant id it was stored under",
            ) from None

    def reencrypt(self, token: str, context: Context) -> str:
        """The token under the active key (the same token when it already is)."""
        if token.split(":", 3)[2:3] == [self.active] and TOKEN.fullmatch(token):
            return token
        return self.encrypt(self.decrypt(token, context), context)

    def decrypt_text(self, token: str, context: Context) -> str:
        try:
            return self.decrypt(token, context).decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError(
                f"value opens for {context.describe()} but does not decrypt to UTF-8 text",
                "it was not sealed from text (pbl seals text fields as UTF-8)",
            ) from None
