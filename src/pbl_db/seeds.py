"""sql/seeds: NNN_name.sql files, idempotent, run in name order, each in one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pbl_db.errors import ConfigError, OperationFailed, shown
from pbl_db.replica import require_primary

_SEED = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class SeedFile:
    name: str  # e.g. 001_tenants
    path: Path


@dataclass(frozen=True)
class SeedResult:
    name: str
    seconds: float


def list_seeds(directory: Path) -> list[SeedFile]:
    if not directory.is_dir():
        raise ConfigError(
            f"seeds directory {shown(directory)} does not exist", "set --sql-dir / PBL_SQL_DIR"
        )
    return [SeedFile(p.name[:-4], p) for p in sorted(directory.iterdir()) if _SEED.match(p.name)]


def select(seeds: list[SeedFile], specific: list[str]) -> list[SeedFile]:
    if not specific:
        return seeds
    names = {s.name for s in seeds}
    wanted = set()
    for name in specific:
        key = name[:-4] if name.endswith(".sql") else name
        if key not in names:
            raise ConfigError(f"no seed named {shown(name)!r}", "see 'pbl seed list'")
        wanted.add(key)
    return [s for s in seeds if s.name in wanted]  # file order, whatever order they were named


def run_seeds(conn: psycopg.Connection[Any], seeds: list[SeedFile]) -> list[SeedResult]:
    """Run each file in its own transaction; a failure rolls that file back and stops."""
    require_primary(conn, "pbl seed")
    import time

    done = []
    for seed in seeds:
        started = time.monotonic()
        try:
            with conn.transaction():
                conn.execute(seed.path.read_text(encoding="utf-8").encode("utf-8"))
        except psycopg.Error as exc:
            message = exc.diag.message_primary or str(exc).splitlines()[0]
            raise OperationFailed(
                f"seed {seed.name} failed: {message}", "it was rolled back; fix it and rerun"
            ) from None
        done.append(SeedResult(seed.name, time.monotonic() - started))
    return done
