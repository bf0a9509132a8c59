"""Apply and roll back migrations on yoyo's psycopg backend, the way a DBA needs it done.

What pbl adds to yoyo:
- one connection per run, holding a session advisory lock: concurrent runs serialize, and a
  killed run's lock goes with its connection (yoyo's lock row would survive a SIGKILL);
- each transactional migration, its yoyo bookkeeping and its checksum commit together, so a
  run killed mid-migration leaves nothing half-applied;
- lock_timeout / statement_timeout per migration;
- a sha256 of each applied file (yoyo hashes the file name only), so edits are caught as drift.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import DatabaseURI
from yoyo.migrations import default_migration_table

from pbl_db import queries
from pbl_db.connection import Target, connect
from pbl_db.errors import BusyError, ConfigError, OperationFailed, RefusedError, shown
from pbl_db.migrate.source import MigrationFile, load_migrations
from pbl_db.migrate.state import MigrationStatus, read_state, statuses
from pbl_db.replica import require_primary
from pbl_db.timeouts import check_timeouts

EventSink = Callable[[str], None]


MAX_LOCK_WAIT = 86400.0  # seconds: a day


@dataclass(frozen=True)
class Settings:
    lock_timeout: str = "5s"
    statement_timeout: str = "15min"
    lock_wait: float = 300.0  # seconds to wait for another pbl migrate run

    def check(self) -> None:
        """Refuse a bad value before anything connects (ConfigError, exit 2)."""
        check_timeouts(self.lock_timeout, self.statement_timeout)
        wait = self.lock_wait
        if not math.isfinite(wait) or not 0 <= wait <= MAX_LOCK_WAIT:
            raise ConfigError(
                f"--lock-wait {shown(wait)} must be a number of seconds from 0 to "
                f"{MAX_LOCK_WAIT:.0f} (24 h)",
                "use e.g. --lock-wait 300",
            )


@dataclass(frozen=True)
class StepResult:
    id: str
    seconds: float


class _Backend(PostgresqlPsycopgBackend):  # type: ignore[misc]
    """yoyo's psycopg backend on a connection pbl opened (no password in a URI)."""

    def __init__(self, conninfo: str, dbname: str) -> None:
        self._pbl_conninfo = conninfo
        uri = DatabaseURI("postgresql+psycopg", None, None, None, None, dbname, {})
        super().__init__(uri, default_migration_table)
        self.has_transactional_ddl = True

    def connect(self, dburi: Any) -> psycopg.Connection[Any]:
        return connect(self._pbl_conninfo, autocommit=True)

    def copy(self) -> _Backend:
        return _Backend(self._pbl_conninfo, self.uri.database)

    @contextmanager
    def lock(self, timeout: int = 10) -> Iterator[None]:
        # pbl holds its advisory lock for the whole run; yoyo's lock table is not used
        yield

    @contextmanager
    def disable_transactions(self) -> Iterator[None]:
        # the connection is in autocommit and no transaction is open: nothing to undo
        yield


