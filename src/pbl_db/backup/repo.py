"""The backup repository on disk: one directory per backup, a manifest, atomic completion.

<dest>/<id>/manifest.json, manifest.sha256, data/..., verified.json (after pbl backup verify)
<dest>/.partial-<id>/  while pg_dump runs; renamed to <id>/ when complete, so a killed run never
                       leaves anything that looks finished. It holds a `pid` file; the next run
                       removes partials whose process is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pbl_db import pathcheck
from pbl_db.errors import ConfigError, OperationFailed, shown

MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
VERIFIED = "verified.json"
PARTIAL = ".partial-"
FORMAT_VERSION = 2  # the newest manifest format this pbl reads
BACKUP_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,6})?$")  # what new_id makes


@dataclass
class Manifest:
    id: str
    pbl_version: str
    server_version: str
    server_version_num: int
    database: str
    format: str  # directory | custom | plain
    compress: str
    jobs: int
    encrypted: bool
    key_id: str | None
    migrations: list[str]
    rows: dict[str, int]
    started_at: str
    finished_at: str = ""
    seconds: float = 0.0
    size_bytes: int = 0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {sha256, bytes}
    tool: str = ""
    format_version: int = 1  # 2: pbl compressed pg_dump's files (codec "zstd")
    codec: str = "pg_dump"  # who compressed the data: pg_dump (inside its archive) or pbl (zstd)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: Manifest
    verified_at: str | None

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.manifest.started_at)


def backup_dir(dest: str | os.PathLike[str] | None) -> Path:
    chosen = Path(dest or os.environ.get("PBL_BACKUP_DIR") or "backups").expanduser()
    return chosen


def dest_source(dest: str | os.PathLike[str] | None, env: str = "PBL_BACKUP_DIR") -> str:
    """How an error names where the backup directory came from."""
    if dest:
        return "--dest"
    return env if os.environ.get(env) else "the default backup directory"


def existing_backup_dir(dest: str | os.PathLike[str] | None) -> Path:
    """The backup directory to read (list, verify, restore, prune): it must exist and be a
    directory; a typo in --dest is an error, not an empty repository."""
    try:
        return pathcheck.existing_dir(backup_dir(dest), dest_source(dest))
    except ConfigError as exc:
        if exc.message.endswith("does not exist"):
            exc.hint = "check --dest / PBL_BACKUP_DIR (pbl backup create makes it)"
        raise


@contextlib.contextmanager
def writing_into(path: Path, option: str = "--dest") -> Iterator[None]:
    """An OSError while making the backup directory or a partial in it (EPERM on an immutable
    directory, which os.access does not see for root) as one line naming the option."""
    try:
        yield
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(
            f"{option} {shown(path)}: {reason}", "choose another directory or fix its permissions"
        ) from None


def writable_backup_dir(dest: str | os.PathLike[str] | None) -> Path:
    """The backup directory to write into (create): an existing writable directory or one
    that can be made; nothing is created here."""
    return pathcheck.output_dir(backup_dir(dest), dest_source(dest))


def check_id(backup_id: str) -> str:
    """A backup id as pbl makes them (20261204T182608Z, or with -N), checked before any path
    is built from it."""
    if not BACKUP_ID.match(backup_id):
        raise ConfigError(
            f"'{shown(backup_id)}' is not a backup id",
            "ids look like 20261204T182608Z; see 'pbl backup list'",
        )
    return backup_id


def make_root(path: Path, emit: Callable[[str], None]) -> Path:
    """The backup directory, made (0700, with its parents) when missing, saying so: a typo in
    --dest then shows as a new tree instead of passing silently."""
    if not path.is_dir():
        emit(f"creating backup directory {path}")
    return private_dir(path)


def new_id(root: Path) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = stamp, 1
    while (root / candidate).exists() or (root / f"{PARTIAL}{candidate}").exists():
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def lock_down(root: Path) -> None:
    """Directories 0700, files 0600, throughout."""
    for current, dirs, files in os.walk(root):
        Path(current).chmod(0o700)
        for name in files:
            (Path(current) / name).chmod(0o600)
        for name in dirs:
            (Path(current) / name).chmod(0o700)


def data_files(root: Path) -> Iterator[Path]:
    data = root / "data"
    for current, _, files in os.walk(data):
        for name in sorted(files):
            yield Path(current) / name


def write_manifest(root: Path, manifest: Manifest) -> None:
    text = json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n"
    (root / MANIFEST).write_text(text, encoding="utf-8")
    (root / MANIFEST_SUM).write_text(
        hashlib.sha256(text.encode()).hexdigest() + f"  {MANIFEST}\n", encoding="utf-8"
    )


def read_manifest(root: Path, *, check: bool = True) -> Manifest:
    path = root / MANIFEST
    if not path.exists():
        raise OperationFailed(f"backup {root.name}: {MANIFEST} is missing")
    text = path.read_text(encoding="utf-8")
    if check:
        recorded = (
            (root / MANIFEST_SUM).read_text().split()[0] if (root / MANIFEST_SUM).exists() else ""
        )
        if hashlib.sha256(text.encode()).hexdigest() != recorded:
            raise OperationFailed(
                f"backup {root.name}: {MANIFEST} was edited or damaged (its sha256 differs from "
                f"{MANIFEST_SUM})"
            )
    try:
        fields = json.loads(text)
        version = int(fields.get("format_version", 1))
    except (ValueError, TypeError, AttributeError):
        raise OperationFailed(f"backup {root.name}: {MANIFEST} is not a pbl manifest") from None
    if version > FORMAT_VERSION:
        raise OperationFailed(
            f"backup {root.name} has manifest format {version}; this pbl reads up to "
            f"{FORMAT_VERSION}",
            f"use pbl {fields.get('pbl_version', 'newer')} or newer for it",
        )
    try:
        return Manifest(**fields)
    except TypeError:
        raise OperationFailed(f"backup {root.name}: {MANIFEST} is not a pbl manifest") from None


def mark_verified(root: Path, restored: bool) -> str:
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path = root / VERIFIED
    path.write_text(json.dumps({"verified_at": when, "restored": restored}) + "\n")
    path.chmod(0o600)
    return when


def list_backups(root: Path) -> list[Backup]:
    """Complete backups, newest first; damaged manifests are skipped here (verify names them)."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.name.startswith(".") or not (path / MANIFEST).exists():
            continue
        try:
            manifest = read_manifest(path, check=False)
        except OperationFailed:
            continue
        verified = None
        if (path / VERIFIED).exists():
            try:
                verified = json.loads((path / VERIFIED).read_text()).get("verified_at")
            except ValueError:
                verified = None
        found.append(Backup(path, manifest, verified))
    return sorted(found, key=lambda b: b.manifest.started_at, reverse=True)


