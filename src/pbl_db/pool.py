"""A psycopg_pool factory with the spec's development and production settings.

Spec (knex) -> psycopg_pool: min/max -> min_size/max_size; acquireTimeoutMillis 60000 -> timeout
(wait for a connection); createTimeoutMillis 30000 -> connect_timeout; idleTimeoutMillis 30000 ->
max_idle; destroyTimeoutMillis 5000 -> close_timeout (pass it to pool.close(timeout=...)).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pbl_db.connection import Target, check_tls_policy, connection_kwargs, is_production

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool


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
        check=ConnectionPool.check_connection,
        open=open,
        name=f"pbl-{env or 'default'}",
    )
