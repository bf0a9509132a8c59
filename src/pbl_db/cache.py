"""Redis client for pbl and its services: short timeouts, REDIS_URL by default."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pbl_db.errors import ConfigError, ConnectError

if TYPE_CHECKING:
    import redis

SOCKET_TIMEOUT = 2.0


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def redis_client(url: str | None = None) -> redis.Redis:
    """A client for url (or REDIS_URL); fails fast instead of hanging on a dead server."""
    import redis

    chosen = url or redis_url()
    if not chosen:
        raise ConfigError("no Redis configured", "set REDIS_URL, e.g. redis://localhost:6379/0")
    try:
        return redis.Redis.from_url(
            chosen,
            socket_connect_timeout=SOCKET_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            health_check_interval=30,
        )
    except ValueError as exc:
        raise ConfigError(f"malformed REDIS_URL: {exc}", "expected redis://host:port/db") from None


def ping(client: redis.Redis) -> float:
    """Round-trip time of PING in milliseconds; ConnectError when Redis does not answer."""
    import time

    import redis

    started = time.perf_counter()
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ConnectError(
            f"cannot reach Redis: {exc}", "check REDIS_URL and that redis-server runs"
        ) from None
    return (time.perf_counter() - started) * 1000
