"""`pbl audit proof ROW_ID`: everything needed to check a row against its seal with sha256 alone."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from pbl_db import queries
from pbl_db.audit.db import block_of, prepare, removed_leaves_query, with_content
from pbl_db.audit.encoding import SealRecord, format_timestamp, row_encoding, row_hash
from pbl_db.audit.merkle import PathStep, audit_path, leaf_hash, merkle_root, root_from_path
from pbl_db.errors import ConfigError, OperationFailed, shown

CHECK = (
    "verification_hash = sha256(encoding); leaf = sha256(0x00 || bytes(verification_hash)); "
    "for each path step: h = sha256(0x01 || sibling || h) if the sibling is on the left, "
    "else sha256(0x01 || h || sibling); the result must equal merkle_root; "
    "seal_hash = sha256(seal_encoding) (docs/audit.md)"
)


@dataclass
class Proof:
    """An inclusion proof; every hash is lower-case hex."""

    row_id: str
    tenant_id: str
    chain_seq: int
    chain_prev_hash: str
    encoding: str  # the exact UTF-8 text whose sha256 is verification_hash
    verification_hash: str
    leaf_index: int
    leaf_count: int
    leaf_hash: str
    path: list[PathStep]
    merkle_root: str
    block_number: int
    block_timestamp: dt.datetime
    period: str
    period_start: dt.datetime
    period_end: dt.datetime
    seal_hash: str
    prev_seal_hash: str
    seal_encoding: str  # the exact text whose sha256 is seal_hash
    how_to_check: str = field(default=CHECK)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("block_timestamp", "period_start", "period_end"):
            out[key] = format_timestamp(out[key])
        return out


def proof(conn: psycopg.Connection[Any], row_id: str) -> Proof:
    """The inclusion proof of one sealed audit row in its block's Merkle tree."""
    try:
        wanted = uuid.UUID(row_id)
    except ValueError:
        raise ConfigError(f"{shown(repr(row_id))} is not an audit row id (a UUID)") from None
    prepare(conn, "pbl audit proof")
    rows = conn.execute(with_content("get_audit_proof_row"), {"row_id": wanted}).fetchall()
    if not rows:
        raise ConfigError(
            f"no audit row {wanted}", "check the id (pbl audit proof takes audit_logs.id)"
        )
    if len(rows) > 1:
        raise OperationFailed(
            f"{len(rows)} audit rows share the id {wanted}", "run pbl audit verify"
        )
    (rid, tenant, _stamp, seq, prev, stored, block_text, row_root, block_ts) = rows[0][:9]
    content = rows[0][9:]
    if seq is None or prev is None:
        raise OperationFailed(
            f"audit row {rid} is not in its tenant's hash chain", "run pbl audit verify"
        )
    if row_hash(content, seq, prev) != stored:
        raise OperationFailed(
            f"audit row {rid} no longer matches its verification_hash (content changed)",
            "run pbl audit verify",
        )
    block = block_of(block_text)
    if block is None:
        raise OperationFailed(
            f"audit row {rid} is not sealed yet",
            "run pbl audit seal once its period has ended, then ask again",
        )
    seal_row = conn.execute(
        queries.load("get_audit_proof_seal"), {"block_number": block}
    ).fetchone()
    if seal_row is None or seal_row[1] != tenant:
        raise OperationFailed(
            f"audit row {rid} names block {block}, which is not a seal of its tenant",
            "run pbl audit verify",
        )
    seal = SealRecord(*seal_row)
    if seal.computed_hash() != seal.seal_hash:
        raise OperationFailed(
            f"the seal record of block {block} was changed (its seal_hash does not match)",
            "run pbl audit verify",
        )
    leaves = conn.execute(
        removed_leaves_query(conn, "list_audit_proof_leaves"),
        {
            "tenant_id": tenant,
            "block": str(block),
            "block_number": block,
            "start": seal.period_start,
            "end": seal.period_end,
        },
    ).fetchall()
    positions = [r[0] for r in leaves]
    if len(leaves) != seal.leaf_count or seq not in positions:
        raise OperationFailed(
            f"block {block} has {len(leaves)} leaves on record but its seal says {seal.leaf_count}",
            "run pbl audit verify",
        )
    hashes = [leaf_hash(r[1]) for r in leaves]
    index = positions.index(seq)
    path = audit_path(index, hashes)
    if merkle_root(hashes).hex() != seal.merkle_root or row_root != seal.merkle_root:
        raise OperationFailed(
            f"block {block}'s Merkle root does not match its seal", "run pbl audit verify"
        )
    assert root_from_path(hashes[index], path).hex() == seal.merkle_root
    return Proof(
        row_id=str(rid),
        tenant_id=tenant,
        chain_seq=seq,
        chain_prev_hash=prev,
        encoding=row_encoding(content, seq, prev).decode(),
        verification_hash=stored,
        leaf_index=index,
        leaf_count=len(hashes),
        leaf_hash=hashes[index].hex(),
        path=path,
        merkle_root=seal.merkle_root,
        block_number=block,
        block_timestamp=block_ts,
        period=seal.period,
        period_start=seal.period_start,
        period_end=seal.period_end,
        seal_hash=seal.seal_hash,
        prev_seal_hash=seal.prev_seal_hash,
        seal_encoding=seal.encoding().decode(),
    )
