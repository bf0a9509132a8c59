"""Where pbl finds its SQL: --sql-dir, PBL_SQL_DIR, the wheel's copy, or the source checkout."""

from __future__ import annotations

import os
from pathlib import Path

from pbl_db.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent


def sql_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the root SQL directory (holding migrations/, seeds/, maintenance/)."""
    chosen = override or os.environ.get("PBL_SQL_DIR")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_dir():
            source = "--sql-dir" if override else "PBL_SQL_DIR"
            raise ConfigError(
                f"SQL directory {path} (from {source}) does not exist",
                "point it at a folder holding migrations/",
            )
        return path
    return builtin_sql_dir()


def builtin_sql_dir() -> Path:
    """pbl's own sql/: the wheel's copy, else the source checkout's (overrides ignored)."""
    packaged = _PACKAGE_DIR / "sql"  # present in an installed wheel (hatch force-include)
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent.parent / "sql"  # src/pbl_db -> repository root
    if checkout.is_dir():
        return checkout
    raise ConfigError(
        "cannot find pbl's sql/ directory", "reinstall pbl or set PBL_SQL_DIR / --sql-dir"
    )


def migrations_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the migrations directory: <sql dir>/migrations, or the override if it is one."""
    root = sql_dir(override)
    candidate = root / "migrations"
    if candidate.is_dir():
        return candidate
    if any(root.glob("*.sql")) or override:
        # --sql-dir may name the migrations folder itself
        return root
    raise ConfigError(
        f"migrations directory {candidate} does not exist",
        "create it or set --sql-dir / PBL_SQL_DIR to the folder holding migrations/",
    )
