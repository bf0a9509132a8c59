"""A tenant's application statistics (the spec's Aggregated Statistics), cached in Redis.

The cache is checked, never trusted: each cached value carries the tenant's applications epoch
(migration 0018), a counter that every committed change to the tenant's statistics moves. A
cached value is served only while the epoch read now equals the one read with it, so it is
exactly what the query would return now; otherwise the statistics are recomputed and stored.
Redis being absent or down never fails a call: the statistics come from PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import ConfigError, OperationFailed, shown

if TYPE_CHECKING:
    import psycopg
    import redis as redis_lib

DEFAULT_TTL = 300
MAX_TTL = 30 * 86400  # a cached entry is re-checked on every call; a month is plenty
KEY_PREFIX = "pbl:stats:v1"
ALL_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)  # "since the beginning" (-infinity in SQL)


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    name: str


@dataclass(frozen=True)
class TenantStats:
    """Statistics of a tenant's live applications created since `since` (None: all)."""

    tenant_id: uuid.UUID
    since: dt.datetime | None
    total: int
    approved: int
    declined: int
    avg_risk_score: float | None
    cached: bool  # served from Redis
    computed_at: dt.datetime  # when PostgreSQL computed these numbers
    epoch: int | None = None  # the tenant's applications epoch they belong to
    cache: str = "off"  # hit, miss, stale (recomputed), off (no Redis), error (Redis failed)
    warning: str | None = None  # why the cache could not be used, for one line on stderr

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tenant_id"] = str(self.tenant_id)
        out["since"] = self.since.isoformat() if self.since else None
        out["computed_at"] = self.computed_at.isoformat()
        return out


def parse_since(value: str | None) -> dt.datetime | None:
    """A date (UTC midnight) or an ISO timestamp (UTC when it names no zone)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {shown(repr(value))} is not a date", "use YYYY-MM-DD or an ISO timestamp"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    try:
        moment.astimezone(dt.UTC)  # the cache key and the query use it in UTC
    except OverflowError:
        raise ConfigError(
            f"--since {shown(repr(value))} is out of range in UTC",
            "give a date between 0001-01-02 and 9999-12-30",
        ) from None
    return moment


def resolve_tenant(conn: psycopg.Connection[Any], value: str) -> Tenant:
    """The tenant named by a UUID or a slug.

    A UUID is looked up as that tenant (row-level security shows a tenant its own row); a slug
    needs a role that sees every tenant.
    """
    from pbl_db.tenant import tenant_transaction

    text = value.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"tenant {shown(text)} is not valid UTF-8 text", "give a tenant id (UUID) or slug"
        ) from None
    try:
        tenant_id: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        tenant_id = None
    params = {"id": tenant_id, "slug": None if tenant_id else text}
    if tenant_id is not None:
        with tenant_transaction(conn, tenant_id):
            row = conn.execute(queries.load("get_stats_tenant"), params).fetchone()
    else:
        row = conn.execute(queries.load("get_stats_tenant"), params).fetchone()
    if row is not None:
        return Tenant(row[0], row[1], row[2])
    if tenant_id is None:
        bypass = conn.execute(queries.load("get_rls_bypass")).fetchone()
        if not (bypass and bypass[0]):
            raise ConfigError(
                f"no tenant with slug {shown(repr(text))} is visible to {conn.info.user}, "
                "which is subject to row-level security",
                "pass the tenant's id (UUID) instead of its slug",
            )
    raise ConfigError(
        f"no tenant {shown(repr(text))}", "give a tenant id (UUID) or slug that exists"
    )


def _key(scope: tuple[Any, ...], tenant_id: uuid.UUID, since: dt.datetime | None) -> str:
    """pbl:stats:v1:<database scope>:<tenant id>:<window start or 'all'>."""
    digest = hashlib.sha256(f"{scope[0]}\0{scope[1]}".encode()).hexdigest()[:16]
    window = since.astimezone(dt.UTC).isoformat() if since else "all"
    return f"{KEY_PREFIX}:{digest}:{tenant_id}:{window}"


def _decode(raw: object) -> dict[str, Any] | None:
    """A cached entry, or None when it is missing or not pbl's."""
    if not isinstance(raw, bytes | str):
        return None
    try:
        data = json.loads(raw)
        entry = {
            "epoch": int(data["epoch"]),
            "total": int(data["total"]),
            "approved": int(data["approved"]),
            "declined": int(data["declined"]),
            "avg_risk_score": None
            if data["avg_risk_score"] is None
            else float(data["avg_risk_score"]),
            "computed_at": dt.datetime.fromisoformat(data["computed_at"]),
        }
    except (ValueError, TypeError, KeyError):
        return None
    return entry


