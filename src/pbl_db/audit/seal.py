"""`pbl audit seal`: a Merkle root per tenant and closed period over its rows' hashes.

Each block covers one tenant's chained rows of one UTC period (hour, day or month of
event_timestamp) that were not sealed yet; its leaves are those rows in chain order. Blocks are
numbered 1, 2, ... across tenants and each seal record carries the previous record's hash, so the
seals form a chain of their own. A row that arrives for an already sealed period goes into a
further block for that period on the next run. Every block is its own transaction: record the
seal, then stamp its rows (block_number, merkle_root, block_timestamp) in batches.
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
from pbl_db.errors import BusyError, ConfigError, OperationFailed

PERIODS = ("hour", "day", "month")
UPDATE_BATCH = 5000
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
        raise ConfigError(f"--period {period!r} is not one of {', '.join(PERIODS)}")
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
    for i, block in enumerate(planned):
        sealed = _seal_one(conn, block)
        if sealed is not None:
            done.append(sealed)
        if on_progress:
            on_progress(i + 1, len(planned))
    return done


def _seal_one(conn: psycopg.Connection[Any], block: SealedBlock) -> SealedBlock | None:
    window = {"tenant_id": block.tenant_id, "start": block.period_start, "end": block.period_end}
    try:
        with conn.transaction():
            conn.execute(queries.load("set_audit_seal_lock_timeout"), {"timeout": LOCK_TIMEOUT})
            conn.execute(queries.load("lock_audit_seals"))
            last = conn.execute(queries.load("get_audit_seal_last")).fetchone()
            leaves = conn.execute(queries.load("list_audit_seal_leaves"), window).fetchall()
            if not leaves:
                return None  # purged or sealed meanwhile
            now_row = conn.execute(queries.load("get_audit_seal_clock")).fetchone()
            assert now_row is not None
            root = merkle_root([leaf_hash(r[3]) for r in leaves]).hex()
            record = SealRecord(
                block_number=(last[0] if last else 0) + 1,
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
                prev_seal_hash=last[1] if last else GENESIS,
            )
            seal_hash = record.computed_hash()
            conn.execute(
                queries.load("insert_audit_seal"), asdict(replace(record, seal_hash=seal_hash))
            )
            for start in range(0, len(leaves), UPDATE_BATCH):
                batch = leaves[start : start + UPDATE_BATCH]
                cur = conn.execute(
                    queries.load("update_audit_seal_rows"),
                    {
                        **window,
                        "block_number": str(record.block_number),
                        "merkle_root": root,
                        "block_timestamp": record.sealed_at,
                        "ids": [r[0] for r in batch],
                        "stamps": [r[1] for r in batch],
                    },
                )
                if cur.rowcount != len(batch):
                    raise OperationFailed(
                        f"block {record.block_number}: stamped {cur.rowcount} of {len(batch)} "
                        "rows (they changed while sealing); nothing was sealed",
                        "run pbl audit seal again",
                    )
    except psycopg.errors.LockNotAvailable:
        raise BusyError(
            "another pbl audit seal is running (or a row to seal is locked)",
            "nothing was sealed for this period; run it again later",
        ) from None
    block.block_number = record.block_number
    block.merkle_root = root
    block.seal_hash = seal_hash
    block.leaf_count = len(leaves)
    return block
