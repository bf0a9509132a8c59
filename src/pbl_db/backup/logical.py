"""pbl backup create / verify / restore / prune on top of pg_dump and pg_restore."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gzip
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from pbl_db import __version__, pathcheck, queries
from pbl_db.backup import codec, compat, repo
from pbl_db.backup.tools import Runner, check, child_env, find_tool, run_subprocess, tool_version
from pbl_db.backup.watch import ClosedFiles
from pbl_db.connection import Target, connect, parse_conninfo
from pbl_db.crypto.cipher import KeyRing
from pbl_db.errors import ConfigError, OperationFailed, RefusedError, shown
from pbl_db.tenant import require_rls_bypass

EventSink = Callable[[str], None]
FORMATS = ("directory", "custom", "plain")
RESTORE_MAINTENANCE_WORK_MEM = 512 << 20  # per restore job, when the server's is lower


@dataclass(frozen=True)
class CreateOptions:
    dest: Path
    format: str = "directory"
    jobs: int = 0  # 0: min(4, CPUs) for the directory format
    compress: str = ""  # "": zstd for directory and custom, gzip:6 for plain (the spec's recipe)
    ring: KeyRing | None = None  # encrypt with ring.active when given
    for_major: int = 0  # a restore into this newer major is planned: use its pg_dump


@dataclass
class VerifyReport:
    id: str
    ok: bool
    checked_files: int
    problems: list[str] = field(default_factory=list)
    restored: bool = False
    rows_compared: int = 0


@dataclass(frozen=True)
class Compression:
    """How a backup is compressed: what pg_dump is asked for, and the zstd level pbl applies to
    pg_dump's finished files itself (None: pg_dump compressed, or nothing is)."""

    spec: str  # as recorded in the manifest, e.g. "zstd:3"
    pg_dump_args: list[str]
    pbl_level: int | None

    @property
    def codec(self) -> str:
        return "zstd" if self.pbl_level is not None else "pg_dump"


MAX_JOBS = 256  # --jobs for pg_dump / pg_restore: 0 picks min(4, CPUs)
MAX_MAJOR = 99  # --for-major: a PostgreSQL major version
# the levels pg_dump accepts per method (PostgreSQL's common/compression.c)
LEVELS = {"zstd": (1, 19), "gzip": (1, 9), "lz4": (1, 12)}
LEVEL_HINTS = {
    "zstd": "use 1 (fastest) to 19",
    "gzip": "use 1 (fastest) to 9 (smallest), or none",
    "lz4": "use 1 to 12",
}


def check_jobs(jobs: int, option: str = "--jobs") -> int:
    """0 (pbl picks) or 1..MAX_JOBS, refused before pg_dump or pg_restore starts."""
    if not 0 <= jobs <= MAX_JOBS:
        raise ConfigError(
            f"{option} must be between 0 and {MAX_JOBS} ({shown(jobs)} given)",
            "0 picks min(4, CPUs)",
        )
    return jobs


def parse_compression(compress: str, fmt: str) -> tuple[str, str]:
    """(method, level) from --compress, checked: the method, a level in its range, what the
    plain format can take. Needs no server or tool, so it runs before anything starts."""
    method, _, level = (compress or ("gzip:6" if fmt == "plain" else "zstd")).partition(":")
    method = method.lower() or "gzip"
    if method not in ("gzip", "none", "lz4", "zstd"):
        raise ConfigError(
            f"unknown compression '{shown(compress)}'", "use zstd:N, gzip:N, lz4 or none"
        )
    if level:
        try:
            number = int(level)
        except ValueError:
            raise ConfigError(
                f"compression level '{shown(level)}' is not a number", "e.g. zstd:3 or gzip:6"
            ) from None
        if method == "none":
            raise ConfigError("--compress none takes no level", "use none, or zstd:N / gzip:N")
        low, high = LEVELS[method]
        if not low <= number <= high:
            raise ConfigError(f"{method} level {shown(level)} is out of range", LEVEL_HINTS[method])
        level = str(number)
    if fmt == "plain" and method not in ("gzip", "none"):
        raise ConfigError(
            f"--format plain is restored with gunzip: {method} is not supported",
            "use gzip:N, or the directory or custom format",
        )
    if fmt == "plain" and method == "none":
        method, level = "gzip", "6"  # the spec's recipe: a gzipped SQL file
    return method, level


