"""Point-in-time recovery: WAL archiving, base backups, and restores to a moment.

The spec's `archive_command = 'cp %p /backup/archive/%f'` overwrites an existing segment (a
second cluster archiving into the same place destroys the first one's WAL) and does not fsync
(a crash right after cp can lose a segment PostgreSQL believes archived). pbl's command refuses
to overwrite a different file, accepts an identical one (a retry after a crash), copies under a
temporary name, fsyncs the file, renames it and fsyncs the directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from pbl_db import pathcheck, queries
from pbl_db.backup import repo
from pbl_db.backup.tools import check, child_env, find_tool, run_subprocess
from pbl_db.connection import Target, connect, parse_conninfo
from pbl_db.errors import ConfigError, OperationFailed, RefusedError, shown
from pbl_db.server_settings import SettingChange, alter_system

BASE_META = "pbl-base.json"
_ARCHIVE_DIR = re.compile(r"^f=(.+?)/%f;")


def _server_now(target: Target) -> dt.datetime:
    with connect(target) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def _checked_dir(archive_dir: str) -> str:
    """An absolute path (the server runs the command inside its data directory), not the root,
    with % doubled (PostgreSQL expands %-escapes in archive and restore commands)."""
    if not archive_dir.startswith("/"):
        raise ConfigError(
            f"--archive-dir '{shown(archive_dir)}' is relative",
            "give an absolute path: the server runs archive_command inside its data directory",
        )
    if not os.path.normpath(archive_dir).strip("/"):
        raise ConfigError(
            f"--archive-dir '{shown(archive_dir)}' is the root directory",
            "give a directory of its own for the WAL archive, e.g. /var/lib/pbl/wal-archive",
        )
    if "\n" in archive_dir or "\r" in archive_dir or "\x00" in archive_dir:
        raise ConfigError("--archive-dir holds a line break or NUL", "give a plain path")
    return archive_dir.rstrip("/").replace("%", "%%")


def archive_command(archive_dir: str) -> str:
    d = shlex.quote(_checked_dir(archive_dir))
    return (
        f'f={d}/%f; if [ -f "$f" ]; then cmp -s "%p" "$f"; '
        f'else cp "%p" "$f.part" && sync "$f.part" && mv "$f.part" "$f" && sync {d}; fi'
    )


def restore_command(archive_dir: str) -> str:
    return f'cp {shlex.quote(_checked_dir(archive_dir))}/%f "%p"'


def archive_dir_of(command: str) -> str | None:
    match = _ARCHIVE_DIR.match(command)
    return shlex.split(match.group(1))[0].replace("%%", "%") if match else None


def enable(
    target: Target, archive_dir: str, *, on_event: Callable[[str], None] | None = None
) -> list[SettingChange]:
    """ALTER SYSTEM the archiving settings and reload; say which wait for a restart."""
    wanted = {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": archive_command(archive_dir),
    }
    changes = []
    with connect(target) as conn:
        _prepare_archive_dir(conn, Path(archive_dir), on_event or (lambda _m: None))
        for name, value in wanted.items():
            row = conn.execute(queries.load("get_setting_state"), {"name": name}).fetchone()
            assert row is not None
            current, postmaster = str(row[0]), bool(row[1])
            if (name, current) in (("wal_level", "logical"), ("archive_mode", "always")):
                continue  # logical includes replica
            try:
                conn.execute(alter_system(name, value))
            except psycopg.errors.InsufficientPrivilege:
                raise RefusedError(
                    "ALTER SYSTEM needs a superuser", "connect as a superuser to enable archiving"
                ) from None
            if current != value:
                changes.append(SettingChange(name, current, value, postmaster))
        conn.execute("SELECT pg_reload_conf()")
    return changes


def _prepare_archive_dir(
    conn: psycopg.Connection[Any], archive: Path, emit: Callable[[str], None]
) -> None:
    """When the server runs on this machine, make the directory, owned by the server's user.
    Checked first (a file, a file as parent, not writable, too long): before ALTER SYSTEM."""
    row = conn.execute("SELECT current_setting('data_directory')").fetchone()
    data_dir = Path(str(row[0])) if row else None
    if data_dir is None or not data_dir.exists():
        return  # a remote server: the directory is the DBA's to provide on that host
    owner = data_dir.stat()
    pathcheck.output_dir(archive, "--archive-dir")
    if not archive.is_dir():
        emit(f"creating WAL archive directory {archive}")
    with repo.writing_into(archive, "--archive-dir"):
        archive.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.geteuid() == 0:
            os.chown(archive, owner.st_uid, owner.st_gid)


def status(target: Target) -> dict[str, Any]:
    with connect(target) as conn:
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        row = cur.execute(queries.load("get_archiver_status")).fetchone()
        assert row is not None
        result = dict(row)
        try:
            ready = conn.execute(queries.load("count_ready_wal")).fetchone()
            result["ready_segments"] = int(ready[0]) if ready else None
        except psycopg.errors.InsufficientPrivilege:
            result["ready_segments"] = None  # needs superuser or pg_monitor
        result["archive_dir"] = archive_dir_of(str(result["archive_command"]))
        result["enabled"] = result["archive_mode"] in ("on", "always") and bool(
            result["archive_dir"] or result["archive_command"]
        )
    return result


@dataclass
class BaseBackup:
    id: str
    path: Path
    started_at: str
    finished_at: str
    server_version_num: int
    archive_dir: str | None
    verified: bool
    # False when only a newer pg_verifybackup was at hand: files checked, WAL left to recovery
    wal_verified: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def base_backup(
    target: Target, dest: Path, *, on_event: Callable[[str], None] | None = None
) -> BaseBackup:
    """pg_basebackup with a manifest (SHA-256 checksums), checked with pg_verifybackup."""
    pathcheck.output_dir(dest, "--dest")
    params = parse_conninfo(target.conninfo)
    with connect(target) as conn:
        major = conn.info.server_version // 10000
        version_num = conn.info.server_version
        command = str(conn.execute("SELECT current_setting('archive_command')").fetchone()[0])  # type: ignore[index]
    basebackup = find_tool("pg_basebackup", major)
    verify, exact = _verify_command(major)
    with repo.writing_into(dest):
        root = repo.make_root(dest, on_event or (lambda _m: None))
        repo.clean_partials(root)
    started = _server_now(target)
    backup_id, partial = "", None
    try:
        backup_id, partial = repo.claim_partial(root)  # in the try: an interrupt removes it
        with child_env(params) as env:
            check(
                run_subprocess(
                    [
                        str(basebackup),
                        "-D",
                        str(partial / "data"),
                        "-Fp",
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                        "--manifest-checksums=SHA256",
                        "--no-password",
                    ],
                    env=env,
                ),
                "pg_basebackup",
            )
        check(
            run_subprocess([*verify, str(partial / "data")], env=dict(os.environ)),
            "pg_verifybackup",
        )
        if not exact:
            check_control_file(partial / "data")
        meta = BaseBackup(
            backup_id,
            root / backup_id,
            started.isoformat(timespec="seconds"),
            # the server's clock, not this host's: restore compares it with a server-side time
            # (full precision: truncating could date it before its consistent point)
            _server_now(target).isoformat(),
            version_num,
            archive_dir_of(command),
            True,
            exact,
        )
        (partial / BASE_META).write_text(
            json.dumps({k: v for k, v in meta.as_dict().items() if k != "path"}, indent=2) + "\n"
        )
        repo.finish_partial(partial, root / backup_id)
    except BaseException:
        if partial is not None:
            repo.abandon_partial(partial)
        raise
    return meta


CONTROL_FILE = "global/pg_control"


def _verify_command(major: int) -> tuple[list[str], bool]:
    """pg_verifybackup of the server's major checks files and WAL. When only a newer one is
    installed it checks the files against the manifest (a newer pg_verifybackup reads older
    manifests) but not the WAL, since pg_waldump reads only its own major's WAL format (recovery
    replays that WAL anyway and stops at a damaged record), nor pg_control, whose layout is per
    major too (18 reads a 17 pg_control as a CRC error): pbl checks that file's SHA-256 itself.
    Returns the command and whether it is of the server's major (so checks everything)."""
    try:
        return [str(find_tool("pg_verifybackup", major, exact=True)), "--quiet"], True
    except ConfigError:
        newer = find_tool("pg_verifybackup", major)
        return [str(newer), "--quiet", "--no-parse-wal", f"--ignore={CONTROL_FILE}"], False


