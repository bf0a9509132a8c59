"""`pbl audit seal`: a Merkle root per tenant and closed period over its rows' hashes.

Each block covers one tenant's chained rows of one UTC period (hour, day or month of
event_timestamp) that were not sealed yet; its leaves are those rows in chain order. Blocks are
numbered 1, 2, ... across tenants and each seal record carries the previous record's hash, so the
seals form a chain of their own. A row that arrives for an already sealed period goes into a
further block for that period on the next run. Consecutive blocks of about TXN_ROWS rows share a
transaction: lock and read each block's leaves, record the seals, then stamp all their rows
(block_number, merkle_root, block_timestamp) in one UPDATE; an interrupted run keeps the groups
that committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import psycopg

from pbl_db import queries
from pbl_db.audit.db import prepare
from pbl_db.audit.encoding import GENESIS, SealRecord
from pbl_db.audit.merkle import leaf_hash, merkle_root
from pbl_db.errors import BusyError, ConfigError, OperationFailed, shown
from pbl_db.replica import require_primary

PERIODS = ("hour", "day", "month")
# rows sealed per transaction: fewer commits, row locks held about a second (a block larger
# than this, say a busy tenant's month, is still one transaction of its own)
TXN_ROWS = 20_000
LOCK_TIMEOUT = "10s"

SealProgress = Callable[[int, int], None]


@dataclass
class SealedBlock:
    """A block sealed (or, in a dry run, that would be: no number or root yet)."""

    tenant_id: str
    period: str
    period_start: dt.datetime
    period_end: dt.datetime
    leaf_count: int
    block_number: int | None = None
    merkle_root: str | None = None
    seal_hash: str | None = None


def seal(
    conn: psycopg.Connection[Any],
    period: str = "day",
    until: dt.datetime | None = None,
    *,
    dry_run: bool = False,
    on_progress: SealProgress | None = None,
) -> list[SealedBlock]:
    """Seal every closed period (ended at or before `until`, default now) with unsealed rows."""
    if period not in PERIODS:
        raise ConfigError(f"--period {shown(repr(period))} is not one of {', '.join(PERIODS)}")
    require_primary(conn, "pbl audit seal")
    prepare(conn, "pbl audit seal")
    cutoff_row = conn.execute(
        queries.load("get_audit_seal_cutoff"), {"period": period, "until": until}
    ).fetchone()
    assert cutoff_row is not None
    candidates = conn.execute(
        queries.load("list_audit_seal_candidates"), {"period": period, "cutoff": cutoff_row[0]}
    ).fetchall()
    planned = [SealedBlock(str(t), period, start, end, n) for t, start, end, n in candidates]
    if dry_run:
        return planned
    done: list[SealedBlock] = []
    handled = 0
    for group in _groups(planned):
        done.extend(_seal_group(conn, group))
        handled += len(group)
        if on_progress:
            on_progress(handled, len(planned))
    return done


def _groups(planned: list[SealedBlock]) -> list[list[SealedBlock]]:
    """Consecutive blocks of about TXN_ROWS rows together (a block is never split)."""
    groups: list[list[SealedBlock]] = []
    rows = 0
    for block in planned:
        if not groups or rows + block.leaf_count > TXN_ROWS:
            groups.append([])
            rows = 0
        groups[-1].append(block)
        rows += block.leaf_count
    return groups


def _seal_group(conn: psycopg.Connection[Any], group: list[SealedBlock]) -> list[SealedBlock]:
    """Seal a group of blocks in one transaction: read and lock each block's leaves, record
    the seals (numbered and chained on from the newest), then stamp all their rows."""
    sealed: list[SealedBlock] = []
    records: list[dict[str, Any]] = []
    try:
        with conn.transaction():
            conn.execute(queries.load("set_audit_seal_lock_timeout"), {"timeout": LOCK_TIMEOUT})
            conn.execute(queries.load("lock_audit_seals"))
            last = conn.execute(queries.load("get_audit_seal_last")).fetchone()
            now_row = conn.execute(queries.load("get_audit_seal_clock")).fetchone()
            assert now_row is not None
            number, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
            for block in group:
                window = {
                    "tenant_id": block.tenant_id,
                    "start": block.period_start,
                    "end": block.period_end,
                }
                leaves = conn.execute(queries.load("list_audit_seal_leaves"), window).fetchall()
                if not leaves:
                    continue  # purged or sealed meanwhile
                root = merkle_root([leaf_hash(r[3]) for r in leaves]).hex()
                number += 1
                record = SealRecord(
                    block_number=number,
                    tenant_id=block.tenant_id,
                    period=block.period,
                    period_start=block.period_start,
                    period_end=block.period_end,
                    leaf_count=len(leaves),
                    first_seq=leaves[0][2],
                    last_seq=leaves[-1][2],
                    merkle_root=root,
                    sealed_at=now_row[0],
                    sealed_by=now_row[1],
                    prev_seal_hash=prev_hash,
                )
                prev_hash = record.computed_hash()
                records.append(asdict(replace(record, seal_hash=prev_hash)))
                sealed.append(
                    replace(
                        block,
                        block_number=number,
                        merkle_root=root,
                        seal_hash=prev_hash,
                        leaf_count=len(leaves),
                    )
                )
            if not sealed:
                return []
            with conn.cursor() as cur:
                cur.executemany(queries.load("insert_audit_seal"), records)
            _stamp(conn, records, sealed)
    except psycopg.errors.LockNotAvailable:
        raise BusyError(
            "another pbl audit seal is running (or a row to seal is locked)",
            "nothing was sealed for these periods; run it again later",
        ) from None
    return sealed


def _stamp(
    conn: psycopg.Connection[Any], records: list[dict[str, Any]], sealed: list[SealedBlock]
) -> None:
    """Write the spec's seal columns onto the rows of the group's blocks, in one statement."""
    cur = conn.execute(
        queries.load("update_audit_seal_rows"),
        {
            "low": min(r["period_start"] for r in records),
            "high": max(r["period_end"] for r in records),
            "block_timestamp": records[0]["sealed_at"],
            "tenants": [r["tenant_id"] for r in records],
            "starts": [r["period_start"] for r in records],
            "ends": [r["period_end"] for r in records],
            "first_seqs": [r["first_seq"] for r in records],
            "last_seqs": [r["last_seq"] for r in records],
            "block_numbers": [str(r["block_number"]) for r in records],
            "merkle_roots": [r["merkle_root"] for r in records],
        },
    )
    expected = sum(r["leaf_count"] for r in records)
    if cur.rowcount != expected:
        raise OperationFailed(
            f"blocks {sealed[0].block_number}-{sealed[-1].block_number}: stamped "
            f"{cur.rowcount} of {expected} rows (they changed while sealing); nothing was "
            "sealed for these periods",
            "run pbl audit seal again",
        )