class Migrator:
    """Reads migration state and changes it; returns data, never prints."""

    def __init__(
        self,
        target: Target | str,
        directory: Path,
        settings: Settings | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.conninfo = target.conninfo if isinstance(target, Target) else target
        self.directory = directory
        self.settings = settings or Settings()
        self.settings.check()
        self.emit: EventSink = on_event or (lambda _msg: None)

    # ---- reading -------------------------------------------------------------------------

    def files(self) -> list[MigrationFile]:
        return load_migrations(self.directory)

    def status(self) -> list[MigrationStatus]:
        files = self.files()
        applied, recorded = self._state()
        return statuses(files, applied, recorded)

    def plan(self, target_id: str | None = None) -> list[MigrationFile]:
        """Pending migrations up to target_id; touches nothing."""
        files = self.files()
        _check_target(files, target_id)
        applied, recorded = self._state()
        _refuse_drift(statuses(files, applied, recorded))
        return _pending(files, applied, target_id)

    def plan_rollback(self, count: int | None = 1, to: str | None = None) -> list[MigrationFile]:
        """Applied migrations that a rollback would undo, newest first; touches nothing."""
        files = self.files()
        applied, recorded = self._state()
        return _rollback_plan(files, applied, recorded, count, to)

    def _state(self) -> tuple[dict[str, datetime], dict[str, tuple[str, str]]]:
        with connect(self.conninfo) as conn:
            conn.execute(queries.load("set_search_path"))
            return read_state(conn)

    # ---- changing ------------------------------------------------------------------------

    def apply(self, target_id: str | None = None) -> list[StepResult]:
        files = self.files()
        _check_target(files, target_id)
        with self._locked_backend() as backend:
            conn = backend.connection
            applied, recorded = read_state(conn)
            current = statuses(files, applied, recorded)
            _refuse_drift(current)
            self._adopt_unrecorded(conn, files, applied, recorded)
            return self._run_all(backend, _pending(files, applied, target_id), "apply")

    def rollback(self, count: int | None = 1, to: str | None = None) -> list[StepResult]:
        files = self.files()
        with self._locked_backend() as backend:
            applied, recorded = read_state(backend.connection)
            plan = _rollback_plan(files, applied, recorded, count, to)
            return self._run_all(backend, plan, "rollback")

    def accept(self, migration_id: str) -> MigrationStatus:
        """Record the current checksums of an applied migration after its edit was reviewed."""
        files = {f.id: f for f in self.files()}
        with self._locked_backend() as backend:
            conn = backend.connection
            applied, _ = read_state(conn)
            if migration_id not in applied:
                raise ConfigError(
                    f"migration {shown(migration_id)!r} is not applied",
                    "only applied ones can be accepted; see 'pbl migrate status' for ids",
                )
            if migration_id not in files:
                raise ConfigError(
                    f"migration {shown(migration_id)} has no file in {shown(self.directory)}",
                    "restore the file first",
                )
            _record_checksum(conn, files[migration_id])
            applied, recorded = read_state(conn)
        return next(
            s for s in statuses(list(files.values()), applied, recorded) if s.id == migration_id
        )

    # ---- internals -----------------------------------------------------------------------

    @contextmanager
    def _locked_backend(self) -> Iterator[_Backend]:
        dbname = str(psycopg.conninfo.conninfo_to_dict(self.conninfo).get("dbname") or "")
        backend = _Backend(self.conninfo, dbname)
        conn: psycopg.Connection[Any] = backend.connection
        try:
            conn.execute(queries.load("set_search_path"))
            require_primary(conn, "pbl migrate")
            if conn.info.server_version >= 140000:
                conn.execute(queries.load("set_client_check_interval"))
            self._check_timeouts(conn)
            self._acquire_lock(conn)
            try:
                backend.ensure_internal_schema_updated()
                backend._internal_schema_updated = True
                conn.execute(queries.load("create_migration_checksum_table"))
                yield backend
            finally:
                if (
                    not conn.closed
                    and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                ):
                    conn.execute(queries.load("release_migrate_lock"))
        finally:
            conn.close()

    def _timeouts(self) -> dict[str, str]:
        return check_timeouts(self.settings.lock_timeout, self.settings.statement_timeout)

    def _check_timeouts(self, conn: psycopg.Connection[Any]) -> None:
        """Let the server judge the timeout values once, before any migration runs."""
        try:
            with conn.transaction():
                conn.execute(
                    queries.load("set_migration_timeouts"), {**self._timeouts(), "is_local": True}
                )
        except psycopg.errors.InvalidParameterValue as exc:
            raise ConfigError(
                f"bad timeout value: {shown(_primary(exc))}", "use e.g. 5s, 500ms, 2min, 0"
            ) from None

    def _acquire_lock(self, conn: psycopg.Connection[Any]) -> None:
        deadline = time.monotonic() + self.settings.lock_wait
        announced = False
        while True:
            row = conn.execute(queries.load("try_migrate_lock")).fetchone()
            if row and row[0]:
                return
            cur = conn.cursor(row_factory=dict_row)
            holder = cur.execute(queries.load("get_migrate_lock_holder")).fetchone()
            who = _describe_holder(holder)
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"another pbl migrate run holds the migration lock ({who})",
                    "wait for it to finish and retry; --lock-wait sets how long to wait",
                )
            if not announced:
                self.emit(f"waiting for another pbl migrate run ({who})")
                announced = True
            time.sleep(0.2)

    def _adopt_unrecorded(
        self,
        conn: psycopg.Connection[Any],
        files: list[MigrationFile],
        applied: dict[str, datetime],
        recorded: dict[str, tuple[str, str]],
    ) -> None:
        for migration in files:
            if migration.id in applied and migration.id not in recorded:
                _record_checksum(conn, migration)
                self.emit(f"recorded checksum of {migration.id} (applied before pbl tracked it)")

    def _run_all(
        self, backend: _Backend, plan: list[MigrationFile], direction: str
    ) -> list[StepResult]:
        doing, done_verb = (
            ("applying", "applied") if direction == "apply" else ("rolling back", "rolled back")
        )
        done = []
        for migration in plan:
            self.emit(f"{doing} {migration.id}")
            started = time.monotonic()
            self._run(backend, migration, direction)
            done.append(StepResult(migration.id, time.monotonic() - started))
            self.emit(f"{done_verb} {migration.id} in {done[-1].seconds:.2f}s")
        return done

    def _run(self, backend: _Backend, migration: MigrationFile, direction: str) -> None:
        conn: psycopg.Connection[Any] = backend.connection
        timeouts = self._timeouts()
        leftover: list[str] = []  # invalid indexes a failed non-transactional run could not drop
        try:
            if migration.transactional:
                with backend.transaction():
                    conn.execute(
                        queries.load("set_migration_timeouts"), {**timeouts, "is_local": True}
                    )
                    self._steps(backend, migration, direction)
                    self._bookkeep(backend, migration, direction)
            else:
                self._run_outside_transaction(backend, migration, direction, timeouts, leftover)
        except psycopg.errors.LockNotAvailable:
            raise BusyError(
                f"{migration.id}: could not get a lock within lock_timeout="
                f"{timeouts['lock_timeout']} (another session holds a conflicting lock); "
                f"{_left_as(migration, direction, leftover)}",
                "retry when the blocking session is done (pbl locks), or raise --lock-timeout",
            ) from None
        except psycopg.errors.QueryCanceled:
            raise OperationFailed(
                f"{migration.id}: a statement ran longer than statement_timeout="
                f"{timeouts['statement_timeout']}; {_left_as(migration, direction, leftover)}",
                "raise --statement-timeout (0 disables it) or split the migration",
            ) from None
        except psycopg.Error as exc:
            raise OperationFailed(
                f"{migration.id} failed ({direction}): {_primary(exc)}",
                _left_as(migration, direction, leftover),
            ) from None

    def _run_outside_transaction(
        self,
        backend: _Backend,
        migration: MigrationFile,
        direction: str,
        timeouts: dict[str, str],
        leftover: list[str],
    ) -> None:
        """Statements in autocommit; a failed CREATE INDEX CONCURRENTLY leaves an invalid index,
        which is dropped (or named, when it cannot be) so a rerun starts clean."""
        conn: psycopg.Connection[Any] = backend.connection
        before = _invalid_indexes(conn)
        conn.execute(queries.load("set_migration_timeouts"), {**timeouts, "is_local": False})
        try:
            self._steps(backend, migration, direction)
        except psycopg.Error:
            for index in sorted(_invalid_indexes(conn) - before):
                try:
                    conn.execute(
                        sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.SQL(index))
                    )
                    self.emit(f"dropped invalid index {index} that {migration.id} left")
                except psycopg.Error:
                    leftover.append(index)
            raise
        finally:
            conn.execute(queries.load("reset_migration_timeouts"))
        text = " ".join(migration.statements + migration.rollback_statements).lower()
        invalid = [i for i in _invalid_indexes(conn) if i.split(".")[-1].strip('"') in text]
        if invalid:
            raise RefusedError(
                f"{migration.id} ran, but index {', '.join(invalid)} is invalid (a failed "
                "CREATE INDEX CONCURRENTLY left it; IF NOT EXISTS then skips it); not recorded",
                "drop it (DROP INDEX CONCURRENTLY) and rerun; write such migrations to drop "
                "the index first",
            )
        with backend.transaction():
            self._bookkeep(backend, migration, direction)

    @staticmethod
    def _steps(backend: _Backend, migration: MigrationFile, direction: str) -> None:
        # yoyo prints the rows of any SELECT in a migration to stdout; pbl keeps stdout clean
        with redirect_stdout(io.StringIO()):
            migration.yoyo.process_steps(backend, direction)

    @staticmethod
    def _bookkeep(backend: _Backend, migration: MigrationFile, direction: str) -> None:
        conn: psycopg.Connection[Any] = backend.connection
        backend.log_migration(migration.yoyo, direction)
        if direction == "apply":
            backend.mark_one(migration.yoyo, log=False)
            _record_checksum(conn, migration)
        else:
            backend.unmark_one(migration.yoyo, log=False)
            conn.execute(queries.load("delete_migration_checksum"), {"migration_id": migration.id})