def check_control_file(data: Path) -> None:
    """global/pg_control matches the size and SHA-256 that pg_basebackup's manifest gives."""
    manifest = json.loads((data / "backup_manifest").read_text())
    entry = next((f for f in manifest.get("Files", []) if f.get("Path") == CONTROL_FILE), None)
    if entry is None or entry.get("Checksum-Algorithm") != "SHA256":
        raise OperationFailed(
            f"backup_manifest has no SHA-256 for {CONTROL_FILE}", "nothing was kept; retry"
        )
    content = (data / CONTROL_FILE).read_bytes()
    if len(content) != entry["Size"] or hashlib.sha256(content).hexdigest() != entry["Checksum"]:
        raise OperationFailed(
            f"{CONTROL_FILE} does not match backup_manifest", "nothing was kept; retry"
        )


def list_base_backups(dest: Path) -> list[BaseBackup]:
    found = []
    if dest.is_dir():
        for path in dest.iterdir():
            meta = path / BASE_META
            if path.name.startswith(".") or not meta.exists():
                continue
            try:
                data = json.loads(meta.read_text())
                found.append(BaseBackup(**{**data, "path": path}))
            except (OSError, ValueError, TypeError):
                continue  # not one pbl wrote (or damaged): not a candidate
    return sorted(found, key=lambda b: b.finished_at, reverse=True)


