"""pbl's own file codec for backups (zstd, encryption, hashing in one pass) and the watcher that
hands it pg_dump's finished files: no database needed."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import threading
from pathlib import Path

import pytest

from pbl_db.backup import codec
from pbl_db.backup.logical import plan_compression
from pbl_db.backup.stream import CHUNK, decrypt_stream, encrypt_stream
from pbl_db.backup.tools import find_tool
from pbl_db.backup.watch import ClosedFiles
from pbl_db.crypto.cipher import DecryptError, KeyRing
from pbl_db.crypto.keys import generate_key
from pbl_db.errors import ConfigError

RING = KeyRing({"k1": generate_key()}, "k1")


def _payload(size: int) -> bytes:
    return (b"row\t%d\tJane Q. Applicant\n" * (size // 20 + 1))[:size]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])
@pytest.mark.parametrize(("level", "ring"), [(1, None), (None, RING), (3, RING), (None, None)])
def test_finish_then_decode_gives_the_bytes_back(
    tmp_path: Path, size: int, level: int | None, ring: KeyRing | None
) -> None:
    data = _payload(size)
    raw = tmp_path / "dump" / "4978.dat"
    raw.parent.mkdir()
    raw.write_bytes(data)
    done = codec.finish_file(raw, level=level, ring=ring, name="dump/4978.dat")
    suffix = (".zst" if level is not None else "") + (".enc" if ring else "")
    assert done.path.name == "4978.dat" + suffix
    assert done.sha256 == hashlib.sha256(done.path.read_bytes()).hexdigest()
    assert done.size == done.path.stat().st_size
    assert raw.exists() == (not suffix)  # the original is replaced, or hashed where it is
    if suffix:
        assert oct(done.path.stat().st_mode & 0o777) == "0o600"
    if ring is not None:
        assert b"Jane" not in done.path.read_bytes()
    out = io.BytesIO()
    codec.decode_file(done.path, out, ring, "dump/" + done.path.name)
    assert out.getvalue() == data


def test_encrypting_writer_keeps_the_format_older_backups_have(tmp_path: Path) -> None:
    """encrypt_stream now runs on EncryptingWriter: a file it writes still opens with
    decrypt_stream, and renaming it (the bound name) still fails."""
    data = _payload(3 * CHUNK + 17)
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(data), sealed, RING, "dump/1.dat.gz")
    opened = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed.getvalue()), opened, RING, "dump/1.dat.gz")
    assert opened.getvalue() == data
    with pytest.raises(DecryptError, match="names another file"):
        decrypt_stream(io.BytesIO(sealed.getvalue()), io.BytesIO(), RING, "dump/2.dat.gz")


def test_decode_without_a_destination_still_checks_the_frame(tmp_path: Path) -> None:
    raw = tmp_path / "7.dat"
    raw.write_bytes(_payload(200_000))
    done = codec.finish_file(raw, level=1, ring=None, name="7.dat")
    codec.decode_file(done.path, None, None, "7.dat.zst")
    done.path.write_bytes(done.path.read_bytes()[:-8])
    with pytest.raises(DecryptError, match="truncated"):
        codec.decode_file(done.path, None, None, "7.dat.zst")


def test_an_encrypted_file_needs_the_ring(tmp_path: Path) -> None:
    raw = tmp_path / "7.dat"
    raw.write_bytes(b"x")
    done = codec.finish_file(raw, level=1, ring=RING, name="7.dat")
    with pytest.raises(DecryptError, match="no key ring"):
        codec.decode_file(done.path, None, None, "7.dat.zst.enc")


def test_only_data_files_are_compressed() -> None:
    assert codec.compressible("4978.dat") and codec.compressible("blob_16385.dat")
    assert not codec.compressible("toc.dat") and not codec.compressible("blobs_12.toc")
    assert not codec.compressible("4978.dat.gz")
    assert codec.plain_name("dump/4978.dat.zst.enc") == "dump/4978.dat"


def test_closed_files_reports_each_file_once_it_is_closed(tmp_path: Path) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def note(path: Path) -> None:
        with lock:
            seen.append(path.name)

    watcher = ClosedFiles(tmp_path, note)
    watcher.start()
    assert watcher.available
    with (tmp_path / "1.dat").open("wb") as handle:
        handle.write(b"still writing")
        handle.flush()
        opened = (tmp_path / "2.dat").open("wb")
    opened.write(b"open at stop")
    watcher.stop()
    opened.close()
    assert seen == ["1.dat"]


def test_pipeline_finishes_each_file_once_and_keeps_its_outputs_apart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "dump").mkdir(parents=True)
    for name in ("toc.dat", "1.dat", "2.dat"):
        (data / "dump" / name).write_bytes(_payload(50_000))
    pipeline = codec.Pipeline(data, level=1, ring=None, compress=codec.compressible, workers=2)
    pipeline.submit(data / "dump" / "1.dat")
    pipeline.submit(data / "dump" / "1.dat")  # a second close event: ignored
    pipeline.submit_rest()
    names = sorted(item.path.name for item in pipeline.results())
    assert names == ["1.dat.zst", "2.dat.zst", "toc.dat"]
    assert sorted(p.name for p in (data / "dump").iterdir()) == names


def _fake_pg_dump(tmp_path: Path, *, zstd: bool) -> Path:
    script = tmp_path / ("pg_dump_zstd" if zstd else "pg_dump_plain")
    refusal = (
        ""
        if zstd
        else 'echo "pg_dump: error: this build does not support compression with zstd" >&2; exit 1'
    )
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in --compress=zstd*) ' + (refusal or ":") + ";; esac\n"
        'echo "pg_dump: error: connection to server failed" >&2\nexit 1\n'
    )
    script.chmod(0o755)
    return script


def test_plan_uses_pg_dumps_own_zstd_when_it_has_it(tmp_path: Path) -> None:
    native = plan_compression(_fake_pg_dump(tmp_path, zstd=True), 17, "", "directory")
    assert native.pg_dump_args == ["--compress=zstd"] and native.codec == "pg_dump"
    own = plan_compression(_fake_pg_dump(tmp_path, zstd=False), 17, "zstd:5", "directory")
    assert own.pg_dump_args == ["--compress=none"] and own.pbl_level == 5
    assert own.codec == "zstd" and own.spec == "zstd:5"
    old = plan_compression(_fake_pg_dump(tmp_path, zstd=False), 15, "", "custom")
    assert old.pg_dump_args == ["-Z", "0"] and old.spec == "zstd:1"


@pytest.mark.parametrize(
    ("compress", "fmt", "message"),
    [
        ("lz4", "directory", "lz4 needs pg_dump 16"),
        ("zstd:25", "directory", "out of range"),
        ("zstd", "plain", "gunzip"),
        ("brotli", "directory", "unknown compression"),
    ],
)
def test_plan_refuses_what_cannot_work(
    tmp_path: Path, compress: str, fmt: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_compression(_fake_pg_dump(tmp_path, zstd=False), 15, compress, fmt)


def test_plain_keeps_the_specs_gzip(tmp_path: Path) -> None:
    plan = plan_compression(_fake_pg_dump(tmp_path, zstd=False), 15, "", "plain")
    assert plan.spec == "gzip:6" and plan.pbl_level is None


def test_the_probe_agrees_with_how_pg_dump_was_linked() -> None:
    pg_dump = find_tool("pg_dump", 16)
    linked = subprocess.run(["ldd", str(pg_dump)], capture_output=True, text=True, check=False)
    assert codec.pg_dump_has(pg_dump, "zstd") == ("libzstd" in linked.stdout)
    assert os.access(pg_dump, os.X_OK)
