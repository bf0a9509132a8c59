"""`pbl audit verify`: recompute the hash chains and the seals; report the first broken row and why.

Everything is read in one REPEATABLE READ, read-only transaction (one consistent snapshot while
inserts go on), each tenant's chain streamed in order through a server-side cursor. Hashes are
recomputed here, in Python, from the columns' text forms (built-in casts only): no function of
the database being checked takes part in the check.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any, NamedTuple

import psycopg

from pbl_db import queries
from pbl_db.audit.db import block_of, prepare, removed_leaves_query, with_content
from pbl_db.audit.encoding import GENESIS, SealRecord, row_hash, seq_tag
from pbl_db.audit.merkle import MerkleBuilder, leaf_hash
from pbl_db.errors import ConfigError, shown

VerifyProgress = Callable[[int, int], None]
FETCH = 5000

# reason -> what it means (docs/audit.md lists the same)
REASONS = {
    "unchained_row": "a row is not in its tenant's chain (inserted with the chain trigger off)",
    "duplicate_position": "two rows (or a row and a purge record) claim one chain position",
    "beyond_head": "a row sits past the tenant's chain head (appended behind the trigger)",
    "chain_gap": "rows are missing from the chain and no sanctioned removal explains it",
    "ledger_mismatch": "the removal ledger accounts for other rows than the ones missing",
    "reordered": "a row links to a row later in the chain: rows were reordered",
    "inserted_row": "a row links past its predecessor: a row was inserted before it",
    "broken_link": "a row's chain_prev_hash is not the hash of the row before it",
    "content_changed": "a row's content no longer matches its verification_hash",
    "head_mismatch": "the chain head does not match the newest row (or is missing/forked)",
    "bad_block": "a row names a seal block that is not one of its tenant's",
    "row_seal_mismatch": "a row's merkle_root/block_timestamp differ from its block's seal",
    "seal_leaf_count": "a block has other leaves on record than its seal counted",
    "seal_root_mismatch": "the Merkle root recomputed from a block's rows differs from its seal",
    "seal_record_changed": "a seal record no longer matches its seal_hash",
    "seal_chain_broken": "a seal record is missing or does not link to the one before",
}


@dataclass
class Problem:
    reason: str
    detail: str
    tenant_id: str | None = None
    row_id: str | None = None
    chain_seq: int | None = None
    block_number: int | None = None

    def describe(self) -> str:
        where = [
            f"{k} {v}"
            for k, v in (
                ("row", self.row_id),
                ("tenant", self.tenant_id),
                ("chain_seq", self.chain_seq),
                ("block", self.block_number),
            )
            if v is not None
        ]
        return f"{self.reason}: {self.detail}" + (f" ({', '.join(where)})" if where else "")


@dataclass
class TenantResult:
    tenant_id: str
    slug: str | None
    head_seq: int | None = None
    from_seq: int | None = None
    rows: int = 0
    purged: int = 0  # rows removed by the purge path, checked through the ledger
    removed_with_partitions: int = 0
    unsealed: int = 0
    blocks: int = 0  # blocks whose Merkle root was recomputed and matched
    blocks_unverifiable: int = 0  # blocks with leaves dropped with a partition
    problem: Problem | None = None
    worker: int = 0  # which process checked it: 0 this one, 1.. a worker


@dataclass
class VerifyReport:
    tenants: list[TenantResult] = field(default_factory=list)
    seals: int = 0
    seal_head_block: int | None = None
    seal_head_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1  # processes that checked chains (this one and the workers that answered)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tenants)


class _Item(NamedTuple):
    seq: int
    hash: str
    prev: str | None
    row_id: str | None  # None: a purge record
    block: Any  # a row's raw block_number; a purge record's bigint
    merkle_root: str | None
    block_timestamp: dt.datetime | None
    event_timestamp: dt.datetime | None
    content: Sequence[str | None] | None


@dataclass
class _Cluster:
    """Overlapping ranges of partition removals: how many positions they say went, and which."""

    first: int
    last: int
    count: int
    digest: int
    sources: set[str]
    missing: int = 0
    seen_digest: int = 0
    first_gap: tuple[str | None, int] | None = None


@dataclass
class _SealInfo:
    record: SealRecord
    builder: MerkleBuilder = field(default_factory=MerkleBuilder)
    first_seq: int | None = None
    last_seq: int | None = None
    checked: bool = True


def verify(
    conn: psycopg.Connection[Any],
    tenant: str | None = None,
    since: dt.datetime | None = None,
    *,
    on_progress: VerifyProgress | None = None,
    jobs: int = 1,
) -> VerifyReport:
    """Check the chains of every tenant (or one, by id or slug) and every seal record.

    With jobs > 1 and enough rows, jobs - 1 worker processes check some tenants' chains in the
    same snapshot (pbl_db.audit.parallel) while this one checks the rest."""
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs} must be at least 1")
    prepare(conn, "pbl audit verify")
    started = time.monotonic()
    report = VerifyReport()
    saved = (conn.isolation_level, conn.read_only)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.transaction():
            tenant_id = _resolve_tenant(conn, tenant) if tenant else None
            _check_seal_chain(conn, report)
            tenants = [
                TenantRow(*r)
                for r in conn.execute(
                    queries.load("list_audit_chain_tenants"), {"tenant_id": tenant_id}
                )
            ]
            total = sum(t.last_seq or 0 for t in tenants)
            done = 0
            purged_query = removed_leaves_query(conn, "list_audit_chain_purged")

            def step(n: int) -> None:
                nonlocal done
                done += n
                if on_progress:
                    on_progress(done, total)

            results: dict[str, TenantResult] = {}
            if jobs > 1:
                from pbl_db.audit.parallel import verify_in_workers

                results = verify_in_workers(conn, tenants, since, purged_query, jobs, step)
            for row in tenants:
                result = results.get(str(row.id)) or verify_tenant(
                    conn, row, since, step, purged_query
                )
                if result.problem:
                    report.problems.append(result.problem)
                report.tenants.append(result)
            report.jobs = len({0, *(r.worker for r in report.tenants)})
    finally:
        conn.isolation_level, conn.read_only = saved
    report.seconds = time.monotonic() - started
    return report


class TenantRow(NamedTuple):
    """A tenant to check, with its chain head (list_audit_chain_tenants.sql)."""

    id: Any
    slug: str | None
    heads: int | None
    last_seq: int | None
    head_prev: str | None
    head_hash: str | None


def verify_tenant(
    conn: psycopg.Connection[Any],
    row: TenantRow,
    since: dt.datetime | None,
    step: Callable[[int], None],
    purged_query: str,
) -> TenantResult:
    """One tenant's chain and blocks, read in conn's current transaction."""
    result = TenantResult(str(row.id), row.slug, head_seq=row.last_seq)
    mine = {
        r[0]: _SealInfo(SealRecord(*r))
        for r in conn.execute(queries.load("list_audit_seals"), {"tenant_id": row.id})
    }
    result.problem = _check_tenant(
        conn, result, row.heads or 0, row.head_prev, row.head_hash, mine, since, step, purged_query
    )
    if result.problem:
        result.problem.tenant_id = result.tenant_id
    return result


def _resolve_tenant(conn: psycopg.Connection[Any], value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"--tenant {shown(value)} is not valid UTF-8 text", "give a tenant id or slug"
        ) from None
    row = conn.execute(queries.load("get_audit_chain_tenant"), {"value": value}).fetchone()
    if row is None:
        raise ConfigError(f"no tenant {shown(repr(value))}", "give a tenant id or slug")
    return str(row[0])


def _check_seal_chain(conn: psycopg.Connection[Any], report: VerifyReport) -> None:
    """Walk every seal record in block order: numbered 1, 2, ..., each linked to the one before,
    each matching its own seal_hash."""
    expected_block, expected_prev = 1, GENESIS
    problem: Problem | None = None
    with conn.cursor(name="pbl_audit_seals") as cur:
        cur.itersize = FETCH
        cur.execute(queries.load("list_audit_seals"), {"tenant_id": None})
        for row in cur:
            record = SealRecord(*row)
            block = record.block_number
            if problem is None:
                if block != expected_block:
                    problem = Problem(
                        "seal_chain_broken",
                        f"seal block {expected_block} is missing (the next record is {block})",
                        block_number=expected_block,
                    )
                elif record.prev_seal_hash != expected_prev:
                    problem = Problem(
                        "seal_chain_broken",
                        f"block {block}'s prev_seal_hash is not the seal_hash of block {block - 1}",
                        block_number=block,
                    )
                elif record.computed_hash() != record.seal_hash:
                    problem = Problem(
                        "seal_record_changed",
                        f"block {block}'s record no longer matches its seal_hash",
                        block_number=block,
                    )
                if problem:
                    problem.tenant_id = record.tenant_id
            expected_block, expected_prev = block + 1, record.seal_hash
            report.seals += 1
            report.seal_head_block, report.seal_head_hash = block, record.seal_hash
    if problem:
        report.problems.append(problem)


def _stream_rows(
    conn: psycopg.Connection[Any],
    tenant_id: str,
    from_seq: int,
    step: Callable[[int], None],
    *,
    streamed: bool,
) -> Generator[_Item, None, None]:
    """The tenant's rows in chain order: streamed (the server sends while we hash) when nothing
    else reads on the connection meanwhile, else through a server-side cursor."""
    query = with_content("list_audit_chain_rows")
    params = {"tenant_id": tenant_id, "from_seq": from_seq}
    with contextlib.ExitStack() as stack:
        rows: Iterator[tuple[Any, ...]]
        if streamed:
            cur = stack.enter_context(conn.cursor())
            rows = cur.stream(query, params, size=FETCH if psycopg.pq.version() >= 170000 else 1)
        else:
            named = stack.enter_context(conn.cursor(name="pbl_audit_rows"))
            named.itersize = FETCH
            rows = iter(named.execute(query, params))
        n = 0
        try:
            for row in rows:  # chain fields, then the content's text forms (row[7] is the id)
                yield _Item(row[0], row[1], row[2], row[7], row[3], row[4], row[5], row[6], row[7:])
                n += 1
                if n == FETCH:
                    step(n)
                    n = 0
        except GeneratorExit:
            # read the rest: psycopg cancels a stream left unread, which fails the transaction
            # the other tenants are still checked in
            for _ in rows:
                pass
            raise
        step(n)


def _stream_purged(
    conn: psycopg.Connection[Any], query: str, tenant_id: str, from_seq: int
) -> Generator[_Item, None, None]:
    with conn.cursor(name="pbl_audit_purged") as cur:
        cur.itersize = FETCH
        cur.execute(query, {"tenant_id": tenant_id, "from_seq": from_seq})
        for seq, leaf, prev, block in cur:
            yield _Item(seq, leaf, prev, None, block, None, None, None, None)


def _merged(rows: Iterator[_Item], purged: Iterator[_Item]) -> Iterator[_Item]:
    """Both streams in chain order; at equal positions the row comes first."""
    row, ghost = next(rows, None), next(purged, None)
    while row is not None or ghost is not None:
        if ghost is None or (row is not None and row.seq <= ghost.seq):
            assert row is not None
            yield row
            row = next(rows, None)
        else:
            yield ghost
            ghost = next(purged, None)


def _clusters(entries: list[tuple[Any, ...]]) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for first, last, count, digest, _block, source in sorted(entries, key=lambda e: e[0]):
        if clusters and first <= clusters[-1].last:
            c = clusters[-1]
            c.last = max(c.last, last)
            c.count += count
            c.digest += int(Decimal(digest))
            c.sources.add(source)
        else:
            clusters.append(_Cluster(first, last, count, int(Decimal(digest)), {source}))
    return clusters


def _check_tenant(
    conn: psycopg.Connection[Any],
    result: TenantResult,
    heads: int,
    head_prev: str | None,
    head_hash: str | None,
    seals: dict[int, _SealInfo],
    since: dt.datetime | None,
    step: Callable[[int], None],
    purged_query: str,
) -> Problem | None:
    tid = result.tenant_id
    unchained = conn.execute(
        queries.load("get_audit_chain_unchained"), {"tenant_id": tid}
    ).fetchone()
    if unchained:
        return Problem(
            "unchained_row",
            f"{unchained[1]} row(s) of the tenant have no chain position: inserted with the "
            "chain trigger disabled",
            row_id=str(unchained[0]),
        )
    if heads > 1:
        return Problem("head_mismatch", f"the tenant has {heads} chain heads (a forked chain)")

    entries = conn.execute(
        queries.load("list_audit_chain_partition_removals"), {"tenant_id": tid}
    ).fetchall()
    removed_by_block: dict[int, int] = {}
    for _first, _last, count, _digest, block, _source in entries:
        result.removed_with_partitions += count
        if block is not None:
            removed_by_block[block] = removed_by_block.get(block, 0) + count
    clusters = _clusters(entries)

    from_seq = 1
    if since is not None:
        row = conn.execute(
            queries.load("get_audit_chain_start"), {"tenant_id": tid, "since": since}
        ).fetchone()
        starts = [row[0]] if row and row[0] is not None else []
        for info in seals.values():
            info.checked = info.record.period_start >= since
            if info.checked:
                starts.append(info.record.first_seq)
        if not starts:
            result.from_seq = None
            return None  # nothing of this tenant at or after --since
        from_seq = min(starts)
        for c in clusters:
            if c.first < from_seq <= c.last:
                from_seq = c.first
        clusters = [c for c in clusters if c.first >= from_seq]
    result.from_seq = from_seq

    purged = _stream_purged(conn, purged_query, tid, from_seq)
    first_purged = next(purged, None)
    rows = _stream_rows(conn, tid, from_seq, step, streamed=first_purged is None)
    items = rows if first_purged is None else _merged(rows, chain([first_purged], purged))
    try:
        return _walk(
            conn,
            result,
            clusters,
            items,
            rows.close,
            from_seq,
            (head_prev, head_hash),
            seals,
            removed_by_block,
        )
    finally:
        rows.close()  # closes its server-side cursor when the walk stops early
        purged.close()


def _walk(
    conn: psycopg.Connection[Any],
    result: TenantResult,
    clusters: list[_Cluster],
    items: Iterator[_Item],
    release: Callable[[], None],
    from_seq: int,
    head: tuple[str | None, str | None],
    seals: dict[int, _SealInfo],
    removed_by_block: dict[int, int],
) -> Problem | None:
    head_seq = result.head_seq
    head_prev, head_hash = head
    state = _Walk(conn, result, clusters, release)
    prev: _Item | None = None
    expected = from_seq
    for item in items:
        s = item.seq
        if prev is not None and s == prev.seq:
            other = "a row recorded as purged" if item.row_id is None else f"row {prev.row_id}"
            return state.at(item, "duplicate_position", f"shares chain_seq {s} with {other}")
        if head_seq is None or s > head_seq:
            return state.at(
                item,
                "beyond_head" if head_seq is not None else "head_mismatch",
                f"chain_seq {s} is past the tenant's chain head ({head_seq})"
                if head_seq is not None
                else "the tenant has rows but no chain head",
            )
        # positions expected..s-1 are missing: the ledger must explain them; after that every
        # partition removal that ends before s has been seen whole
        if s > expected or state.index < len(clusters):
            problem = (state.gap(expected, s - 1, item) if s > expected else None) or (
                state.close_clusters_before(s)
            )
            if problem:
                return problem
        if s == expected and s == 1 and item.prev != GENESIS:
            return state.at(item, "broken_link", "the first row of the chain does not link to 0…0")
        if s == expected and prev is not None and item.prev != prev.hash:
            return state.diagnose_link(item, prev)
        if item.row_id is not None:
            result.rows += 1
            assert item.content is not None and item.prev is not None
            if row_hash(item.content, s, item.prev) != item.hash:
                return state.at(
                    item,
                    "content_changed",
                    "the row's content no longer matches its verification_hash",
                )
        else:
            result.purged += 1
        problem = state.seal_leaf(item, seals)
        if problem:
            return problem
        prev, expected = item, s + 1

    if head_seq is not None and expected <= head_seq:
        problem = state.gap(expected, head_seq, prev)
        if problem:
            return problem
    if (
        prev is not None
        and prev.seq == head_seq
        and (prev.hash, prev.prev) != (head_hash, head_prev)
    ):
        return state.at(prev, "head_mismatch", "the chain head does not match the newest row")
    problem = state.close_clusters_before(None)
    if problem:
        return problem
    return state.check_blocks(seals, removed_by_block)


class _Walk:
    """Per-tenant bookkeeping of one verify pass."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        result: TenantResult,
        clusters: list[_Cluster],
        release: Callable[[], None],
    ) -> None:
        self.conn = conn
        self.result = result
        self.clusters = clusters
        self.index = 0  # clusters before it are closed
        self.release = release  # ends the row stream before a query of its own
        self.last_block: Any = None  # the raw block name seal_leaf saw last, and its seal
        self.last_seal: tuple[int | None, _SealInfo | None] = (None, None)

    @staticmethod
    def at(item: _Item | None, reason: str, detail: str) -> Problem:
        if item is None:
            return Problem(reason, detail)
        return Problem(reason, detail, row_id=item.row_id, chain_seq=item.seq)

    def gap(self, first: int, last: int, after: _Item | None) -> Problem | None:
        """Positions first..last are missing: each must lie in a partition removal."""
        where = (
            f"chain_seq {first}"
            if first == last
            else f"chain_seq {first}..{last} ({last - first + 1} rows)"
        )
        for m in range(first, last + 1):
            problem = self.close_clusters_before(m)
            if problem:
                return problem
            c = self.clusters[self.index] if self.index < len(self.clusters) else None
            if c is None or m < c.first:
                if after is not None and after.seq > last:
                    where += " missing before this row"
                elif after is not None:
                    where += f" missing after this row (the chain head is at {last})"
                else:
                    where += f" missing (the chain head is at {last}, no row is left)"
                return self.at(
                    after, "chain_gap", f"{where}: deleted outside pbl's sanctioned removals"
                )
            c.missing += 1
            c.seen_digest += seq_tag(m)
            if c.first_gap is None:
                c.first_gap = (after.row_id if after else None, m)
        return None

    def close_clusters_before(self, seq: int | None) -> Problem | None:
        while self.index < len(self.clusters) and (
            seq is None or self.clusters[self.index].last < seq
        ):
            c = self.clusters[self.index]
            self.index += 1
            if c.missing != c.count or c.seen_digest != c.digest:
                row_id, first_gap = c.first_gap or (None, c.first)
                return Problem(
                    "ledger_mismatch",
                    f"chain_seq {c.first}..{c.last}: {c.missing} rows are missing but the "
                    f"removal ledger ({', '.join(sorted(c.sources))}) accounts for {c.count}"
                    + (" others" if c.missing == c.count else ""),
                    row_id=row_id,
                    chain_seq=first_gap,
                )
        return None

    def diagnose_link(self, item: _Item, prev: _Item) -> Problem:
        self.release()  # a stream holds the connection until it is read or closed
        found = self.conn.execute(
            queries.load("find_audit_chain_row_by_hash"),
            {"tenant_id": self.result.tenant_id, "hash": item.prev},
        ).fetchall()
        what = "row" if item.row_id else "purge record"
        if found and found[0][1] is not None and found[0][1] > item.seq:
            return self.at(
                item,
                "reordered",
                f"this {what} links to row {found[0][0]} at chain_seq {found[0][1]}, later in "
                "the chain: rows are out of order",
            )
        if found and found[0][1] is not None and found[0][1] < prev.seq:
            return self.at(
                item,
                "inserted_row",
                f"this {what} links to row {found[0][0]} at chain_seq {found[0][1]}, not to "
                f"chain_seq {prev.seq}: row(s) were inserted before it",
            )
        return self.at(
            item,
            "broken_link",
            f"this {what}'s chain_prev_hash is not the hash of chain_seq {prev.seq}"
            + (f" (row {prev.row_id})" if prev.row_id else "")
            + ": the row before it was replaced",
        )

    def seal_leaf(self, item: _Item, seals: dict[int, _SealInfo]) -> Problem | None:
        if item.block is None:
            if item.row_id is not None:
                self.result.unsealed += 1
                if item.merkle_root is not None or item.block_timestamp is not None:
                    return self.at(
                        item, "row_seal_mismatch", "the row has seal columns but no block_number"
                    )
            return None
        if item.block == self.last_block:  # rows come block by block: parse each name once
            block, info = self.last_seal
        else:
            block = item.block if item.row_id is None else block_of(item.block)
            info = seals.get(block) if block is not None else None
            self.last_block, self.last_seal = item.block, (block, info)
        if info is None:
            return self.at(
                item, "bad_block", f"names block {item.block}, which is not a seal of its tenant"
            )
        rec = info.record
        if item.row_id is not None:
            if item.merkle_root != rec.merkle_root or item.block_timestamp != rec.sealed_at:
                return Problem(
                    "row_seal_mismatch",
                    f"the row's merkle_root or block_timestamp differ from block {block}'s seal",
                    row_id=item.row_id,
                    chain_seq=item.seq,
                    block_number=block,
                )
            stamp = item.event_timestamp
            if stamp is None or not rec.period_start <= stamp < rec.period_end:
                return Problem(
                    "row_seal_mismatch",
                    f"the row's event_timestamp is outside block {block}'s period",
                    row_id=item.row_id,
                    chain_seq=item.seq,
                    block_number=block,
                )
        if info.checked:
            info.builder.add(leaf_hash(item.hash))
            info.first_seq = item.seq if info.first_seq is None else info.first_seq
            info.last_seq = item.seq
        return None

    def check_blocks(
        self, seals: dict[int, _SealInfo], removed_by_block: dict[int, int]
    ) -> Problem | None:
        for block, info in sorted(seals.items()):
            if not info.checked:
                continue
            rec = info.record
            removed = removed_by_block.get(block, 0)
            present = info.builder.count
            if present + removed != rec.leaf_count:
                return Problem(
                    "seal_leaf_count",
                    f"block {block} has {present} leaves on record"
                    + (f" and {removed} removed with partitions" if removed else "")
                    + f", its seal counted {rec.leaf_count}",
                    block_number=block,
                )
            if removed:
                self.result.blocks_unverifiable += 1
                continue
            root = info.builder.root().hex()
            if root != rec.merkle_root or (info.first_seq, info.last_seq) != (
                rec.first_seq,
                rec.last_seq,
            ):
                return Problem(
                    "seal_root_mismatch",
                    f"the Merkle root of block {block}'s rows is {root[:16]}…, its seal says "
                    f"{rec.merkle_root[:16]}…",
                    block_number=block,
                )
            self.result.blocks += 1
        return None
