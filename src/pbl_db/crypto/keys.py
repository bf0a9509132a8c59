"""Loading the key ring from PBL_ENCRYPTION_KEYS or a 0600 key file; making and storing keys.

PBL_ENCRYPTION_KEYS="id2:<base64 key>,id1:<base64 key>": the first key is active unless
PBL_ENCRYPTION_ACTIVE_KEY names another. Key file (PBL_KEY_FILE or --key-file), mode 0600:
{"active": "id2", "keys": {"id2": "<base64>", "id1": "<base64>"}}.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pbl_db.connection import is_production
from pbl_db.crypto.cipher import KEY_BYTES, KEY_ID, KeyRing
from pbl_db.errors import ConfigError, RefusedError, shown
from pbl_db.files import write_private

# The development seed key: public by design (docs/crypto.md), so seeded demo data can be
# decrypted anywhere. pbl refuses it when PBL_ENV=production.
DEV_SEED_KEY_ID = "dev-seed"
DEV_SEED_KEY = hashlib.sha256(b"pbl development seed key: never use in production").digest()


def dev_seed_keyring() -> KeyRing:
    return KeyRing({DEV_SEED_KEY_ID: DEV_SEED_KEY}, DEV_SEED_KEY_ID)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _name(key_id: str, n: int) -> str:
    """How an error names a key: its id when it looks like one, else its position (a key pasted
    in the id's place must never reach a log)."""
    return f"key {key_id}" if KEY_ID.fullmatch(key_id) else f"key ring entry {n}"


def decode_key(key_id: str, text: str, n: int = 1) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{_name(key_id, n)} is not valid base64", "make one with: pbl crypto keygen"
        ) from None
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{_name(key_id, n)} decodes to {len(key)} bytes; AES-256 needs {KEY_BYTES}",
            "make one with: pbl crypto keygen",
        )
    return key


def new_key_id() -> str:
    return f"k{datetime.datetime.now(datetime.UTC):%Y%m%d}{secrets.token_hex(2)}"


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _parse_env(value: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    items = [part.strip() for part in value.split(",") if part.strip()]
    for n, item in enumerate(items, 1):
        if ":" not in item:
            raise ConfigError(
                f"PBL_ENCRYPTION_KEYS entry {n} is not id:base64key", "e.g. k1:<44 base64 chars>"
            )
        key_id, text = item.split(":", 1)
        key_id = key_id.strip()
        if key_id in keys:
            raise ConfigError(
                f"duplicate {_name(key_id, n)} in PBL_ENCRYPTION_KEYS", "ids are unique"
            )
        keys[key_id] = decode_key(key_id, text, n)
        order.append(key_id)
    if not keys:
        raise ConfigError("PBL_ENCRYPTION_KEYS is empty", "make a key with: pbl crypto keygen")
    return keys, order[0]


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for n, (name, value) in enumerate(pairs, 1):
        if name in seen:
            raise ConfigError(f"duplicate {_name(name, n)} in the key file", "ids are unique")
        seen[name] = value
    return seen


MAX_KEY_FILE_BYTES = 1 << 20  # a key file holds a few keys: anything larger is something else


def read_key_file(path: Path) -> tuple[dict[str, bytes], str]:
    """The keys and active id of a key file: a regular file of pbl's format, mode 0600."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"key file {shown(path)} does not exist", "make one: pbl crypto keygen --out FILE"
        ) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ConfigError(f"key file {shown(path)} is a directory", "give the key file's path")
    if not stat.S_ISREG(mode):
        # a FIFO would block the read; a device is never a key file
        raise ConfigError(
            f"key file {shown(path)} is not a regular file", "give the key file's path"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RefusedError(
            f"key file {shown(path)} is readable by group or others "
            f"(mode {stat.S_IMODE(mode):04o})",
            f"chmod 600 {shown(path)}",
        )
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise ConfigError(
            f"key file {shown(path)} is {info.st_size} bytes: not a pbl key file",
            "give the key file's path",
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError):
        data = None
    raw_keys = data.get("keys") if isinstance(data, dict) else None
    active = data.get("active") if isinstance(data, dict) else None
    well_formed = (
        isinstance(raw_keys, dict)
        and raw_keys
        and all(isinstance(k, str) and isinstance(v, str) for k, v in raw_keys.items())
        and (active is None or isinstance(active, str))
    )
    if not well_formed:
        raise ConfigError(
            f"key file {shown(path)} is not pbl's format",
            'expected {"active": "id", "keys": {"id": "<base64>"}}',
        )
    assert isinstance(raw_keys, dict)
    keys = {kid: decode_key(kid, text, n) for n, (kid, text) in enumerate(raw_keys.items(), 1)}
    return keys, active or next(iter(keys))


def _unreadable(path: Path, exc: OSError) -> ConfigError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return ConfigError(f"cannot read key file {shown(path)}: {reason.lower()}", "check the path")


def write_key_file(path: Path, keys: Mapping[str, bytes], active: str) -> None:
    """Write atomically with mode 0600 from the first byte."""
    payload = json.dumps(
        {"active": active, "keys": {kid: encode_key(k) for kid, k in keys.items()}}, indent=2
    )
    write_private(path, payload + "\n")


def load_keyring(
    key_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> KeyRing:
    """The key ring from --key-file, PBL_KEY_FILE or PBL_ENCRYPTION_KEYS (in that order)."""
    env = os.environ if environ is None else environ
    if key_file is not None and not os.fspath(key_file):
        raise ConfigError("--key-file is empty", "give the key file's path, or leave it out")
    chosen = key_file or env.get("PBL_KEY_FILE")
    if chosen:
        keys, active = read_key_file(Path(chosen))
    elif env.get("PBL_ENCRYPTION_KEYS"):
        keys, active = _parse_env(env["PBL_ENCRYPTION_KEYS"])
    else:
        raise ConfigError(
            "no encryption keys configured",
            "set PBL_ENCRYPTION_KEYS or PBL_KEY_FILE (make a key with: pbl crypto keygen)",
        )
    active = env.get("PBL_ENCRYPTION_ACTIVE_KEY") or active
    if is_production(env) and any(k == DEV_SEED_KEY for k in keys.values()):
        raise RefusedError(
            "the development seed key is in the key ring and PBL_ENV=production",
            "remove it; it is public and only for seed data",
        )
    return KeyRing(keys, active)