def check_create_options(options: CreateOptions) -> None:
    """Everything about a backup that can be checked before connecting or writing."""
    if options.format not in FORMATS:
        raise ConfigError(
            f"unknown format '{shown(options.format)}'", f"use one of {', '.join(FORMATS)}"
        )
    check_jobs(options.jobs)
    if not 0 <= options.for_major <= MAX_MAJOR:
        raise ConfigError(
            f"--for-major must be between 0 and {MAX_MAJOR} ({shown(options.for_major)} given)",
            "give the PostgreSQL major you will restore into, e.g. 18",
        )
    parse_compression(options.compress, options.format)
    pathcheck.output_dir(options.dest, "--dest")


def plan_compression(pg_dump: Path, tool_major: int, compress: str, fmt: str) -> Compression:
    """zstd by pg_dump where it was built with it, else by pbl on pg_dump's uncompressed files;
    gzip and lz4 only by pg_dump; plain SQL only gzip (it is restored with gunzip)."""
    method, level = parse_compression(compress, fmt)
    spec = f"{method}:{level}" if level else method
    native = tool_major >= 16 and (method in ("gzip", "none") or codec.pg_dump_has(pg_dump, method))
    if native:
        return Compression(spec, [f"--compress={spec}"], None)
    if method == "zstd":
        level = level or "1"
        none = ["--compress=none"] if tool_major >= 16 else ["-Z", "0"]
        return Compression(f"zstd:{level}", none, int(level))
    if method == "lz4":
        raise ConfigError(
            f"lz4 needs pg_dump 16 or newer built with it ({pg_dump} is not)",
            "use zstd (pbl compresses pg_dump's files itself) or gzip:N",
        )
    return Compression(spec, ["-Z", "0" if method == "none" else (level or "6")], None)


def _count_in_snapshot(target: Target, snapshot: str) -> tuple[dict[str, int], list[str]]:
    """Rows per table and applied migrations, seen through pg_dump's exported snapshot, on a
    connection of its own so the counting overlaps the dump."""
    rows: dict[str, int] = {}
    migrations: list[str] = []
    with connect(target) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        # no parallel workers: the dump already keeps every core busy
        conn.execute(queries.load("set_no_parallel_workers"))
        for (name,) in conn.execute(queries.load("list_user_tables")).fetchall():
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(name))
            ).fetchone()
            rows[name] = int(count[0]) if count else 0
        conn.execute(queries.load("set_search_path"))
        has = conn.execute(queries.load("get_migration_tables")).fetchone()
        if has and has[0]:
            migrations = [r[0] for r in conn.execute(queries.load("list_applied_migrations"))]
        conn.execute("COMMIT")
    return rows, migrations


