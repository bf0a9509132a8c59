"""pbl health: checks of PostgreSQL and Redis, judged against thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbl_db.errors import ConfigError, shown
from pbl_db.health.config import CHECK_IDS, POSTGRES_CHECKS, REDIS_CHECKS, Settings
from pbl_db.health.model import Check, Status, worst

if TYPE_CHECKING:
    from pbl_db.connection import Target

__all__ = ["CHECK_IDS", "Check", "Report", "Settings", "Status", "run"]


@dataclass
class Report:
    checks: list[Check]
    seconds: float

    @property
    def status(self) -> Status:
        return worst(self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.name,
            "seconds": round(self.seconds, 4),
            "checks": [c.as_dict() for c in self.checks],
        }


def select(only: list[str], skip: list[str]) -> list[str]:
    """Check ids to run, in the documented order."""
    for name in [*only, *skip]:
        if name not in CHECK_IDS:
            raise ConfigError(
                f"unknown check {shown(repr(name))}", f"known checks: {', '.join(CHECK_IDS)}"
            )
    chosen = [i for i in CHECK_IDS if (not only or i in only) and i not in skip]
    if not chosen:
        raise ConfigError("no check left to run", "drop a --skip or widen --check")
    return chosen


def run(
    target: Target,
    settings: Settings,
    *,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    redis_url: str | None = None,
    migrations_dir: Path | None = None,
    redis_source: str = "REDIS_URL",
) -> Report:
    """Run the chosen checks; never raises for a server that is down (that is a CRIT)."""
    import time

    from pbl_db.health import postgres, redis_checks

    wanted = select(only or [], skip or [])
    started = time.perf_counter()
    pg_wanted = [i for i in wanted if i in POSTGRES_CHECKS]
    checks = postgres.run(target, settings, pg_wanted, migrations_dir) if pg_wanted else []
    redis_wanted = [i for i in wanted if i in REDIS_CHECKS]
    checks += redis_checks.run(redis_url, settings, redis_wanted, redis_source)
    return Report(checks, time.perf_counter() - started)
