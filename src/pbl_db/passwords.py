"""Password hashing for users.password_hash: argon2id (scrypt readable), PHC strings.

Parameters follow OWASP's Password Storage Cheat Sheet: argon2id m=19456 KiB, t=2, p=1;
scrypt N=2^17, r=8, p=1. verify() says when a stored hash is weaker than today's parameters so
the caller can store the fresh hash it returns (rehash on login).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from dataclasses import dataclass

ARGON2_MEMORY_KIB = 19456
ARGON2_ITERATIONS = 2
ARGON2_LANES = 1
SCRYPT_LOG2_N = 17
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32

_ARGON2 = re.compile(
    r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$"
)
_SCRYPT = re.compile(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


@dataclass(frozen=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when ok and the stored hash should be upgraded


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _argon2(
    password: bytes, salt: bytes, memory: int, iterations: int, lanes: int, length: int
) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kdf = Argon2id(salt=salt, length=length, iterations=iterations, lanes=lanes, memory_cost=memory)
    return kdf.derive(password)


def _scrypt(password: bytes, salt: bytes, log2_n: int, r: int, p: int, length: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=length, n=2**log2_n, r=r, p=p).derive(password)


def hash_password(password: str) -> str:
    """A new argon2id PHC string for password."""
    salt = os.urandom(SALT_BYTES)
    digest = _argon2(
        password.encode("utf-8"),
        salt,
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_LANES,
        HASH_BYTES,
    )
    return (
        f"$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_ITERATIONS},p={ARGON2_LANES}"
        f"${_b64(salt)}${_b64(digest)}"
    )


def hash_password_scrypt(password: str) -> str:
    """A scrypt PHC string, for platforms whose OpenSSL lacks argon2."""
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password.encode("utf-8"), salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"$scrypt$ln={SCRYPT_LOG2_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


# bounds on what a stored hash may ask for: a corrupt or hostile row must not cost a GiB of
# memory or minutes of CPU
MAX_ARGON2_MEMORY_KIB = 1 << 20
MAX_ARGON2_ITERATIONS = 10
MAX_ARGON2_LANES = 16
MAX_SCRYPT_LOG2_N = 20
MAX_SCRYPT_R = 32
MAX_SCRYPT_P = 16


def verify_password(password: str, stored: str) -> Verification:
    """Check password against a stored PHC string; False (never an exception) for a malformed
    or out-of-bounds one."""
    try:
        return _verify(password.encode("utf-8"), password, stored)
    except (ValueError, MemoryError, binascii.Error):
        return Verification(False)


def _verify(secret: bytes, password: str, stored: str) -> Verification:
    if m := _ARGON2.fullmatch(stored):
        memory, iterations, lanes = (int(g) for g in m.groups()[:3])
        salt, expected = _unb64(m.group(4)), _unb64(m.group(5))
        if not (
            8 * lanes <= memory <= MAX_ARGON2_MEMORY_KIB
            and 1 <= iterations <= MAX_ARGON2_ITERATIONS
            and 1 <= lanes <= MAX_ARGON2_LANES
            and len(salt) >= 8
            and len(expected) >= 16
        ):
            return Verification(False)
        actual = _argon2(secret, salt, memory, iterations, lanes, len(expected))
        weak = (
            memory < ARGON2_MEMORY_KIB
            or iterations < ARGON2_ITERATIONS
            or len(expected) < HASH_BYTES
        )
    elif m := _SCRYPT.fullmatch(stored):
        log2_n, r, p = (int(g) for g in m.groups()[:3])
        salt, expected = _unb64(m.group(4)), _unb64(m.group(5))
        if not (
            1 <= log2_n <= MAX_SCRYPT_LOG2_N
            and 1 <= r <= MAX_SCRYPT_R
            and 1 <= p <= MAX_SCRYPT_P
            and len(salt) >= 8
            and len(expected) >= 16
        ):
            return Verification(False)
        actual = _scrypt(secret, salt, log2_n, r, p, len(expected))
        weak = True  # argon2id is the current choice: upgrade scrypt hashes on login
    else:
        return Verification(False)
    if not hmac.compare_digest(actual, expected):
        return Verification(False)
    return Verification(True, hash_password(password) if weak else None)