def create(
    target: Target,
    options: CreateOptions,
    *,
    on_event: EventSink | None = None,
    runner: Runner = run_subprocess,
) -> repo.Backup:
    emit = on_event or (lambda _m: None)
    check_create_options(options)
    params = parse_conninfo(target.conninfo)
    started = time.monotonic()
    with connect(target) as conn:
        require_rls_bypass(conn, "pbl backup create (pg_dump)")
        server_num = conn.info.server_version
        server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        database = conn.info.dbname
        pg_dump = _pg_dump_for(server_num // 10000, options.for_major)
        tool_major = tool_version(pg_dump)
        compression = plan_compression(pg_dump, tool_major, options.compress, options.format)
        # only now, with the server and the tools known: a refusal above leaves no directory
        with repo.writing_into(options.dest):
            root = repo.make_root(options.dest, emit)
            for name in repo.clean_partials(root):
                emit(f"removed {name}, left by a run that was killed")
        started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        backup_id, partial = "", None
        try:
            # inside the try: a Ctrl-C or SIGTERM right after the claim still removes it
            backup_id, partial = repo.claim_partial(root)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            exported = conn.execute(queries.load("begin_backup_snapshot")).fetchone()
            snapshot = str(exported[0]) if exported else ""
            data = repo.private_dir(partial / "data")
            with ThreadPoolExecutor(max_workers=1) as pool:
                counting = pool.submit(_count_in_snapshot, target, snapshot)
                how = compression.spec + (" by pbl" if compression.pbl_level else "")
                emit(
                    f"dumping {database} with {pg_dump.name} {tool_major} ({options.format}, {how})"
                )
                with child_env(params) as env:
                    jobs, finished = _dump_and_finish(
                        runner, pg_dump, tool_major, env, snapshot, options, compression, data
                    )
                rows, migrations = counting.result()
            manifest = repo.Manifest(
                id=backup_id,
                pbl_version=__version__,
                server_version=server_version,
                server_version_num=server_num,
                database=database,
                format=options.format,
                compress=compression.spec,
                jobs=jobs,
                encrypted=options.ring is not None,
                key_id=options.ring.active if options.ring else None,
                migrations=migrations,
                rows=rows,
                started_at=started_at,
                tool=f"{pg_dump} ({tool_major})",
                codec=compression.codec,
                format_version=2 if compression.pbl_level is not None else 1,
            )
            conn.execute("COMMIT")
            for item in finished:
                rel = str(item.path.relative_to(partial))
                manifest.files[rel] = {"sha256": item.sha256, "bytes": item.size}
            manifest.size_bytes = sum(f["bytes"] for f in manifest.files.values())
            manifest.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            manifest.seconds = round(time.monotonic() - started, 3)
            repo.write_manifest(partial, manifest)
            repo.lock_down(partial)
            final = root / backup_id
            repo.finish_partial(partial, final)
        except OSError as exc:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            if partial is not None:
                repo.abandon_partial(partial)
            full = exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
            raise OperationFailed(
                f"writing backup {backup_id} failed: "
                + ("no space left (or file size limit reached)" if full else str(exc.strerror)),
                "free space in the destination or choose another --dest; nothing was kept",
            ) from None
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            if partial is not None:
                repo.abandon_partial(partial)
            raise
    size = manifest.size_bytes / 1e6
    emit(f"backup {backup_id} complete: {size:.1f} MB in {manifest.seconds:.1f}s")
    return repo.Backup(final, manifest, None)


def _pg_dump_for(server_major: int, for_major: int) -> Path:
    """The server's own pg_dump, or with --for-major a newer major's one (said as such)."""
    if for_major <= server_major:
        return find_tool("pg_dump", server_major, prefer_exact=True)
    try:
        return find_tool("pg_dump", for_major, prefer_exact=True)
    except ConfigError as exc:
        found = exc.message.partition(" server (")[2].removesuffix(")")
        raise ConfigError(
            f"--for-major {for_major}: pg_dump {for_major} or newer is needed (the server is "
            f"PostgreSQL {server_major}); {found}",
            exc.hint,
        ) from None


def _dump_and_finish(
    runner: Runner,
    pg_dump: Path,
    tool_major: int,
    env: dict[str, str],
    snapshot: str,
    options: CreateOptions,
    compression: Compression,
    data: Path,
) -> tuple[int, list[codec.Finished]]:
    """Run pg_dump; each file it finishes is compressed (pbl's zstd), encrypted and hashed on a
    pool of threads while it writes the next (directory format; the single-file formats are
    finished when pg_dump exits). Returns the jobs used and the files written."""
    args = [str(pg_dump), "--snapshot", snapshot, "--no-password", "--no-sync"]  # pbl fsyncs
    jobs = 1
    fmt = options.format
    if fmt == "directory":
        jobs = options.jobs or min(4, os.cpu_count() or 1)
        args += ["-Fd", "-j", str(jobs), "-f", str(repo.private_dir(data / "dump"))]
    elif fmt == "custom":
        args += ["-Fc", "-f", str(data / "dump.custom")]
    else:
        args += ["-Fp", "-f", str(data / "dump.sql.gz")]
    args += compression.pg_dump_args
    pipeline = codec.Pipeline(
        data,
        level=compression.pbl_level,
        ring=options.ring,
        compress=codec.compressible if fmt == "directory" else (lambda n: n == "dump.custom"),
        workers=min(4, os.cpu_count() or 1),
    )
    watcher = None
    if fmt == "directory":
        watcher = ClosedFiles(
            data / "dump",
            lambda path: pipeline.submit(path) if codec.compressible(path.name) else None,
        )
        watcher.start()
    try:
        try:
            result = runner(args, env=env)
        finally:
            if watcher is not None:
                watcher.stop()
        check(result, "pg_dump")
        pipeline.submit_rest()
        return jobs, pipeline.results()
    finally:
        pipeline.close()


def _check_files(backup: repo.Backup, report: VerifyReport) -> None:
    root, manifest = backup.path, backup.manifest
    on_disk = {str(p.relative_to(root)) for p in repo.data_files(root)}
    for rel, expected in sorted(manifest.files.items()):
        path = root / rel
        report.checked_files += 1
        if rel not in on_disk:
            report.problems.append(f"{rel} is missing")
            continue
        size = path.stat().st_size
        if size != expected["bytes"]:
            report.problems.append(f"{rel} has {size} bytes, the manifest says {expected['bytes']}")
        elif repo.sha256_file(path) != expected["sha256"]:
            report.problems.append(f"{rel} does not match its sha256 in the manifest")
    for extra in sorted(on_disk - set(manifest.files)):
        report.problems.append(f"{extra} is not in the manifest")


@contextlib.contextmanager
def readable_copy(
    backup: repo.Backup, ring: KeyRing | None, *, data_files: bool = True
) -> Iterator[Path]:
    """The backup's data directory as pg_restore reads it: decrypted and decompressed into a
    private temporary one when pbl encrypted or compressed it. A wrong key or a damaged file
    fails here, before anything is restored. Without data_files, pg_dump's data files are
    decoded (every tag and checksum checked) but not kept: enough for `pg_restore --list`."""
    data = backup.path / "data"
    if not backup.manifest.encrypted and backup.manifest.codec != "zstd":
        yield data
        return
    if backup.manifest.encrypted and ring is None:
        raise ConfigError(
            f"backup {backup.id} is encrypted (key {backup.manifest.key_id})",
            "set PBL_ENCRYPTION_KEYS or --key-file with that key",
        )
    _, scratch = repo.claim_partial(backup.path.parent)  # cleaned up even after a SIGKILL
    try:
        files = list(repo.data_files(backup.path))
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for done in [
                pool.submit(_decode_one, path, data, scratch, ring, data_files) for path in files
            ]:
                done.result()
        yield scratch
    finally:
        repo.abandon_partial(scratch)


def _decode_one(
    path: Path, data: Path, scratch: Path, ring: KeyRing | None, keep_data: bool
) -> None:
    name = str(path.relative_to(data))
    plain = codec.plain_name(name)
    if not keep_data and codec.compressible(Path(plain).name):
        codec.decode_file(path, None, ring, name)
        return
    out = scratch / plain
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as dst:
        codec.decode_file(path, dst, ring, name)


def _dump_path(data: Path, fmt: str) -> Path:
    return data / {"directory": "dump", "custom": "dump.custom", "plain": "dump.sql.gz"}[fmt]


def verify(
    target: Target | None,
    backup: repo.Backup,
    *,
    ring: KeyRing | None = None,
    restore: bool = False,
    runner: Runner = run_subprocess,
    on_event: EventSink | None = None,
) -> VerifyReport:
    """Checksums, then pg_restore --list (or a gzip read); with restore, a full restore into a
    scratch database whose row counts must match the manifest."""
    emit = on_event or (lambda _m: None)
    report = VerifyReport(backup.id, ok=False, checked_files=0)
    try:
        repo.read_manifest(backup.path)  # the sidecar checksum
    except OperationFailed as exc:
        report.problems.append(exc.message)
        return report
    _check_files(backup, report)
    if report.problems:
        return report
    with readable_copy(backup, ring, data_files=restore) as data:
        try:
            _check_readable(backup, data, runner)
        except OperationFailed as exc:
            report.problems.append(exc.message)
        if not report.problems and restore:
            if target is None:
                raise ConfigError("verify --restore needs a database server to restore into")
            scratch_db = f"pbl_verify_{backup.id.lower().replace('-', '_')}"
            emit(f"restoring into scratch database {scratch_db}")
            try:
                _restore_into(
                    target, backup, data, scratch_db, jobs=0, clean=True, runner=runner, emit=emit
                )
                report.restored = True
                report.rows_compared = _compare_rows(target, scratch_db, backup, report)
            finally:
                _drop_database(target, scratch_db)
    report.ok = not report.problems
    if report.ok:
        repo.mark_verified(backup.path, report.restored)
    return report


NAMEDATALEN = 63  # bytes in a PostgreSQL name: longer ones are cut silently by the server
# letters, digits, _ $ - . : no space, = or / (pg_restore -d reads those as a connection string)
DATABASE_NAME = re.compile(r"^\w[\w$.-]*$")
TEMPLATES = ("template0", "template1")


def check_database_name(name: str, option: str = "--target-db") -> str:
    """A database name pbl creates and hands to pg_restore -d as it is: at most 63 bytes (the
    server would cut a longer one and restore under another name), no characters that make it
    a connection string, not a template."""
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > NAMEDATALEN:
        raise ConfigError(
            f"{option} '{shown(name)}' is {size} bytes; PostgreSQL names are at most "
            f"{NAMEDATALEN} bytes",
            "use a shorter name (the server would cut it and restore under another one)",
        )
    if not DATABASE_NAME.match(name) or not name.isprintable():
        raise ConfigError(
            f"{option} '{shown(name)}' is not a valid database name",
            "use letters, digits, _, $, - and . (no spaces, quotes, = or /)",
        )
    if name.lower() in TEMPLATES:
        raise ConfigError(
            f"{option} {name} is a template database", "restore into a database of its own"
        )
    return name


@dataclass(frozen=True)
class RestorePlan:
    """What a restore would do to its target, found without changing anything."""

    target_db: str
    exists: bool
    non_empty: bool


def check_restore(
    target: Target,
    backup: repo.Backup,
    target_db: str,
    *,
    ring: KeyRing | None = None,
    jobs: int = 0,
) -> RestorePlan:
    """Every check a restore makes before it changes anything; --dry-run runs exactly these:
    the name and jobs, a primary to write to, the manifest's checksum, a key for an encrypted
    backup, and the target database's state."""
    from pbl_db.replica import require_primary

    check_database_name(target_db)
    check_jobs(jobs)
    repo.read_manifest(backup.path)
    if backup.manifest.encrypted and ring is None:
        raise ConfigError(
            f"backup {backup.id} is encrypted (key {backup.manifest.key_id})",
            "set PBL_ENCRYPTION_KEYS or --key-file with that key",
        )
    with connect(target) as conn:
        require_primary(conn, "pbl backup restore")
    with connect(_admin(target)) as admin:
        row = admin.execute(queries.load("get_database_exists"), {"name": target_db}).fetchone()
    exists = bool(row and row[0])
    used = None
    if exists:
        with connect(psycopg.conninfo.make_conninfo(target.conninfo, dbname=target_db)) as db:
            used = db.execute(queries.load("count_user_relations")).fetchone()
    return RestorePlan(target_db, exists, bool(used and used[0]))


def _refuse_non_empty(target_db: str) -> RefusedError:
    return RefusedError(
        f"database {target_db} is not empty",
        "restore into a new name, or add --clean to drop and recreate it",
    )


def restore(
    target: Target,
    backup: repo.Backup,
    target_db: str,
    *,
    ring: KeyRing | None = None,
    jobs: int = 0,
    clean: bool = False,
    runner: Runner = run_subprocess,
    on_event: EventSink | None = None,
) -> int:
    """Restore into target_db on the target's server; returns the rows restored. Nothing is
    created or dropped until every check has passed (check_restore, the files' checksums, the
    archive opening, the tools found)."""
    plan = check_restore(target, backup, target_db, ring=ring, jobs=jobs)
    if plan.non_empty and not clean:
        raise _refuse_non_empty(target_db)
    emit = on_event or (lambda _m: None)
    report = VerifyReport(backup.id, ok=False, checked_files=0)
    _check_files(backup, report)
    if report.problems:
        raise OperationFailed(
            f"backup {backup.id} failed its checks: {report.problems[0]}", "nothing was restored"
        )
    with readable_copy(backup, ring) as data:
        _check_readable(backup, data, runner)  # before _restore_into drops anything
        _restore_into(
            target, backup, data, target_db, jobs=jobs, clean=clean, runner=runner, emit=emit
        )
    check_report = VerifyReport(backup.id, ok=True, checked_files=0)
    rows = _compare_rows(target, target_db, backup, check_report)
    if check_report.problems:
        raise OperationFailed(
            f"restored {target_db}, but {check_report.problems[0]}", "inspect the database"
        )
    return rows


def _admin(target: Target) -> str:
    return psycopg.conninfo.make_conninfo(target.conninfo, dbname="postgres")


def _restore_into(
    target: Target,
    backup: repo.Backup,
    data: Path,
    target_db: str,
    *,
    jobs: int,
    clean: bool,
    runner: Runner,
    emit: EventSink,
) -> None:
    fmt = backup.manifest.format
    with connect(_admin(target)) as admin:
        server_major = admin.info.server_version // 10000
        major = _restore_tool_major(backup, server_major)
        # the tools first: a missing one must not leave an empty database behind
        pg_restore = restore_major = None
        if fmt != "plain":
            pg_restore = find_tool("pg_restore", major, prefer_exact=True)
            restore_major = tool_version(pg_restore)
        via_psql = restore_major is None or compat.needs_rewrite(restore_major, server_major)
        psql = find_tool("psql", major, prefer_exact=True) if via_psql else None
        mem = admin.execute(queries.load("get_maintenance_work_mem_bytes")).fetchone()
        exists = admin.execute(queries.load("get_database_exists"), {"name": target_db}).fetchone()
        if exists and exists[0]:
            with connect(psycopg.conninfo.make_conninfo(target.conninfo, dbname=target_db)) as db:
                used = db.execute(queries.load("count_user_relations")).fetchone()
            if used and used[0] and not clean:
                raise _refuse_non_empty(target_db)
            if clean:
                emit(f"dropping and recreating {target_db} (--clean)")
                admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(target_db)))
                exists = None
        if not exists or not exists[0]:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(target_db))
            )
    params = {**parse_conninfo(target.conninfo), "dbname": target_db}
    if mem and int(mem[0]) < RESTORE_MAINTENANCE_WORK_MEM:
        # index builds after the data are most of a restore's time: 64MB (the default) costs
        # about a tenth more than 512MB on the demo database; only pbl's sessions get it
        setting = f"-c maintenance_work_mem={RESTORE_MAINTENANCE_WORK_MEM // (1 << 20)}MB"
        params["options"] = f"{params.get('options') or ''} {setting}".strip()
    dump = _dump_path(data, fmt)
    emit(f"restoring {backup.id} into {target_db}")
    with child_env(params) as env:
        if pg_restore is not None:
            if psql is None:
                args = [str(pg_restore), "--no-password", "--exit-on-error", "-d", target_db]
                if fmt == "directory":
                    args += ["-j", str(jobs or min(4, os.cpu_count() or 1))]
                check(runner([*args, str(dump)], env=env), "pg_restore")
                return
            emit(
                f"PostgreSQL {server_major} target, pg_restore {restore_major}: restoring its "
                "script through psql in one job, without the settings the server lacks"
            )
        assert psql is not None
        with tempfile.TemporaryDirectory(prefix="pbl-restore-") as scratch:
            path = Path(scratch) / "restore.sql"  # table data in clear: 0600 in a 0700 directory
            path.touch(mode=0o600)
            if pg_restore is None:
                with gzip.open(dump, "rb") as source, path.open("wb") as plain:
                    shutil.copyfileobj(source, plain)
            else:
                # a file name, not "-f -": glibc's fdopen(..., "a") would set O_APPEND on ours
                check(runner([str(pg_restore), "-f", str(path), str(dump)], env=env), "pg_restore")
            with path.open("r+b") as script:
                for name in compat.neutralise_preamble(script.fileno(), server_major):
                    emit(f"left out SET {name}: PostgreSQL {server_major} does not have it")
                result = runner(
                    [
                        str(psql),
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "--single-transaction",
                        "--no-password",
                        "-o",
                        os.devnull,
                    ],
                    env=env,
                    stdin=script,
                )
        check(result, "psql")


