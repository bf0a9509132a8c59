"""Re-encrypt every value not under the active key: COPY out, crypto, COPY in, one UPDATE.

Each batch is one short transaction. A row that changed between read and write is left for the
next run (the UPDATE matches the old values), rows already on the active key are never read
again, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from pbl_db import queries
from pbl_db.crypto.cipher import Context, DecryptError, KeyRing
from pbl_db.crypto.fields import ENCRYPTED_FIELDS, WRAPPER, Field, token_of
from pbl_db.errors import ConfigError
from pbl_db.replica import require_primary
from pbl_db.tenant import require_rls_bypass

ProgressSink = Callable[[int, int], None]
ZERO_UUID = uuid.UUID(int=0)
RETRIES = 3
MAX_BATCH_SIZE = 1_000_000  # rows per transaction; more would hold locks and memory too long


@dataclass(frozen=True)
class KeyUsage:
    table: str
    column: str
    key_id: str
    values: int


@dataclass(frozen=True)
class Failure:
    table: str
    column: str
    row_id: str
    reason: str


@dataclass
class RotationReport:
    active_key: str
    rows_to_rotate: int = 0
    rows_updated: int = 0
    values_rotated: dict[str, int] = field(default_factory=dict)
    changed_concurrently: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def _value(f: Field) -> sql.Composable:
    column = sql.Identifier(f.column)
    return (
        column if f.kind == "text" else sql.SQL("({} ->> {})").format(column, sql.Literal(WRAPPER))
    )


def _needs(fields: list[Field], active: str) -> sql.Composable:
    return sql.SQL(" OR ").join(
        sql.SQL("({v} IS NOT NULL AND split_part({v}, ':', 3) <> {a})").format(
            v=_value(f), a=sql.Literal(active)
        )
        for f in fields
    )


def _cast(f: Field) -> sql.Composable:
    return sql.SQL("") if f.kind == "text" else sql.SQL("::jsonb")


def key_usage(conn: psycopg.Connection[Any]) -> list[KeyUsage]:
    """How many values of each encrypted field each key id protects."""
    result = []
    for f in ENCRYPTED_FIELDS:
        query = sql.SQL(queries.load("count_key_usage")).format(
            value=_value(f), table=sql.Identifier(f.table)
        )
        for key_id, count in conn.execute(query):
            result.append(KeyUsage(f.table, f.column, key_id, count))
    return result


def _tables() -> dict[str, list[Field]]:
    tables: dict[str, list[Field]] = {}
    for f in ENCRYPTED_FIELDS:
        tables.setdefault(f.table, []).append(f)
    return tables


def count_to_rotate(conn: psycopg.Connection[Any], active: str) -> int:
    total = 0
    for table, fields in _tables().items():
        query = sql.SQL(queries.load("count_rows_to_rotate")).format(
            table=sql.Identifier(table), needs=_needs(fields, active)
        )
        row = conn.execute(query).fetchone()
        total += row[0] if row else 0
    return total


class _Writer:
    """Writes staged batches on its own connection, in a thread, while the caller reads and
    re-encrypts the next batch: the server's work overlaps the Python crypto."""

    def __init__(self, conn: psycopg.Connection[Any], report: RotationReport) -> None:
        self.conn = conn
        self.report = report
        self.queue: queue.Queue[tuple[str, list[Field], list[tuple[Any, ...]]] | None] = (
            queue.Queue(maxsize=2)
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="pbl-rotate-writer", daemon=True)
        self.thread.start()

    def put(self, table: str, fields: list[Field], staged: list[tuple[Any, ...]]) -> None:
        self.check()
        self.queue.put((table, fields, staged))

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self, *, raise_error: bool = True) -> None:
        """Write what is queued, then stop. While the caller is unwinding from its own error,
        raise_error=False keeps a writer error from hiding it."""
        self.queue.put(None)
        self.thread.join()
        if raise_error:
            self.check()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain after a failure; close() raises it
            try:
                _apply_batch(self.conn, *item, self.report)
            except BaseException as exc:  # handed to the caller's thread
                self.error = exc