def parse_target_time(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--target-time '{shown(text)}' is not a timestamp", 'e.g. "2026-11-26 14:05:00+00"'
        ) from None
    if when.tzinfo is None:
        raise ConfigError(
            f"--target-time '{shown(text)}' has no time zone",
            'add one, e.g. "2026-11-26 14:05:00+00": a bare time is ambiguous across servers',
        )
    return when


@dataclass
class RestoreResult:
    backup_id: str
    data_dir: str
    target_time: str
    started: bool
    port: int | None


def restore(
    target_time: str,
    data_dir: Path,
    dest: Path,
    *,
    backup_id: str | None = None,
    archive_dir: str | None = None,
    start: bool = False,
    port: int | None = None,
    wait_seconds: float = 300.0,
) -> RestoreResult:
    when = parse_target_time(target_time)
    if backup_id:
        repo.check_id(backup_id)
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535 ({shown(port)} given)")
    if archive_dir is not None:
        _checked_dir(archive_dir)
    pathcheck.existing_dir(dest, "--dest")
    pathcheck.output_dir(data_dir, "--data-dir")
    if data_dir.is_dir() and any(data_dir.iterdir()):
        raise RefusedError(
            f"--data-dir {shown(data_dir)} is not empty", "restore into a new or empty directory"
        )
    candidates = [
        b for b in list_base_backups(dest) if dt.datetime.fromisoformat(b.finished_at) < when
    ]
    if backup_id:
        candidates = [b for b in candidates if b.id == backup_id]
    if not candidates:
        raise ConfigError(
            f"no base backup in {shown(dest)} finished before {when.isoformat()}"
            + (f" with id {backup_id}" if backup_id else ""),
            "take one with 'pbl pitr base-backup' (a target can only be after a base backup)",
        )
    base = candidates[0]
    archive = archive_dir or base.archive_dir
    if not archive:
        raise ConfigError("the WAL archive directory is not known", "pass --archive-dir")
    command = restore_command(archive)  # checked before anything is copied
    shutil.copytree(base.path / "data", data_dir, dirs_exist_ok=True)
    (data_dir / "recovery.signal").write_text("")
    write_missing_config(data_dir, "pbl pitr restore")
    settings = {
        "restore_command": command,
        "recovery_target_time": when.isoformat(sep=" "),
        "recovery_target_action": "promote",
        "archive_mode": "off",  # the restored copy must not write into the original's archive
    }
    append_auto_conf(data_dir, "pbl pitr restore", settings)
    owner = Path(archive).stat() if Path(archive).exists() else None
    user = None
    if os.geteuid() == 0 and owner is not None:
        user = pwd.getpwuid(owner.st_uid).pw_name
        own_tree(data_dir, owner.st_uid, owner.st_gid)
    data_dir.chmod(0o700)
    result = RestoreResult(base.id, str(data_dir), when.isoformat(), False, None)
    if start:
        result.port = port or free_port()
        _start_and_wait(base, data_dir, result.port, user, wait_seconds)
        result.started = True
    return result