def _check_readable(backup: repo.Backup, data: Path, runner: Runner) -> None:
    """The archive opens (a gzip read, or pg_restore --list): checked before anything is
    dropped or restored."""
    fmt = backup.manifest.format
    dump = _dump_path(data, fmt)
    if fmt == "plain":
        try:
            with gzip.open(dump, "rb") as handle:
                while handle.read(1 << 20):
                    pass
        except (OSError, EOFError) as exc:
            raise OperationFailed(f"{dump.name} is not a readable gzip file: {exc}") from None
        return
    pg_restore = find_tool("pg_restore", _restore_tool_major(backup, 0), prefer_exact=True)
    check(runner([str(pg_restore), "--list", str(dump)], env=dict(os.environ)), "pg_restore --list")


def _restore_tool_major(backup: repo.Backup, target_major: int) -> int:
    """The lowest psql/pg_restore major that restores this backup onto the target server: it must
    read what the backup's pg_dump wrote (archive format, psql meta-commands such as 17.6's
    \\restrict) and know the target server, which is newer than the source in an upgrade."""
    made_by = re.search(r"\((\d+)\)$", backup.manifest.tool or "")
    dump_major = int(made_by.group(1)) if made_by else 0
    return max(backup.manifest.server_version_num // 10000, dump_major, target_major)


def _compare_rows(target: Target, dbname: str, backup: repo.Backup, report: VerifyReport) -> int:
    total = 0
    with connect(psycopg.conninfo.make_conninfo(target.conninfo, dbname=dbname)) as conn:
        for name, expected in sorted(backup.manifest.rows.items()):
            try:
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(name)))
                got = int(row.fetchone()[0])  # type: ignore[index]
            except psycopg.Error:
                report.problems.append(f"table {name} is missing after the restore")
                continue
            total += got
            if got != expected:
                report.problems.append(f"table {name} has {got} rows, the manifest says {expected}")
    return total


def _drop_database(target: Target, dbname: str) -> None:
    with contextlib.suppress(psycopg.Error), connect(_admin(target)) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))


def prune_plan(
    backups: list[repo.Backup], keep_daily: int, keep_weekly: int, keep_monthly: int
) -> tuple[list[repo.Backup], list[repo.Backup]]:
    """(keep, remove) by grandfather-father-son; the newest verified backup is always kept."""
    keep: dict[str, repo.Backup] = {}
    for count, bucket in (
        (keep_daily, "%Y-%m-%d"),
        (keep_weekly, "%G-W%V"),
        (keep_monthly, "%Y-%m"),
    ):
        seen: list[str] = []
        for backup in backups:  # newest first
            key = backup.created.strftime(bucket)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(key)
            keep[backup.id] = backup
    verified = [b for b in backups if b.verified_at]
    if verified:
        keep[verified[0].id] = verified[0]
    return [b for b in backups if b.id in keep], [b for b in backups if b.id not in keep]
