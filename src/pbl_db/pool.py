"""A psycopg_pool factory with the spec's development and production settings.

Spec (knex) -> psycopg_pool: min/max -> min_size/max_size; acquireTimeoutMillis 60000 -> timeout
(wait for a connection); createTimeoutMillis 30000 -> connect_timeout; idleTimeoutMillis 30000 ->
max_idle; destroyTimeoutMillis 5000 -> close_timeout (pass it to pool.close(timeout=...)).

Every connection is checked when it is handed out. For a URL that asks for the primary
(target_session_attrs=read-write or primary, e.g. every node of a formation), the check also
refuses a connection whose server has become a standby (a demoted primary after a failover):
the pool then opens a new one, which libpq sends to the new primary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pbl_db.connection import (
    Target,
    check_tls_policy,
    connection_kwargs,
    is_production,
    parse_conninfo,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

WANTS_PRIMARY = ("read-write", "primary")


@dataclass(frozen=True)
class PoolProfile:
    min_size: int
    max_size: int
    timeout: float  # seconds a caller waits for a connection
    connect_timeout: int  # seconds to establish one connection
    max_idle: float  # seconds an idle connection above min_size is kept
    close_timeout: float  # seconds pool.close() waits for connections in use


PROFILES = {
    "development": PoolProfile(2, 10, 30.0, 5, 30.0, 5.0),
    "production": PoolProfile(5, 20, 60.0, 30, 30.0, 5.0),
}


def profile_for(env: str | None = None) -> PoolProfile:
    """The profile for env, or for PBL_ENV (production) / development by default."""
    name = env or ("production" if is_production() else "development")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown pool profile {name!r}; use one of {sorted(PROFILES)}") from None


def create_pool(
    target: Target | str | None = None,
    *,
    env: str | None = None,
    open: bool = True,
    **overrides: Any,
) -> ConnectionPool:
    """A ConnectionPool for services. `overrides` replace PoolProfile fields.

    With no target, DATABASE_URL / the libpq environment is used (never the embedded server).
    """
    from psycopg_pool import ConnectionPool

    from pbl_db.connection import resolve_target

    if target is None:
        target = resolve_target(allow_embedded=False)
    conninfo = target.conninfo if isinstance(target, Target) else target
    profile = replace(profile_for(env), **overrides)
    check_tls_policy(conninfo, os.environ)
    kwargs = {**connection_kwargs(conninfo), "connect_timeout": profile.connect_timeout}
    return ConnectionPool(
        conninfo,
        min_size=profile.min_size,
        max_size=profile.max_size,
        timeout=profile.timeout,
        max_idle=profile.max_idle,
        kwargs=kwargs,
        check=check_primary if wants_primary(conninfo) else ConnectionPool.check_connection,
        open=open,
        name=f"pbl-{env or 'default'}",
    )


def wants_primary(conninfo: str) -> bool:
    """Whether the URL asks libpq for the primary (target_session_attrs)."""
    wanted = parse_conninfo(conninfo).get("target_session_attrs") or os.environ.get(
        "PGTARGETSESSIONATTRS", ""
    )
    return str(wanted) in WANTS_PRIMARY


def check_primary(conn: psycopg.Connection[Any]) -> None:
    """The pool's check for a primary-only pool: alive, and not (or no longer) a standby."""
    import psycopg

    from pbl_db import queries

    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        row = conn.execute(queries.load("get_recovery_state")).fetchone()
    finally:
        conn.autocommit = autocommit
    if row and row[0]:
        raise psycopg.OperationalError("the server has become a standby: reconnect")
