"""Migration state as recorded in the database, compared with the files on disk.

Kept apart from the engine so that reading state (pbl health) does not import yoyo.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from pbl_db import queries
from pbl_db.migrate.source import MigrationFile, scan_migrations


@dataclass(frozen=True)
class MigrationStatus:
    id: str
    state: str  # applied | pending | drifted | missing
    applied_at: datetime | None
    sha256: str | None  # of the file on disk
    recorded_sha256: str | None  # recorded when applied (None: applied before pbl tracked it)
    transactional: bool | None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["applied_at"] = self.applied_at.isoformat() if self.applied_at else None
        return data


def status_on(conn: psycopg.Connection[Any], directory: Path) -> list[MigrationStatus]:
    """Migration states read over a connection the caller already has (pbl health)."""
    return statuses(scan_migrations(directory), *read_state(conn))


def read_state(
    conn: psycopg.Connection[Any],
) -> tuple[dict[str, datetime], dict[str, tuple[str, str]]]:
    has = conn.execute(queries.load("get_migration_tables")).fetchone()
    assert has is not None
    applied: dict[str, datetime] = {}
    recorded: dict[str, tuple[str, str]] = {}
    if has[0]:
        for migration_id, applied_at in conn.execute(queries.load("list_applied_migrations")):
            applied[migration_id] = applied_at
    if has[1]:
        for migration_id, sha, rollback_sha, _at, _by in conn.execute(
            queries.load("list_migration_checksums")
        ):
            recorded[migration_id] = (sha, rollback_sha)
    return applied, recorded


def statuses(
    files: list[MigrationFile],
    applied: dict[str, datetime],
    recorded: dict[str, tuple[str, str]],
) -> list[MigrationStatus]:
    result = []
    for f in files:
        if f.id not in applied:
            result.append(MigrationStatus(f.id, "pending", None, f.sha256, None, f.transactional))
            continue
        rec = recorded.get(f.id)
        state, detail = "applied", "" if rec else "checksum not recorded yet"
        if rec and rec[0] != f.sha256:
            state, detail = "drifted", f"{f.path.name} changed after it was applied"
        elif rec and rec[1] != f.rollback_sha256:
            state, detail = "drifted", f"{f.rollback_path.name} changed after it was applied"
        result.append(
            MigrationStatus(
                f.id,
                state,
                applied[f.id],
                f.sha256,
                rec[0] if rec else None,
                f.transactional,
                detail,
            )
        )
    known = {f.id for f in files}
    for migration_id, applied_at in applied.items():
        if migration_id not in known:
            rec = recorded.get(migration_id)
            result.append(
                MigrationStatus(
                    migration_id,
                    "missing",
                    applied_at,
                    None,
                    rec[0] if rec else None,
                    None,
                    "applied, but its file is not in the migrations directory",
                )
            )
    return result