def write_missing_config(data_dir: Path, by: str) -> None:
    """postgresql.conf and pg_hba.conf where a base backup has none: Debian and Ubuntu keep
    them in /etc/postgresql, outside the data directory."""
    if not (data_dir / "postgresql.conf").exists():
        (data_dir / "postgresql.conf").write_text(f"# written by {by}\n")
    if not (data_dir / "pg_hba.conf").exists():
        (data_dir / "pg_hba.conf").write_text(
            f"# written by {by}: local peer, loopback password\n"
            "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )


def append_auto_conf(data_dir: Path, by: str, settings: dict[str, str]) -> None:
    """Append settings to the data directory's postgresql.auto.conf, each a single-quoted
    string with backslash and quote escaped as the server's config parser reads them."""
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"\n# {by}\n")
        for name, value in settings.items():
            quoted = value.replace("\\", "\\\\").replace("'", "''")
            conf.write(f"{name} = '{quoted}'\n")


def own_tree(root: Path, uid: int, gid: int) -> None:
    """chown a data directory and everything in it (links themselves, not their targets)."""
    for current, dirs, files in os.walk(root):
        os.chown(current, uid, gid)
        for name in dirs + files:
            os.chown(Path(current) / name, uid, gid, follow_symlinks=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_ctl_start(
    pg_ctl: Path, data_dir: Path, log: Path, user: str | None, what: str, options: str = ""
) -> None:
    """pg_ctl start without waiting (the caller polls for what it needs), as `user`."""
    argv = [str(pg_ctl), "-D", str(data_dir), "-l", str(log), "-W", "start"]
    if options:
        argv[-2:-2] = ["-o", options]
    # the postmaster keeps this environment: none of our PG* settings (PGPASSWORD!) in it,
    # and the server user's own HOME (its ~/.pgpass), not ours
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if user:
        env["HOME"] = pwd.getpwnam(user).pw_dir
    # no pipes: the postmaster would inherit them
    run = subprocess.run(
        argv,
        user=user,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    if run.returncode != 0:
        raise OperationFailed(f"{what} did not start", f"see {log}")


def _start_and_wait(
    base: BaseBackup, data_dir: Path, port: int, user: str | None, wait: float
) -> None:
    major = base.server_version_num // 10000
    pg_ctl = find_tool("pg_ctl", major, exact=True)
    socket_dir = shlex.quote(str(data_dir))
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket_dir}"
    log = data_dir / "pbl-restore.log"
    pg_ctl_start(pg_ctl, data_dir, log, user, "the restored cluster", options)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        state = _recovery_state(log)
        if state == "done":
            return
        if state == "failed":
            raise OperationFailed("recovery failed", f"see {log}")
        time.sleep(0.2)
    raise OperationFailed(f"recovery did not end within {wait:.0f}s", f"it goes on; see {log}")


_FAILED = (
    "recovery ended before configured recovery target was reached",
    "requested recovery stop point is before consistent recovery point",
    "startup process (PID",
    "could not locate required checkpoint record",
    "could not bind",
    "database system is shut down",
)


def _recovery_state(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    if "database system is ready to accept connections" in text:
        return "done"
    if any(marker in text for marker in _FAILED):
        return "failed"
    return "running"
