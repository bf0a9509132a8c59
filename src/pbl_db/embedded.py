"""The embedded PostgreSQL (the `pgserver` wheel) used when no database is configured.

Data lives in $PBL_HOME/pgdata (PBL_HOME defaults to ./.pbl). The server listens on a Unix
socket only; a second pbl process finds it through postmaster.pid and reuses it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pbl_db.errors import ConfigError, OperationFailed

DEFAULT_DATABASE = "bun_payment_linker_dev"


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


def _pgserver() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; it falls back to /tmp, fine here
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        raise ConfigError(
            "the embedded PostgreSQL is not installed",
            "pip install 'pbl[embedded]', or set DATABASE_URL to use your own server",
        ) from None
    return pgserver


def _postmaster_info() -> Any:
    from pgserver.utils import PostmasterInfo

    return PostmasterInfo.read_from_pgdata(data_dir())


def start() -> LocalStatus:
    """Start (or reuse) the embedded server and return its status."""
    pgserver = _pgserver()
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pgserver.get_server(data_dir(), cleanup_mode=None)
    except Exception as exc:
        log = data_dir() / "log"
        raise OperationFailed(
            f"the embedded PostgreSQL did not start: {exc.__class__.__name__}",
            f"see {log}" if log.exists() else "check that PBL_HOME is writable",
        ) from None
    return status()


def status() -> LocalStatus:
    """Report whether the embedded server runs, without starting it."""
    pgdata = data_dir()
    initialized = (pgdata / "PG_VERSION").exists()
    info = None
    if initialized:
        _pgserver()
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
    from pgserver import _commands

    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009  (made at import, one per bundled binary)
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir(), user=user)
    except Exception as exc:
        raise OperationFailed(
            f"pg_ctl stop failed: {exc.__class__.__name__}", f"see {data_dir() / 'log'}"
        ) from None
    return status()


def ensure_database() -> str:
    """Start the server if needed, create the development database, return its URL."""
    import psycopg
    from psycopg import sql

    from pbl_db import queries

    current = status() if (data_dir() / "PG_VERSION").exists() else None
    if current is None or not current.running:
        current = start()
    assert current.url is not None
    admin_url = current.url.replace(f"/{DEFAULT_DATABASE}?", "/postgres?")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(queries.load("get_database_exists"), {"name": DEFAULT_DATABASE})
        if not row.fetchone()[0]:  # type: ignore[index]
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEFAULT_DATABASE)))
    return current.url
