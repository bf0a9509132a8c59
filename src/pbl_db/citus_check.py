"""`pbl schema check --citus`: what in the live schema stops distributing it by tenant_id on Citus.

Citus cannot be installed here, so this reads the PostgreSQL catalog and applies Citus's rules for
a multi-tenant layout (docs/scale-out.md, "Sharding by tenant"):
- every table with a tenant_id column is distributed by it, co-located with the others;
  `tenants` and the tables without tenant_id that distributed tables reference are reference
  tables (copied to every node); the rest stay local to the coordinator;
- a primary key, unique or exclusion constraint, or unique index of a distributed table must
  include tenant_id (each shard can only check its own rows);
- a foreign key between distributed tables must include tenant_id on both sides, paired;
  from a distributed table to a reference table is fine; nothing may reference a distributed
  table from a reference or local table;
- the distribution column must be NOT NULL;
- triggers of reference tables run on every node's copy (review: they need
  citus.enable_unsafe_triggers too);
- triggers of distributed tables run on the shards: Citus runs them only with
  citus.enable_unsafe_triggers, and their functions must touch only the same tenant's rows; a
  trigger function that uses a local (coordinator-only) table, itself or through the schema's
  functions it calls, cannot work at all (found by name in the sources: a heuristic, so a table
  named in a comment counts too).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import ConfigError

if TYPE_CHECKING:
    import psycopg

DISTRIBUTION_COLUMN = "tenant_id"
TENANT_TABLE = "tenants"

BLOCKER = "blocker"  # create_distributed_table or the constraint fails
REVIEW = "review"  # works only with a setting, or only if the code keeps to one tenant


@dataclass(frozen=True)
class Finding:
    severity: str
    rule: str
    table: str
    name: str  # the constraint, index, trigger or column
    problem: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CitusReport:
    schema: str
    distributed: list[str]
    reference: list[str]
    local: list[str]
    findings: list[Finding]

    @property
    def blockers(self) -> int:
        return sum(1 for f in self.findings if f.severity == BLOCKER)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "distribution_column": DISTRIBUTION_COLUMN,
            "distributed": self.distributed,
            "reference": self.reference,
            "local": self.local,
            "blockers": self.blockers,
            "findings": [f.as_dict() for f in self.findings],
        }


def check(conn: psycopg.Connection[Any], schema: str = "public") -> CitusReport:
    """Classify the schema's tables and list what blocks distributing them by tenant_id."""
    params = {"schema": schema}
    tables = conn.execute(queries.load("list_citus_tables"), params).fetchall()
    if not tables:
        raise ConfigError(f"schema {schema[:80]!r} has no tables", "check --schema")
    keys = conn.execute(queries.load("list_citus_unique_keys"), params).fetchall()
    fkeys = conn.execute(queries.load("list_citus_foreign_keys"), params).fetchall()
    triggers = conn.execute(queries.load("list_citus_triggers"), params).fetchall()
    functions = dict(conn.execute(queries.load("list_citus_functions"), params).fetchall())

    distributed = {t[0] for t in tables if t[2] and t[0] != TENANT_TABLE}
    referenced = {ref for table, _, _, ref, _, _ in fkeys if table in distributed}
    reference = {t[0] for t in tables if t[0] not in distributed and t[0] in referenced}
    if any(t[0] == TENANT_TABLE for t in tables):
        reference.add(TENANT_TABLE)
    local = {t[0] for t in tables} - distributed - reference
    findings: list[Finding] = []

    for name, _, _, not_null in tables:
        if name in distributed and not not_null:
            findings.append(
                Finding(
                    BLOCKER,
                    "distribution column nullable",
                    name,
                    DISTRIBUTION_COLUMN,
                    "a row without a tenant has no shard",
                    f"ALTER TABLE {name} ALTER COLUMN tenant_id SET NOT NULL",
                )
            )
    for table, name, kind, columns, definition in keys:
        if table in distributed and DISTRIBUTION_COLUMN not in (columns or []):
            findings.append(
                Finding(
                    BLOCKER,
                    f"{kind} without tenant_id",
                    table,
                    name,
                    f"{definition}: each shard can check uniqueness only among its own rows",
                    f"make it {_with_tenant(kind, columns)} (uniqueness per tenant), or "
                    "enforce the global rule elsewhere",
                )
            )
    for table, name, columns, ref, ref_columns, definition in fkeys:
        if table in distributed and ref in distributed:
            if not _paired(columns, ref_columns):
                own = ", ".join(["tenant_id", *(c for c in columns if c != DISTRIBUTION_COLUMN)])
                theirs = ", ".join(
                    ["tenant_id", *(c for c in ref_columns if c != DISTRIBUTION_COLUMN)]
                )
                findings.append(
                    Finding(
                        BLOCKER,
                        "foreign key not co-located",
                        table,
                        name,
                        f"{definition}: the referenced row may live on another node",
                        f"FOREIGN KEY ({own}) REFERENCES {ref} ({theirs}), with a unique "
                        f"key on {ref} ({theirs})",
                    )
                )
        elif table not in distributed and ref in distributed:
            findings.append(
                Finding(
                    BLOCKER,
                    "foreign key into a distributed table",
                    table,
                    name,
                    f"{definition}: a {_kind(table, reference)} table cannot reference a "
                    "distributed one",
                    f"add tenant_id to {table} and distribute it too, or drop the key",
                )
            )
    for table, trigger, function, row_level, source in triggers:
        if table in reference:
            findings.append(
                Finding(
                    REVIEW,
                    "trigger on a reference table",
                    table,
                    trigger,
                    f"trigger {trigger} ({function}()) runs on every node's copy",
                    "set citus.enable_unsafe_triggers = on, or drop it if the coordinator "
                    "can do its work",
                )
            )
            continue
        if table not in distributed:
            continue
        level = "row" if row_level else "statement"
        body = _reachable_source(function, source or "", functions)
        used = sorted(t for t in local if re.search(rf"\b{re.escape(t)}\b", body))
        if used:
            findings.append(
                Finding(
                    BLOCKER,
                    "trigger uses a local table",
                    table,
                    trigger,
                    f"{level} trigger {trigger} runs {function}(), which uses "
                    f"{', '.join(used)}: a shard cannot reach the coordinator's tables",
                    f"give {', '.join(used)} a tenant_id column and distribute it with "
                    "the others (or make it a reference table)",
                )
            )
        else:
            findings.append(
                Finding(
                    REVIEW,
                    "trigger on a distributed table",
                    table,
                    trigger,
                    f"{level} trigger {trigger} ({function}()) runs on the shards",
                    "set citus.enable_unsafe_triggers = on and keep the function to rows of "
                    "the same tenant in co-located tables (or reference tables)",
                )
            )
    return CitusReport(schema, sorted(distributed), sorted(reference), sorted(local), findings)


def _reachable_source(function: str, source: str, functions: dict[str, str]) -> str:
    """The source of function and of the schema's functions it calls, transitively (by name)."""
    seen = {function}
    todo = [source]
    bodies = []
    while todo:
        body = todo.pop()
        bodies.append(body)
        for name, other in functions.items():
            if name not in seen and re.search(rf"\b{re.escape(name)}\s*\(", body):
                seen.add(name)
                todo.append(other or "")
    return "\n".join(bodies)


def _paired(columns: list[str], ref_columns: list[str]) -> bool:
    """tenant_id on both sides, at the same position of the key."""
    return any(
        c == DISTRIBUTION_COLUMN and r == DISTRIBUTION_COLUMN
        for c, r in zip(columns, ref_columns, strict=False)
    )


def _with_tenant(kind: str, columns: list[str] | None) -> str:
    shown = ", ".join(c or "(expression)" for c in (columns or []))
    if kind == "exclusion":
        return f"an exclusion constraint with tenant_id WITH = beside ({shown})"
    word = "PRIMARY KEY" if kind == "primary key" else "UNIQUE"
    return f"{word} (tenant_id, {shown})"


def _kind(table: str, reference: set[str]) -> str:
    return "reference" if table in reference else "local"
