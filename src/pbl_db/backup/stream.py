"""Streaming AES-256-GCM for backup files.

File: b"PBLBK1\\n" + one JSON header line, then chunks of [4-byte length][ciphertext+tag]. Chunk
i is sealed with nonce = 8 random header bytes || i (big-endian) and associated data = header
line || i || final flag, so reordered, dropped, truncated or appended chunks all fail. The key is
derived from a key-ring key with HKDF (info "pbl backup v1"): backups and fields never share a key.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import IO, Protocol

from pbl_db.crypto.cipher import DecryptError, KeyRing

MAGIC = b"PBLBK1\n"
CHUNK = 1 << 20
_LEN = struct.Struct(">I")


def _subkey(ring: KeyRing, key_id: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pbl backup v1").derive(
        ring.raw_key(key_id)
    )


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">Q?", index, final)


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class EncryptingWriter:
    """A write-only stream that encrypts into dst in the format above. Every full chunk but the
    last is sealed as soon as more data follows it; close() seals the last one as final."""

    def __init__(self, dst: Sink, ring: KeyRing, name: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._prefix = os.urandom(8)
        self._header = (
            json.dumps(
                {
                    "key_id": ring.active,
                    "nonce_prefix": base64.b64encode(self._prefix).decode(),
                    "file": name,
                },
                sort_keys=True,
            ).encode()
            + b"\n"
        )
        self._aead = AESGCM(_subkey(ring, ring.active))
        self._dst = dst
        self._pending = bytearray()
        self._index = 0
        self.closed = False
        dst.write(MAGIC + self._header)

    def _seal(self, chunk: bytes, final: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, chunk, _aad(self._header, self._index, final))
        self._dst.write(_LEN.pack(len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> int:
        self._pending += data
        while len(self._pending) > CHUNK:  # more follows this chunk: it is not the last
            self._seal(bytes(self._pending[:CHUNK]), final=False)
            del self._pending[:CHUNK]
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._pending), final=True)
            self._pending.clear()
            self.closed = True


def encrypt_stream(src: IO[bytes], dst: IO[bytes], ring: KeyRing, name: str) -> None:
    writer = EncryptingWriter(dst, ring, name)
    for block in iter(lambda: src.read(CHUNK), b""):
        writer.write(block)
    writer.close()


def read_header(src: IO[bytes], name: str) -> dict[str, str]:
    if src.read(len(MAGIC)) != MAGIC:
        raise DecryptError(f"{name} is not a pbl encrypted backup file")
    line = src.readline()
    try:
        header = json.loads(line)
        prefix = base64.b64decode(header["nonce_prefix"], validate=True)
        ok = isinstance(header.get("key_id"), str) and len(prefix) == 8
    except (ValueError, TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        raise DecryptError(f"{name}: damaged header")
    header["_raw"] = line.decode()
    return dict(header)


def decrypt_stream(src: IO[bytes], dst: IO[bytes], ring: KeyRing, name: str) -> None:
    """Decrypt src into dst; DecryptError naming the file on any damage or a wrong key."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = read_header(src, name)
    key_id = header.get("key_id", "")
    if key_id not in ring.key_ids:
        raise DecryptError(
            f"{name} is encrypted with key {key_id}, which is not in the key ring",
            "add that key (PBL_ENCRYPTION_KEYS or the key file)",
        )
    if header.get("file") != name:
        raise DecryptError(f"{name}: the header names another file ({header.get('file')})")
    raw_header = header["_raw"].encode()
    prefix = base64.b64decode(header["nonce_prefix"])
    aead = AESGCM(_subkey(ring, key_id))
    index = 0
    pending = _read_chunk(src, name)
    while True:
        if pending is None:
            raise DecryptError(f"{name} is truncated: its final chunk is missing")
        following = _read_chunk(src, name)
        final = following is None
        try:
            plain = aead.decrypt(
                prefix + struct.pack(">I", index), pending, _aad(raw_header, index, final)
            )
        except InvalidTag:
            raise DecryptError(
                f"{name}: chunk {index} does not open (wrong key, damaged, or truncated)"
            ) from None
        dst.write(plain)
        if final:
            return
        pending, index = following, index + 1


def _read_chunk(src: IO[bytes], name: str) -> bytes | None:
    size = src.read(_LEN.size)
    if not size:
        return None
    if len(size) < _LEN.size:
        raise DecryptError(f"{name} is truncated")
    (length,) = _LEN.unpack(size)
    data = src.read(length)
    if len(data) != length:
        raise DecryptError(f"{name} is truncated")
    return data
