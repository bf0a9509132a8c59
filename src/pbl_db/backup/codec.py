"""What pbl does to each file pg_dump finished: compress it with zstd (when pg_dump cannot),
encrypt it, and hash what is written, in one pass over the data; and the way back.

On disk a file's suffixes say what was done, innermost first: `1234.dat.zst.enc` is pg_dump's
uncompressed `1234.dat`, zstd-compressed by pbl, then encrypted (backup/stream.py). The manifest's
`codec` says whether pbl compressed ("zstd") or pg_dump did ("pg_dump": gzip, lz4 or zstd inside
the archive, as in every backup before format_version 2).
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pbl_db.crypto.cipher import KeyRing

ZST = ".zst"
ENC = ".enc"
BLOCK = 1 << 20
BIG_FILE = 32 << 20  # compressed with zstd's own threads as well


def compressible(name: str) -> bool:
    """pg_dump's data files (table data and large objects); its tables of contents stay plain so
    `pg_restore --list` reads them without decompressing the data."""
    return name.endswith(".dat") and name != "toc.dat"


def plain_name(rel: str) -> str:
    """The name pg_restore expects: the file's name without pbl's suffixes."""
    for suffix in (ENC, ZST):
        rel = rel.removesuffix(suffix)
    return rel


@functools.cache
def pg_dump_has(pg_dump: Path, method: str) -> bool:
    """Whether this pg_dump (16 or newer) was built with `method` (lz4, zstd). It checks the
    compression option before connecting, so pointing it at no server answers at once."""
    env = {"PATH": os.environ.get("PATH", ""), "PGCONNECT_TIMEOUT": "1", "LC_ALL": "C"}
    try:
        result = subprocess.run(
            [str(pg_dump), f"--compress={method}", "-Fd", "-f", os.devnull, "--no-password",
             "-d", "host=/nonexistent port=1 dbname=x"],
            env=env, capture_output=True, text=True, check=False, timeout=20,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "does not support compression" not in result.stderr


class _HashingWriter:
    """Writes through to a file, hashing and counting the bytes."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class Finished:
    path: Path
    sha256: str
    size: int


def finish_file(
    path: Path, *, level: int | None, ring: KeyRing | None, name: str, threads: int = 0
) -> Finished:
    """Compress (level given) and/or encrypt (ring given) one finished file into its suffixed
    sibling, hashing the output as it is written, then remove the original. With neither, hash it
    where it is. `name` is the file's path inside data/, bound into its encryption."""
    if level is None and ring is None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                digest.update(block)
        return Finished(path, digest.hexdigest(), path.stat().st_size)
    import zstandard

    from pbl_db.backup.stream import EncryptingWriter

    out = path.with_name(path.name + (ZST if level is not None else "") + (ENC if ring else ""))
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
        sink = _HashingWriter(dst)
        inner = name + (ZST if level is not None else "")
        encrypted = EncryptingWriter(sink, ring, inner) if ring else None
        writer: Any = encrypted or sink
        if level is not None:
            compressor = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=threads)
            with compressor.stream_writer(writer, closefd=False) as compressing:
                for block in iter(lambda: src.read(BLOCK), b""):
                    compressing.write(block)
        else:
            for block in iter(lambda: src.read(BLOCK), b""):
                writer.write(block)
        if encrypted:
            encrypted.close()
    path.unlink()
    return Finished(out, sink.digest.hexdigest(), sink.size)


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


class _Decompressing:
    """Writes decompressed zstd into out; close() refuses a frame that did not end."""

    def __init__(self, out: Any, name: str) -> None:
        import zstandard

        self._z = zstandard.ZstdDecompressor().decompressobj()
        self._out, self._name = out, name

    def write(self, data: bytes) -> int:
        import zstandard

        try:
            self._out.write(self._z.decompress(data))
        except zstandard.ZstdError as exc:
            raise _damaged(f"{self._name} does not decompress: {exc}") from None
        return len(data)

    def close(self) -> None:
        if not self._z.eof:
            raise _damaged(f"{self._name} is truncated: its zstd frame does not end")


def _damaged(message: str) -> Exception:
    from pbl_db.crypto.cipher import DecryptError

    return DecryptError(message)


def decode_file(path: Path, dst: IO[bytes] | None, ring: KeyRing | None, name: str) -> None:
    """Decrypt and/or decompress one backup file into dst (None: read it all and keep nothing,
    which still checks every tag and checksum). DecryptError names the damage."""
    from pbl_db.backup.stream import decrypt_stream

    out: Any = dst if dst is not None else _Discard()
    inner = name.removesuffix(ENC)
    writer: Any = _Decompressing(out, name) if inner.endswith(ZST) else out
    with path.open("rb") as src:
        if name.endswith(ENC):
            if ring is None:
                raise _damaged(f"{name} is encrypted and no key ring was given")
            decrypt_stream(src, writer, ring, inner)
        else:
            for block in iter(lambda: src.read(BLOCK), b""):
                writer.write(block)
    if writer is not out:
        writer.close()


class Pipeline:
    """Finishes files (finish_file) on a pool of threads as they are handed over, each once."""

    def __init__(
        self,
        data: Path,
        *,
        level: int | None,
        ring: KeyRing | None,
        compress: Callable[[str], bool],
        workers: int,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.data, self.level, self.ring, self.compress = data, level, ring, compress
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pbl-finish")
        self._lock = threading.Lock()
        self._jobs: dict[Path, Future[Finished]] = {}

    def submit(self, path: Path) -> None:
        with self._lock:
            if path in self._jobs:
                return
            level = self.level if self.compress(path.name) else None
            self._jobs[path] = self._pool.submit(
                finish_file,
                path,
                level=level,
                ring=self.ring,
                name=str(path.relative_to(self.data)),
                threads=-1 if path.stat().st_size > BIG_FILE else 0,
            )

    def submit_rest(self) -> None:
        """Everything under data/ not handed over yet (call once the writer has exited): waits
        for the files in hand, so their outputs are known and not taken for pg_dump's."""
        with self._lock:
            jobs = dict(self._jobs)
        outputs = {job.result().path for job in jobs.values()}
        for current, _, files in os.walk(self.data):
            for name in sorted(files):
                path = Path(current) / name
                if path not in jobs and path not in outputs:
                    self.submit(path)

    def results(self) -> list[Finished]:
        """Waits for every file; the first failure is raised (the rest are cancelled)."""
        try:
            return [job.result() for job in list(self._jobs.values())]
        finally:
            self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