def _describe_holder(holder: dict[str, Any] | None) -> str:
    """'backend pid 123, user x, app y, from z, since t', with what this role may see."""
    if not holder:
        return "a session that just finished"
    parts = [f"backend pid {holder['pid']}"]
    if holder.get("usename"):
        parts.append(f"user {holder['usename']}")
    if holder.get("application_name"):
        parts.append(str(holder["application_name"]))
    if holder.get("client"):
        parts.append(f"from {holder['client']}")
    if holder.get("backend_start"):
        parts.append(f"since {holder['backend_start']:%Y-%m-%d %H:%M:%S%z}")
    return ", ".join(parts)


def _primary(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc).splitlines()[0]
    return f"{message} (SQLSTATE {exc.sqlstate})" if exc.sqlstate else message


def _left_as(migration: MigrationFile, direction: str, leftover: list[str]) -> str:
    still = "pending" if direction == "apply" else "applied"
    if migration.transactional:
        return f"{migration.id} was rolled back as a whole and is still {still}"
    if leftover:
        return (
            f"{migration.id} is still {still}; invalid index {', '.join(leftover)} remains: drop "
            "it (DROP INDEX CONCURRENTLY) once the blocking session is gone, then rerun"
        )
    return (
        f"{migration.id} is non-transactional and still {still}: statements that ran were undone "
        "where its rollback allows; check the schema before rerunning"
    )


