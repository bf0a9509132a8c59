"""Restoring what a newer pg_dump wrote into an older server.

pg_dump 17 and later start every script with `SET transaction_timeout = 0;`, a setting that
PostgreSQL 13 to 16 do not know: psql with ON_ERROR_STOP, and pg_restore --exit-on-error (which
sends the same preamble on each connection), stop there. pbl turns that one line of the
preamble into a comment of the same length, in place, and leaves everything else alone.
"""

from __future__ import annotations

import os

# the server major that introduced each setting pg_dump's preamble may set
NEWER_SETTINGS = {b"transaction_timeout": 17}
PREAMBLE_BYTES = 64 * 1024
_PREAMBLE_STARTS = (b"--", b"SET ", b"SELECT pg_catalog.set_config(", b"\\restrict ")


def needs_rewrite(tool_major: int, server_major: int) -> bool:
    """True when a script written by a `tool_major` pg_dump/pg_restore sets something the
    `server_major` server does not know."""
    return any(tool_major >= since > server_major for since in NEWER_SETTINGS.values())


def neutralise_preamble(fd: int, server_major: int) -> list[str]:
    """Comment out, in the file open on `fd`, the preamble's SET lines for settings the server
    does not have. Only the preamble (up to its first statement that is not SET, a comment, or
    psql's \\restrict) is looked at, so table data is never touched. Positional reads and
    writes: the file's offset and any Python buffer over it stay as they were. Returns the
    settings removed."""
    head = os.pread(fd, PREAMBLE_BYTES, 0)
    removed: list[str] = []
    offset = 0
    for line in head.splitlines(keepends=True):
        text = line.strip()
        if text and not text.startswith(_PREAMBLE_STARTS):
            break
        for name, since in NEWER_SETTINGS.items():
            if since > server_major and text.startswith(b"SET " + name + b" "):
                body = line.rstrip(b"\r\n")
                comment = f"-- {name.decode()}: {since}+".encode()
                os.pwrite(fd, comment.ljust(len(body))[: len(body)], offset)
                removed.append(name.decode())
        offset += len(line)
    return removed
