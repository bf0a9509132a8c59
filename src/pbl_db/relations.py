"""What the database holds: tables and indexes with sizes, row estimates, dead tuples, scans,
unused and duplicate indexes. Names come from the catalog as they are (no quoting); queries use
oids and format('%I.%I'), never schemaname || '.' || tablename."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import ConfigError, shown

if TYPE_CHECKING:
    import psycopg

TABLE_KEYS = (
    "schema",
    "table",
    "kind",
    "parent_schema",
    "parent",
    "partitions",
    "total_bytes",
    "table_bytes",
    "index_bytes",
    "rows_estimate",
    "dead_tuples",
    "dead_pct",
    "last_vacuum",
    "last_autovacuum",
    "last_analyze",
    "last_autoanalyze",
)


def _check_schema(schema: str | None) -> None:
    """A schema name the server can be asked about: UTF-8 text without NUL."""
    if schema is None:
        return
    try:
        schema.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"--schema {shown(schema)} is not valid UTF-8 text", "check the name"
        ) from None
    if "\x00" in schema:
        raise ConfigError(f"--schema {shown(schema)} contains a NUL character", "check the name")


def _require_schema(conn: psycopg.Connection[Any], schema: str | None) -> None:
    """An unknown --schema is a mistake to name, not an empty listing."""
    if schema is None:
        return
    row = conn.execute(queries.load("get_schema_exists"), {"schema": schema}).fetchone()
    if not row or not row[0]:
        raise ConfigError(f"no schema {shown(schema)!r} in this database", "check the name")


def tables(
    conn: psycopg.Connection[Any], schema: str | None = None, *, partitions: bool = False
) -> list[dict[str, Any]]:
    """Tables, largest first. A partitioned table shows the sum of its leaf partitions (sizes,
    rows, dead tuples; vacuum times are the oldest among them, analyze times its own); its
    partitions are listed too only with partitions=True, each naming its parent."""
    from psycopg.rows import dict_row

    _check_schema(schema)
    _require_schema(conn, schema)
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(
        queries.load("list_tables_stats"), {"schema": schema, "partitions": partitions}
    ).fetchall()
    out = []
    for row in rows:
        live, dead = int(row.pop("live_tuples")), int(row["dead_tuples"])
        row["total_bytes"] = int(row["table_bytes"]) + int(row["index_bytes"])
        row["dead_pct"] = round(100.0 * dead / (live + dead), 1) if live + dead else 0.0
        out.append({key: row[key] for key in TABLE_KEYS})
    return _grouped(out) if partitions else out


def _grouped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Largest top-level tables first, each followed by its partitions (largest first)."""
    children: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["parent"] is not None:
            children.setdefault((row["parent_schema"], row["parent"]), []).append(row)
    placed: set[int] = set()
    out: list[dict[str, Any]] = []

    def place(row: dict[str, Any]) -> None:
        if id(row) in placed:
            return
        placed.add(id(row))
        out.append(row)
        for child in children.get((row["schema"], row["table"]), []):
            place(child)

    for row in rows:
        if row["parent"] is None:
            place(row)
    for row in rows:  # partitions whose parent is in another schema than the one asked for
        place(row)
    return out


@dataclass(frozen=True)
class _Index:
    row: dict[str, Any]

    @property
    def keys(self) -> list[tuple[str, str, str, str]]:
        """(column or expression, opclass, collation, options) per key column."""
        cols = list(self.row["key_columns"])
        opclasses = str(self.row["opclasses"]).split()
        collations = str(self.row["collations"]).split()
        options = str(self.row["options"]).split()
        return [
            (col, _at(opclasses, k), _at(collations, k), _at(options, k))
            for k, col in enumerate(cols)
        ]

    @property
    def covered(self) -> set[str]:
        return set(self.row["key_columns"]) | set(self.row["include_columns"])

    @property
    def rank(self) -> int:
        """Which of two identical indexes to keep: primary key, constraint, unique, plain."""
        r = self.row
        if r["primary"]:
            return 0
        if r["backs_constraint"]:
            return 1
        return 2 if r["unique"] else 3


def _at(items: Sequence[str], k: int) -> str:
    return items[k] if k < len(items) else ""


