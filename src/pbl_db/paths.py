"""Where pbl finds its SQL: --sql-dir, PBL_SQL_DIR, the wheel's copy, or the source checkout."""

from __future__ import annotations

import os
from pathlib import Path

from pbl_db.errors import ConfigError, shown

_PACKAGE_DIR = Path(__file__).resolve().parent


def _source(override: str | os.PathLike[str] | None) -> str:
    return "--sql-dir" if override else "PBL_SQL_DIR"


def sql_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the root SQL directory (holding migrations/, seeds/, maintenance/)."""
    from pbl_db.pathcheck import existing_dir

    chosen = override or os.environ.get("PBL_SQL_DIR")
    if chosen:
        try:
            return existing_dir(chosen, _source(override))
        except ConfigError as exc:
            raise ConfigError(exc.message, "point it at a folder holding migrations/") from None
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


def migrations_dir(
    override: str | os.PathLike[str] | None = None, *, must_hold_migrations: bool = False
) -> Path:
    """Return the migrations directory: <sql dir>/migrations, or the override if it is one.
    With must_hold_migrations, a directory without any *.sql is refused (an empty or wrong
    --sql-dir would otherwise show every applied migration as missing)."""
    root = sql_dir(override)
    candidate = root / "migrations"
    try:
        if candidate.is_dir():
            chosen = candidate
        elif any(root.glob("*.sql")) or override:
            # --sql-dir may name the migrations folder itself
            chosen = root
        else:
            raise ConfigError(
                f"migrations directory {shown(candidate)} does not exist",
                "create it or set --sql-dir / PBL_SQL_DIR to the folder holding migrations/",
            )
        if must_hold_migrations and not any(chosen.glob("*.sql")):
            raise ConfigError(
                f"{_source(override)} {shown(root)} holds no migrations (no *.sql in it or in "
                "its migrations/)",
                "point it at the folder holding the migrations, or scaffold one with "
                "`pbl migrate new`",
            )
    except OSError as exc:
        raise ConfigError(
            f"{_source(override)} {shown(root)}: {os.strerror(exc.errno or 0).lower()}",
            "check the path",
        ) from None
    return chosen