def _invalid_indexes(conn: psycopg.Connection[Any]) -> set[str]:
    return {row[0] for row in conn.execute(queries.load("list_invalid_indexes"))}


def _record_checksum(conn: psycopg.Connection[Any], migration: MigrationFile) -> None:
    conn.execute(
        queries.load("upsert_migration_checksum"),
        {
            "migration_id": migration.id,
            "sha256": migration.sha256,
            "rollback_sha256": migration.rollback_sha256,
        },
    )


def _refuse_drift(statuses: list[MigrationStatus]) -> None:
    drifted = [s for s in statuses if s.state == "drifted"]
    if drifted:
        names = ", ".join(f"{s.id} ({s.detail})" for s in drifted)
        raise RefusedError(
            f"applied migration edited: {names}",
            f"review the change, then 'pbl migrate accept {drifted[0].id}', or restore the file",
        )
    missing = [s.id for s in statuses if s.state == "missing"]
    if missing:
        raise RefusedError(
            f"applied migration not found on disk: {', '.join(missing)}",
            "restore the file(s) or point --sql-dir at the right directory",
        )


def _check_target(files: list[MigrationFile], target_id: str | None) -> None:
    if target_id is not None and target_id not in {f.id for f in files}:
        raise ConfigError(
            f"--target: unknown migration {shown(target_id)!r}", "see 'pbl migrate status' for ids"
        )


def _pending(
    files: list[MigrationFile], applied: dict[str, datetime], target_id: str | None
) -> list[MigrationFile]:
    _check_target(files, target_id)
    ids = [f.id for f in files]
    limit = ids.index(target_id) + 1 if target_id is not None else len(files)
    return [f for f in files[:limit] if f.id not in applied]


def _rollback_plan(
    files: list[MigrationFile],
    applied: dict[str, datetime],
    recorded: dict[str, tuple[str, str]],
    count: int | None,
    to: str | None,
) -> list[MigrationFile]:
    if count is not None and count < 1:
        raise ConfigError("--count must be at least 1", "or use --count all")
    missing = [m for m in applied if m not in {f.id for f in files}]
    if missing:
        raise RefusedError(
            f"applied migration not found on disk: {', '.join(missing)}",
            "cannot roll back without its rollback file; restore it",
        )
    done = [f for f in files if f.id in applied]
    if to is not None:
        ids = [f.id for f in files]
        if to not in ids:
            raise ConfigError(
                f"--to: unknown migration {shown(to)!r}", "see 'pbl migrate status' for ids"
            )
        if to not in applied:
            raise ConfigError(f"--to {to}: that migration is not applied", "pick an applied one")
        chosen = [f for f in done if ids.index(f.id) > ids.index(to)]
    else:
        if count is not None and done and count > len(done):
            raise ConfigError(
                f"--count {count}: only {len(done)} migration(s) are applied",
                f"use --count {len(done)} or --count all",
            )
        chosen = done if count is None else done[-count:] if count else []
    plan = list(reversed(chosen))
    drifted = [s for s in statuses(plan, applied, recorded) if s.state == "drifted"]
    if drifted:
        raise RefusedError(
            f"cannot roll back edited migration {drifted[0].id} ({drifted[0].detail})",
            f"review it, then 'pbl migrate accept {drifted[0].id}'",
        )
    return plan
