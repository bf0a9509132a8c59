"""RFC 6962 Merkle trees over row hashes: roots, inclusion proofs, and a streaming root builder.

Leaf = SHA-256(0x00 || the row's 32-byte verification_hash); node = SHA-256(0x01 || left ||
right). For n > 1 leaves the root is node(MTH(first k), MTH(rest)) with k the largest power of
two below n, which is the same tree as pairing nodes level by level and promoting an odd last node
unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


def leaf_hash(row_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(row_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root over leaf hashes (at least one)."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # an odd last node moves up unchanged
        level = paired
    return level[0]


@dataclass(frozen=True)
class PathStep:
    """A sibling on the way from a leaf to the root; side is where the sibling sits."""

    side: str  # "left" or "right"
    hash: str  # hex


def audit_path(index: int, leaves: Sequence[bytes]) -> list[PathStep]:
    """The siblings from leaf `index` up to the root (RFC 6962, section 2.1.1)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*audit_path(index, leaves[:k]), PathStep("right", merkle_root(leaves[k:]).hex())]
    return [*audit_path(index - k, leaves[k:]), PathStep("left", merkle_root(leaves[:k]).hex())]


def root_from_path(leaf: bytes, path: Sequence[PathStep]) -> bytes:
    """Fold a leaf hash up its audit path."""
    current = leaf
    for step in path:
        sibling = bytes.fromhex(step.hash)
        current = (
            node_hash(sibling, current) if step.side == "left" else node_hash(current, sibling)
        )
    return current


class MerkleBuilder:
    """The root of leaves added one at a time, in O(log n) memory (perfect subtrees on a stack)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (leaves, hash), sizes strictly decreasing
        self.count = 0

    def add(self, leaf: bytes) -> None:
        size, current = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, current = left_size + size, node_hash(left, current)
        self._stack.append((size, current))
        self.count += 1

    def root(self) -> bytes:
        if not self._stack:
            raise ValueError("a Merkle tree needs at least one leaf")
        current = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            current = node_hash(left, current)
        return current
