"""What the benchmarks share: a real server (PBL_BENCH_DATABASE_URL or a throwaway local
cluster, as in the tests) and freshly migrated databases."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PgServer, postgres_server  # noqa: E402
from tests.support.redis_server import redis_server  # noqa: E402,F401

from pbl_db.migrate.engine import Migrator  # noqa: E402


@contextlib.contextmanager
def server() -> Iterator[PgServer]:
    url = os.environ.get("PBL_BENCH_DATABASE_URL")
    if url:
        os.environ["PBL_TEST_DATABASE_URL"] = url
    with postgres_server() as pg:
        yield pg


def migrated_database(pg: PgServer, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = pg.create_database(name)
    Migrator(url, ROOT / "sql" / "migrations").apply()
    return url


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
