"""The Redis client helper against a real redis-server."""

from __future__ import annotations

import pytest

from pbl_db.cache import ping, redis_client
from pbl_db.errors import ConfigError, ConnectError
from tests.support.postgres import free_port


def test_round_trip_with_ttl(redis_url: str) -> None:
    client = redis_client(redis_url)
    assert ping(client) >= 0
    client.set("pbl:test", "1", ex=30)
    assert client.get("pbl:test") == b"1"
    assert 0 < client.ttl("pbl:test") <= 30


def test_uses_redis_url(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert ping(redis_client()) >= 0


def test_unreachable_and_unset() -> None:
    with pytest.raises(ConnectError, match="cannot reach Redis"):
        ping(redis_client(f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(ConfigError, match="REDIS_URL"):
        redis_client()
