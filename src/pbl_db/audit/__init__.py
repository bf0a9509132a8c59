"""Tamper-evident audit trail: hash chains, Merkle seals, inclusion proofs, verification.

encoding: the canonical row and seal encodings; merkle: RFC 6962 trees; seal, proof, verify: the
operations behind `pbl audit seal|proof|verify` (docs/audit.md).
"""
