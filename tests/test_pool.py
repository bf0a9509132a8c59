"""The connection pool factory offered to services."""

from __future__ import annotations

import pytest

from pbl_db.errors import RefusedError
from pbl_db.pool import PROFILES, create_pool


def test_development_pool_serves_connections(db_url: str) -> None:
    with create_pool(db_url, env="development") as pool:
        assert (pool.min_size, pool.max_size) == (2, 10)
        pool.wait(timeout=10)
        assert pool.get_stats()["pool_size"] >= 2
        with pool.connection() as conn:
            name = conn.execute("SHOW application_name").fetchone()
    assert name == ("pbl",)


def test_production_profile_sizes_and_timeouts(db_url: str) -> None:
    spec = PROFILES["production"]
    assert (spec.min_size, spec.max_size, spec.timeout, spec.connect_timeout, spec.max_idle) == (
        5,
        20,
        60.0,
        30,
        30.0,
    )
    with create_pool(db_url, env="production", open=False) as pool:
        assert (pool.min_size, pool.max_size, pool.timeout, pool.max_idle) == (5, 20, 60.0, 30.0)
        assert pool.kwargs["connect_timeout"] == 30


def test_production_pool_refuses_plain_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBL_ENV", "production")
    with pytest.raises(RefusedError):
        create_pool("postgresql://u@db.example/x?sslmode=prefer", open=False)


def test_pool_from_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    with create_pool(max_size=3, min_size=1) as pool:
        assert pool.max_size == 3
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