def check_batch_size(batch_size: int) -> int:
    """ConfigError unless 1 <= batch_size <= MAX_BATCH_SIZE."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ConfigError(
            f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}", "e.g. --batch-size 5000"
        )
    return batch_size


def rotate(
    conn: psycopg.Connection[Any],
    ring: KeyRing,
    *,
    batch_size: int = 5000,
    on_progress: ProgressSink | None = None,
    writer_conn: psycopg.Connection[Any] | None = None,
) -> RotationReport:
    """Re-encrypt under ring.active. Both connections in autocommit mode; with writer_conn the
    writes run on it in a second thread, overlapping reading and crypto on conn."""
    check_batch_size(batch_size)
    require_primary(conn, "pbl crypto rotate")
    require_rls_bypass(conn, "key rotation")
    out = writer_conn or conn
    if writer_conn is not None:
        require_rls_bypass(writer_conn, "key rotation")
    started = time.monotonic()
    report = RotationReport(ring.active)
    report.rows_to_rotate = count_to_rotate(conn, ring.active)
    progress = on_progress or (lambda _done, _total: None)
    tables = _tables()
    for table, fields in tables.items():
        for f in fields:
            report.values_rotated.setdefault(f"{table}.{f.column}", 0)
        _create_staging(out, sql.Identifier(f"pbl_rotate_{table}"), fields)
    writer = _Writer(out, report) if writer_conn is not None else None
    done = 0
    try:
        for table, fields in tables.items():
            after = ZERO_UUID
            while rows := _read_batch(conn, table, fields, ring.active, after, batch_size):
                after = rows[-1][0]
                results = (_reencrypt(ring, table, fields, row, report) for row in rows)
                staged = [s for s in results if s is not None]
                if staged and writer is not None:
                    writer.put(table, fields, staged)
                elif staged:
                    _apply_batch(conn, table, fields, staged, report)
                done += len(rows)
                progress(done, report.rows_to_rotate)
    except BaseException:
        if writer is not None:
            writer.close(raise_error=False)
        raise
    else:
        if writer is not None:
            writer.close()
    finally:
        with contextlib.suppress(psycopg.Error):
            for table in tables:
                out.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"pbl_rotate_{table}"))
                )
    report.seconds = time.monotonic() - started
    return report


def _create_staging(
    conn: psycopg.Connection[Any], staging: sql.Identifier, fields: list[Field]
) -> None:
    # text throughout: JSON travels as its text and is cast in the UPDATE, so Python never
    # parses or re-serialises anything but the {"pbl_encrypted": ...} wrapper
    columns = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(f"{prefix}_{f.column}"))
        for f in fields
        for prefix in ("old", "new")
    )
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
    conn.execute(
        sql.SQL(queries.load("create_rotation_table")).format(staging=staging, columns=columns)
    )


def _read_batch(
    conn: psycopg.Connection[Any],
    table: str,
    fields: list[Field],
    active: str,
    after: uuid.UUID,
    limit: int,
) -> list[tuple[Any, ...]]:
    query = sql.SQL(queries.load("copy_rotation_batch")).format(
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
        table=sql.Identifier(table),
        after=sql.Literal(after),
        needs=_needs(fields, active),
        limit=sql.Literal(limit),
    )
    types = ["uuid", "uuid"] + ["text"] * len(fields)
    with conn.cursor() as cur, cur.copy(query) as copy:
        copy.set_types(types)
        return list(copy.rows())


def _reencrypt(
    ring: KeyRing, table: str, fields: list[Field], row: tuple[Any, ...], report: RotationReport
) -> tuple[Any, ...] | None:
    row_uuid, tenant_uuid, *values = row
    row_id, tenant_id = str(row_uuid), str(tenant_uuid)  # canonical once, not per field
    out: list[Any] = [row_uuid]
    changed = 0
    for f, value in zip(fields, values, strict=True):
        new = value
        if value is not None:
            ctx = Context(table, f.column, row_id, tenant_id)
            try:
                token = value if f.kind == "text" else token_of(json.loads(value))
                fresh = ring.reencrypt(token, ctx)
                if fresh is not token:
                    new = fresh if f.kind == "text" else json.dumps({WRAPPER: fresh})
            except (DecryptError, ValueError) as exc:
                reason = exc.message if isinstance(exc, DecryptError) else "not valid JSON"
                report.failures.append(Failure(table, f.column, row_id, reason))
            if new is not value:
                changed += 1
        out.extend((value, new))
    return tuple(out) if changed else None


def _apply_batch(
    conn: psycopg.Connection[Any],
    table: str,
    fields: list[Field],
    staged: list[tuple[Any, ...]],
    report: RotationReport,
) -> None:
    """One short transaction; retried on deadlock or serialization failure (nothing changed)."""
    staging = sql.Identifier(f"pbl_rotate_{table}")
    for attempt in range(1, RETRIES + 1):
        try:
            with conn.transaction():
                updated = _write_batch(conn, table, fields, staging, staged)
            break
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            if attempt == RETRIES:
                raise
            time.sleep(0.1 * attempt)
    report.rows_updated += len(updated)
    report.changed_concurrently += len(staged) - len(updated)
    for row in staged:
        if row[0] in updated:
            for i, f in enumerate(fields):
                if row[1 + 2 * i] is not row[2 + 2 * i]:
                    report.values_rotated[f"{table}.{f.column}"] += 1


def _write_batch(
    conn: psycopg.Connection[Any],
    table: str,
    fields: list[Field],
    staging: sql.Identifier,
    staged: list[tuple[Any, ...]],
) -> set[uuid.UUID]:
    columns = [sql.Identifier("id")] + [
        sql.Identifier(f"{prefix}_{f.column}") for f in fields for prefix in ("old", "new")
    ]
    types = ["uuid"] + ["text"] * (2 * len(fields))
    with conn.cursor() as cur:
        copy_in = sql.SQL("COPY {} ({}) FROM STDIN").format(staging, sql.SQL(", ").join(columns))
        with cur.copy(copy_in) as copy:
            copy.set_types(types)
            for row in staged:
                copy.write_row(row)
        update = sql.SQL(queries.load("update_from_rotation")).format(
            table=sql.Identifier(table),
            staging=staging,
            assignments=sql.SQL(", ").join(
                sql.SQL("{} = s.{}{}").format(
                    sql.Identifier(f.column), sql.Identifier(f"new_{f.column}"), _cast(f)
                )
                for f in fields
            ),
            unchanged=sql.SQL(" AND ").join(
                sql.SQL("t.{} IS NOT DISTINCT FROM s.{}{}").format(
                    sql.Identifier(f.column), sql.Identifier(f"old_{f.column}"), _cast(f)
                )
                for f in fields
            ),
        )
        cur.execute(update)
        return {row[0] for row in cur.fetchall()}
