"""Fixtures: a real PostgreSQL and Redis per session, a fresh database per test."""

from __future__ import annotations

import contextlib
import operator
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import NoServer, PgServer, postgres_server
from tests.support.redis_server import NoRedis, redis_server

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_MIGRATIONS = Path(__file__).resolve().parent / "fixtures" / "migrations"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CLEARED_ENV = (
    "DATABASE_URL",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSERVICE",
    "PGSSLMODE",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PBL_ENV",
    "PBL_SQL_DIR",
    "PBL_DEBUG",
    "PBL_TLS_MINIMUM",
    "PBL_QUIET",
    "REDIS_URL",
)


def unavailable(reason: str) -> None:
    """A missing server skips locally and fails in CI."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in CLEARED_ENV:
        monkeypatch.delenv(var, raising=False)
    # a test that forgets its target must fail, not start an embedded server somewhere
    monkeypatch.setenv("PBL_EMBEDDED", "off")
    monkeypatch.setenv("PBL_HOME", str(tmp_path / "pbl-home"))


_SERVERS: list[str] = []


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except NoServer as exc:
            unavailable(str(exc))
        major, minor = divmod(server.version, 10000)
        _SERVERS.append(f"PostgreSQL {major}.{minor} ({server.how})")
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the server the session ran on, so a matrix log says which major each run had."""
    for line in _SERVERS:
        terminalreporter.write_line(f"server: {line}")


_SPEC = re.compile(r"^\s*(>=|<=|==|>|<)\s*(\d+)\s*$")


@pytest.fixture(autouse=True)
def _pg_version_marker(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("pg")
    if marker is None:
        return
    match = _SPEC.match(marker.args[0])
    if not match:
        raise ValueError(f"bad pg marker {marker.args[0]!r}; use e.g. pg('>=14')")
    server: PgServer = request.getfixturevalue("pg_server")
    ops: dict[str, Callable[[int, int], bool]] = {
        ">=": operator.ge,
        "<=": operator.le,
        "==": operator.eq,
        ">": operator.gt,
        "<": operator.lt,
    }
    major = server.version // 10000
    if not ops[match.group(1)](major, int(match.group(2))):
        pytest.skip(f"needs PostgreSQL {marker.args[0]}, server is {major}")


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> str:
    """A database migrated with the project's own sql/migrations, cloned for each test."""
    from pbl_db.migrate.engine import Migrator

    name = "pbl_template"
    pg_server.drop_database(name)
    pg_server.create_database(name)
    Migrator(pg_server.url_for(name), ROOT / "sql" / "migrations").apply()
    return name


@pytest.fixture
def db_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def empty_db_url(pg_server: PgServer) -> Iterator[str]:
    name = f"e_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(redis_server())
        except NoRedis as exc:
            unavailable(str(exc))
        yield url


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/migrations that a test may edit."""
    target = tmp_path / "migrations"
    shutil.copytree(FIXTURE_MIGRATIONS, target)
    return target


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def pbl(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run pbl in-process through main(argv), as the console script does."""
    from pbl_db.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def pbl_command(*args: str) -> list[str]:
    """argv for pbl in a child process."""
    return [sys.executable, "-m", "pbl_db", *args]


def run_pbl(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run(
        pbl_command(*args),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