def _encode(stats: TenantStats) -> str:
    return json.dumps(
        {
            "epoch": stats.epoch,
            "total": stats.total,
            "approved": stats.approved,
            "declined": stats.declined,
            "avg_risk_score": stats.avg_risk_score,
            "computed_at": stats.computed_at.isoformat(),
        }
    )


def _redis_failure(exc: Exception) -> str:
    detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return f"Redis cache unavailable ({detail}); statistics computed from PostgreSQL"


def tenant_stats(
    conn: psycopg.Connection[Any],
    tenant_id: uuid.UUID | str,
    since: dt.datetime | None = None,
    *,
    redis: redis_lib.Redis | None = None,
    ttl: int = DEFAULT_TTL,
) -> TenantStats:
    """Total, approved, declined and average risk score of the tenant's live applications
    created at or after `since`, from the Redis cache when it is still exact.

    `conn` must not be inside a transaction (the tenant context is set per transaction);
    `redis=None` computes without a cache. Redis errors are reported in `warning`, not raised.
    No transaction stays open while Redis is asked.
    """
    import psycopg

    from pbl_db.tenant import tenant_transaction

    if not 1 <= ttl <= MAX_TTL:
        raise ConfigError(
            f"--ttl must be between 1 and {MAX_TTL:,} seconds (30 days), not {shown(ttl)}",
            "e.g. --ttl 300",
        )
    tenant = uuid.UUID(str(tenant_id))
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    cache, warning, key = "off", None, ""
    try:
        if redis is not None:
            import redis as redis_lib

            with tenant_transaction(conn, tenant):
                found = conn.execute(queries.load("get_stats_epoch")).fetchone()
            assert found is not None
            epoch = found[0]
            key = _key(tuple(found[1:]), tenant, since)
            try:
                entry = _decode(redis.get(key))
            except (redis_lib.RedisError, OSError) as exc:
                cache, warning, redis = "error", _redis_failure(exc), None
            else:
                if entry is not None and epoch is not None and entry["epoch"] == epoch:
                    return TenantStats(
                        tenant_id=tenant,
                        since=since,
                        total=entry["total"],
                        approved=entry["approved"],
                        declined=entry["declined"],
                        avg_risk_score=entry["avg_risk_score"],
                        cached=True,
                        computed_at=entry["computed_at"],
                        epoch=epoch,
                        cache="hit",
                    )
                cache = "miss" if entry is None else "stale"
        with tenant_transaction(conn, tenant):
            row = conn.execute(
                queries.load("get_stats_summary"),
                {"tenant_id": tenant, "since": since or ALL_TIME},
            ).fetchone()
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        raise OperationFailed(f"tenant statistics failed: {message}") from None
    assert row is not None
    total, approved, declined, avg, epoch, computed_at = row
    stats = TenantStats(
        tenant_id=tenant,
        since=since,
        total=int(total),
        approved=int(approved),
        declined=int(declined),
        avg_risk_score=None if avg is None else float(Decimal(avg)),
        cached=False,
        computed_at=computed_at,
        epoch=epoch,
        cache=cache,
        warning=warning,
    )
    if redis is not None and epoch is not None:
        import redis as redis_lib

        try:
            redis.set(key, _encode(stats), ex=ttl)
        except (redis_lib.RedisError, OSError) as exc:
            return replace(stats, cache="error", warning=_redis_failure(exc))
    return stats
