"""The canonical encodings hashed by the audit chain and the seals (docs/audit.md).

A row's encoding is a header line, then one line per column in CONTENT_COLUMNS order and the two
chain fields: ``name=-`` for NULL, ``name=<length>:<text>`` otherwise (length in UTF-8 bytes), each
followed by a newline. ``verification_hash`` is the lower-case hex SHA-256 of it. The database
builds the same bytes at insert (pbl_audit_chain_content / pbl_audit_chain_hash in migration
0017); these functions rebuild them from the columns' text forms, so anything here can be checked
without PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

ROW_HEADER = "pbl-audit-v1"
SEAL_HEADER = "pbl-audit-seal-v1"
GENESIS = "0" * 64  # chain_prev_hash of a tenant's first row, prev_seal_hash of block 1

# Every column the append-only guard protects, in encoding order (the table's order). The chain
# fields follow them; verification_hash is the output, not an input.
CONTENT_COLUMNS: tuple[str, ...] = (
    "id",
    "application_id",
    "tenant_id",
    "blockchain_tx_hash",
    "event_type",
    "event_category",
    "event_description",
    "decision",
    "risk_score",
    "confidence",
    "user_id",
    "user_role",
    "ip_address",
    "user_agent",
    "service_name",
    "service_version",
    "environment",
    "event_data",
    "previous_state",
    "new_state",
    "metadata",
    "compliance_requirement",
    "regulation",
    "audit_required",
    "signature",
    "signing_key_id",
    "event_timestamp",
    "created_at",
    "deleted_at",
)
CHAIN_COLUMNS: tuple[str, ...] = ("chain_seq", "chain_prev_hash")
# Columns that may change after insert (pbl_audit_logs_guard's list): not hashed.
LIFECYCLE_COLUMNS: tuple[str, ...] = (
    "status",
    "verification_notes",
    "verified_at",
    "verified_by",
    "retention_until",
    "updated_at",
    "block_number",
    "merkle_root",
    "block_timestamp",
)
JSONB_COLUMNS = frozenset({"event_data", "previous_state", "new_state", "metadata"})


def _field(prefix: str, value: str | None) -> str:
    if value is None:
        return f"{prefix}-\n"
    size = len(value) if value.isascii() else len(value.encode())
    return f"{prefix}{size}:{value}\n"


def frame(header: str, fields: Iterable[tuple[str, str | None]]) -> bytes:
    """header, then ``name=-`` (NULL) or ``name=<bytes>:<text>`` lines, as UTF-8 bytes."""
    return "".join([header, "\n", *(_field(f"{name}=", value) for name, value in fields)]).encode()


_ROW_PREFIXES = tuple(f"{c}=" for c in CONTENT_COLUMNS)


def row_encoding(content: Sequence[str | None], chain_seq: int, chain_prev_hash: str) -> bytes:
    """The bytes a row's verification_hash is the SHA-256 of, from its columns' text forms."""
    if len(content) != len(CONTENT_COLUMNS):
        raise ValueError(f"expected {len(CONTENT_COLUMNS)} content values, got {len(content)}")
    # the same as frame(), inlined: verify runs this for every row
    body = "".join(
        [
            f"{p}-\n" if v is None else f"{p}{len(v) if v.isascii() else len(v.encode())}:{v}\n"
            for p, v in zip(_ROW_PREFIXES, content, strict=True)
        ]
    )
    seq = str(chain_seq)
    return (
        f"{ROW_HEADER}\n{body}chain_seq={len(seq)}:{seq}\n"
        f"chain_prev_hash={len(chain_prev_hash.encode())}:{chain_prev_hash}\n"
    ).encode()


def row_hash(content: Sequence[str | None], chain_seq: int, chain_prev_hash: str) -> str:
    return hashlib.sha256(row_encoding(content, chain_seq, chain_prev_hash)).hexdigest()


def format_timestamp(value: dt.datetime) -> str:
    """A timestamptz as the encoding writes it: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:
        raise ValueError("timestamps in the audit encoding must carry a time zone")
    u = value.astimezone(dt.UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}."
        f"{u.microsecond:06d}Z"
    )


def _jsonb_key(key: str) -> tuple[int, bytes]:
    data = key.encode()
    return len(data), data  # jsonb stores object keys by length, then bytewise


def jsonb_text(value: object) -> str:
    """What PostgreSQL prints for a jsonb value (keys by length then bytes, ", " and ": ").

    Numbers should come from PostgreSQL as int or Decimal (json.loads(..., parse_float=Decimal));
    a float may print differently from the numeric jsonb stores.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: _jsonb_key(kv[0]))
        return "{" + ", ".join(f"{jsonb_text(k)}: {jsonb_text(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    raise TypeError(f"no jsonb text form for {type(value).__name__}")


def text_form(value: object, *, jsonb: bool = False) -> str | None:
    """A Python value (as psycopg loads a column) in the encoding's text form."""
    if value is None:
        return None
    if jsonb:
        return jsonb_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return f"{value.ip}/{value.network.prefixlen}"  # (an Interface is also an Address)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return f"{value}/{value.max_prefixlen}"  # text(inet) always shows the netmask
    if isinstance(value, uuid.UUID | int | Decimal | str):
        return str(value)
    raise TypeError(f"no audit text form for {type(value).__name__}")


def content_from_row(row: Mapping[str, object]) -> list[str | None]:
    """The text forms of a row's content columns from psycopg-loaded values (see jsonb_text)."""
    return [text_form(row.get(c), jsonb=c in JSONB_COLUMNS) for c in CONTENT_COLUMNS]


@dataclass(frozen=True)
class SealRecord:
    """One block of audit_seals; seal_hash is the SHA-256 of encoding()."""

    block_number: int
    tenant_id: str
    period: str
    period_start: dt.datetime
    period_end: dt.datetime
    leaf_count: int
    first_seq: int
    last_seq: int
    merkle_root: str
    sealed_at: dt.datetime
    sealed_by: str
    prev_seal_hash: str
    seal_hash: str = ""

    def encoding(self) -> bytes:
        return frame(
            SEAL_HEADER,
            [
                ("block_number", str(self.block_number)),
                ("tenant_id", self.tenant_id),
                ("period", self.period),
                ("period_start", format_timestamp(self.period_start)),
                ("period_end", format_timestamp(self.period_end)),
                ("leaf_count", str(self.leaf_count)),
                ("first_seq", str(self.first_seq)),
                ("last_seq", str(self.last_seq)),
                ("merkle_root", self.merkle_root),
                ("sealed_at", format_timestamp(self.sealed_at)),
                ("sealed_by", self.sealed_by),
                ("prev_seal_hash", self.prev_seal_hash),
            ],
        )

    def computed_hash(self) -> str:
        return hashlib.sha256(self.encoding()).hexdigest()


def seq_tag(chain_seq: int) -> int:
    """The per-position tag summed into the removal ledger's seq_digest (first 7 bytes of
    sha256 of the position as an 8-byte big-endian integer); pbl_audit_chain_seq_tag in SQL."""
    digest = hashlib.sha256(chain_seq.to_bytes(8, "big", signed=True)).digest()
    return int.from_bytes(digest[:7], "big")