def _redundant(a: _Index, b: _Index) -> str | None:
    """'identical' or 'prefix' when index a adds nothing over index b; None otherwise."""
    ra, rb = a.row, b.row
    if (
        ra["method"] != rb["method"]
        or (ra["predicate"] or "") != (rb["predicate"] or "")
        or not rb["valid"]
        or ra["partitioned"] != rb["partitioned"]
    ):
        return None
    ka, kb = a.keys, b.keys
    if not set(ra["include_columns"]) <= b.covered:
        return None
    if ka == kb:
        if ra["unique"] and not rb["unique"]:
            return None  # a enforces a uniqueness that b does not
        if set(ra["include_columns"]) == set(rb["include_columns"]):
            # a true pair is reported once: the lower-ranked (then the newer) index goes
            return "identical" if (a.rank, ra["oid"]) > (b.rank, rb["oid"]) else None
        return "identical" if a.rank >= b.rank else None
    if (
        ra["method"] == "btree"
        and len(ka) < len(kb)
        and kb[: len(ka)] == ka
        and not ra["unique"]
        and not ra["backs_constraint"]
    ):
        return "prefix"
    return None


INDEX_KEYS = (
    "schema",
    "table",
    "index",
    "method",
    "bytes",
    "scans",
    "valid",
    "unique",
    "primary",
    "constraint",
    "unused",
    "duplicate_of",
    "duplicate_kind",
    "partitioned",
    "definition",
)


def indexes(
    conn: psycopg.Connection[Any], schema: str | None = None, *, partitions: bool = False
) -> list[dict[str, Any]]:
    """Indexes, largest first, with scans and flags.

    unused: valid, no scans since the statistics were reset, and neither unique, primary key,
    backing a constraint nor the replica identity. duplicate_of: the index (same table) that
    makes this one redundant: identical key (same columns or expressions, opclasses,
    collations, order, predicate and method) or a leading prefix of a btree index's key
    (duplicate_kind 'identical' or 'prefix'). A partitioned index sums its partitions' sizes
    and scans; the partitions' own indexes are listed only with partitions=True (invalid ones
    always)."""
    from psycopg.rows import dict_row

    _check_schema(schema)
    _require_schema(conn, schema)
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(
        queries.load("list_indexes_stats"), {"schema": schema, "partitions": partitions}
    ).fetchall()
    by_table: dict[tuple[str, str], list[_Index]] = {}
    for row in rows:
        by_table.setdefault((row["schema"], row["table"]), []).append(_Index(row))
    out = []
    for row in rows:
        row["unused"] = bool(
            row["valid"]
            and int(row["scans"]) == 0
            and not (
                row["unique"]
                or row["primary"]
                or row["backs_constraint"]
                or row["replica_identity"]
            )
        )
        row["duplicate_of"] = row["duplicate_kind"] = None
        if row["valid"]:
            me = _Index(row)
            found = [
                (kind, other.row["index"])
                for other in by_table[(row["schema"], row["table"])]
                if other.row["oid"] != row["oid"] and (kind := _redundant(me, other))
            ]
            found.sort(key=lambda item: (item[0] != "identical", item[1]))
            if found:
                row["duplicate_kind"], row["duplicate_of"] = found[0]
        row["bytes"] = int(row["bytes"])
        row["scans"] = int(row["scans"])
        out.append({key: row[key] for key in INDEX_KEYS})
    out.sort(key=lambda r: (-r["bytes"], r["schema"], r["table"], r["index"]))
    return out


def quote_ident(name: str) -> str:
    """A name as SQL needs it written, for display: bare when lower-case and simple, else in
    double quotes (statements themselves use psycopg.sql.Identifier)."""
    import re

    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """schema.name for display, each part quoted where needed."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def pretty_size(value: int | float | None) -> str:
    """Bytes the way pg_size_pretty writes them: 8192 bytes, 64 kB, 12 MB, 3 GB."""
    if value is None:
        return ""
    size = float(value)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(size) < 10 * 1024 or unit == "TB":
            return f"{round(size)} {unit}"
        size /= 1024
    return f"{round(size)} PB"  # pragma: no cover - the loop returns at TB
