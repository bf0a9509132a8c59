"""Migration files on disk: reading, validating, checksumming and scaffolding them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbl_db.errors import ConfigError, RefusedError, shown

ROLLBACK_SUFFIX = ".rollback.sql"
_NUMBERED = re.compile(r"^(\d+)_")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
MAX_NAME = 100  # characters of a migration's name (NNNN_ and .rollback.sql come on top)


@dataclass(frozen=True)
class MigrationFile:
    """One migration: NNNN_name.sql and its NNNN_name.rollback.sql."""

    id: str
    path: Path
    rollback_path: Path
    sha256: str
    rollback_sha256: str
    transactional: bool
    statements: tuple[str, ...]
    rollback_statements: tuple[str, ...]
    yoyo: Any = field(compare=False, repr=False)  # yoyo.migrations.Migration


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_migrations(directory: Path) -> list[MigrationFile]:
    """Read a migrations directory in apply order; refuse what pbl cannot roll back."""
    from yoyo import read_migrations
    from yoyo.exceptions import BadMigration, MigrationConflict
    from yoyo.migrations import read_sql_migration, topological_sort

    if not directory.is_dir():
        raise ConfigError(
            f"migrations directory {directory} does not exist",
            "create it or set --sql-dir / PBL_SQL_DIR",
        )
    python_files = sorted(p.name for p in directory.glob("*.py"))
    if python_files:
        raise RefusedError(
            f"{directory} holds Python migrations ({', '.join(python_files)})",
            "pbl runs SQL migrations only: NNNN_name.sql with NNNN_name.rollback.sql",
        )
    forward = {p.name[: -len(".sql")] for p in directory.glob("*.sql")}
    forward = {name for name in forward if not name.endswith(".rollback")}
    missing = sorted(
        f"{i}.sql" for i in forward if not (directory / f"{i}{ROLLBACK_SUFFIX}").exists()
    )
    if missing:
        raise RefusedError(
            f"migration without a rollback file: {', '.join(missing)} in {directory}",
            "write NNNN_name.rollback.sql beside it (pbl migrate new scaffolds both)",
        )
    orphans = sorted(
        p.name
        for p in directory.glob(f"*{ROLLBACK_SUFFIX}")
        if p.name[: -len(ROLLBACK_SUFFIX)] not in forward
    )
    if orphans:
        raise ConfigError(
            f"rollback file without a migration: {', '.join(orphans)} in {directory}",
            "rename or remove it",
        )

    try:
        yoyo_list = read_migrations(str(directory))
        ordered = list(topological_sort(yoyo_list))
    except (BadMigration, MigrationConflict) as exc:
        raise ConfigError(f"cannot read migrations in {directory}: {exc}") from None

    result = []
    for migration in ordered:
        path = Path(migration.path)
        rollback = path.with_name(f"{migration.id}{ROLLBACK_SUFFIX}")
        directives, _, statements = read_sql_migration(str(path))
        _, _, rollback_statements = read_sql_migration(str(rollback))
        flag = directives.get("transactional", "true").strip().lower()
        if flag not in ("true", "false"):
            raise ConfigError(f"{path.name}: '-- transactional: {flag}' must be true or false")
        result.append(
            MigrationFile(
                id=migration.id,
                path=path,
                rollback_path=rollback,
                sha256=sha256_of(path),
                rollback_sha256=sha256_of(rollback),
                transactional=flag == "true",
                statements=tuple(statements),
                rollback_statements=tuple(rollback_statements),
                yoyo=migration,
            )
        )
    return result


def scan_migrations(directory: Path) -> list[MigrationFile]:
    """Ids, checksums and the transactional flag only, without parsing SQL (for status checks).

    Ordered by file name, which is the apply order of numbered migrations.
    """
    if not directory.is_dir():
        raise ConfigError(
            f"migrations directory {directory} does not exist",
            "create it or set --sql-dir / PBL_SQL_DIR",
        )
    result = []
    for path in sorted(directory.glob("*.sql")):
        if path.name.endswith(ROLLBACK_SUFFIX):
            continue
        migration_id = path.name[: -len(".sql")]
        rollback = path.with_name(f"{migration_id}{ROLLBACK_SUFFIX}")
        head = path.read_text(encoding="utf-8").splitlines()[:5]
        transactional = not any(
            re.match(r"--\s*transactional\s*:\s*false\s*$", line, re.I) for line in head
        )
        result.append(
            MigrationFile(
                id=migration_id,
                path=path,
                rollback_path=rollback,
                sha256=sha256_of(path),
                rollback_sha256=sha256_of(rollback) if rollback.exists() else "",
                transactional=transactional,
                statements=(),
                rollback_statements=(),
                yoyo=None,
            )
        )
    return result


_TEMPLATE = """\
-- {id}: describe the change here.
-- Runs in one transaction with lock_timeout and statement_timeout set by pbl migrate.
-- For CREATE INDEX CONCURRENTLY, put it in its own migration with the directive line
-- '-- transactional: false' at the very top, after DROP INDEX CONCURRENTLY IF EXISTS.

"""

_ROLLBACK_TEMPLATE = """\
-- Undo {id}: restore the schema exactly as it was before the migration.

"""


def scaffold(directory: Path, name: str) -> tuple[Path, Path]:
    """Create the next-numbered NNNN_name.sql and NNNN_name.rollback.sql (both or neither)."""
    from pbl_db.pathcheck import output_dir

    if len(name) > MAX_NAME:
        raise ConfigError(
            f"the migration name is {len(name)} characters long, at most {MAX_NAME}",
            "give a short name, e.g. add_devices_region",
        )
    slug = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if not slug or not _NAME.match(slug):
        raise ConfigError(
            f"bad migration name {shown(name)!r}", "use letters, digits and underscores"
        )
    output_dir(directory, "--sql-dir", create=False)
    numbers = [int(m.group(1)) for p in directory.glob("*.sql") if (m := _NUMBERED.match(p.name))]
    migration_id = f"{(max(numbers) + 1) if numbers else 1:04d}_{slug}"
    forward = directory / f"{migration_id}.sql"
    rollback = directory / f"{migration_id}{ROLLBACK_SUFFIX}"
    made: list[Path] = []
    try:
        for path, template in ((forward, _TEMPLATE), (rollback, _ROLLBACK_TEMPLATE)):
            with path.open("x", encoding="utf-8") as out:
                made.append(path)
                out.write(template.format(id=migration_id))
    except BaseException as exc:
        for path in made:  # both files or neither
            path.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise ConfigError(
                f"{shown(exc.filename)} exists already",
                "rerun `pbl migrate new` for the next number",
            ) from None
        if isinstance(exc, OSError):
            raise ConfigError(
                f"cannot write migration files in {shown(directory)}: {exc.strerror or exc}",
                "check the directory (--sql-dir) and its permissions",
            ) from None
        raise
    return forward, rollback