def find_backup(root: Path, backup_id: str) -> Backup:
    check_id(backup_id)
    for backup in list_backups(root):
        if backup.id == backup_id:
            return backup
    if (
        "/" not in backup_id
        and not backup_id.startswith(".")
        and (root / backup_id / MANIFEST).is_file()
    ):
        read_manifest(root / backup_id)  # there, but unreadable: say why
    raise ConfigError(f"no backup {backup_id} in {shown(root)}", "see 'pbl backup list'")


_HELD: dict[Path, int] = {}
STALE_WITHOUT_LOCK = 600  # seconds: a partial without a lock file is being set up, or abandoned


def claim_partial(root: Path) -> tuple[str, Path]:
    """A new .partial-<id> directory, created atomically (two runs never share one) and locked
    (flock) for as long as this process runs; cleanup only takes directories it can lock."""
    while True:
        backup_id = new_id(root)
        path = root / f"{PARTIAL}{backup_id}"
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        fd = os.open(path / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[path] = fd
        (path / "pid").write_text(str(os.getpid()))
        return backup_id, path


def finish_partial(path: Path, final: Path) -> None:
    """Make the partial durable, then rename it into place and release its lock."""
    for name in ("pid", "lock"):
        (path / name).unlink(missing_ok=True)
    fsync_tree(path)
    path.rename(final)
    _fsync_dir(final.parent)
    release_partial(path)


def release_partial(path: Path) -> None:
    fd = _HELD.pop(path, None)
    if fd is not None:
        os.close(fd)


def abandon_partial(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    release_partial(path)


def fsync_tree(root: Path) -> None:
    for current, _, files in os.walk(root):
        for name in files:
            fd = os.open(Path(current) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(current))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_partials(root: Path) -> list[str]:
    """Remove what killed runs left behind: partials whose lock nobody holds any more."""
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for path in root.glob(f"{PARTIAL}*"):
        lock = path / "lock"
        if not lock.exists():
            try:
                age = time.time() - path.stat().st_mtime
            except OSError:
                continue
            if age < STALE_WITHOUT_LOCK:
                continue  # another run is setting it up right now
        else:
            try:
                fd = os.open(lock, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a live run holds it
            os.close(fd)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
