"""pbl stats: a tenant's application statistics, cached in Redis."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, render, say, target


def stats(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug or id (UUID).")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only applications created at or after this date (YYYY-MM-DD, UTC midnight) "
            "or ISO timestamp.",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Compute from PostgreSQL; neither read nor write Redis."),
    ] = False,
    ttl: Annotated[
        int,
        typer.Option(
            "--ttl", min=1, max=30 * 86400, help="Seconds a cached result is kept in Redis."
        ),
    ] = 300,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Aggregated application statistics of a tenant: total, approved, declined, average risk
    score (soft-deleted applications left out). Cached in Redis (REDIS_URL) and checked against
    the database on every call, so a new or changed application is never hidden."""
    from pbl_db.cache import redis_client, redis_url
    from pbl_db.connection import connect
    from pbl_db.errors import ConfigError
    from pbl_db.stats import parse_since, resolve_tenant, tenant_stats

    window = parse_since(since)
    client, broken = None, False
    if not no_cache and redis_url():
        try:
            client = redis_client()
        except ConfigError as exc:
            say(f"warning: Redis cache unavailable ({exc}); statistics computed from PostgreSQL")
            broken = True
    with connect(target(database_url)) as conn:
        found = resolve_tenant(conn, tenant)
        result = tenant_stats(conn, found.id, window, redis=client, ttl=ttl)
    if result.warning:
        say(f"warning: {result.warning}")
    data = result.as_dict()
    data["tenant"] = found.slug
    if no_cache:
        data["cache"] = "bypassed"
    elif broken:
        data["cache"] = "error"
    if as_json:
        render(data, as_json=True)
        return
    data["avg_risk_score"] = "" if result.avg_risk_score is None else f"{result.avg_risk_score:.2f}"
    data["since"] = data["since"] or "(all time)"
    render(
        data,
        as_json=False,
        columns=[
            ("tenant", "tenant"),
            ("since", "since"),
            ("total", "total"),
            ("approved", "approved"),
            ("declined", "declined"),
            ("avg_risk_score", "avg risk score"),
            ("cache", "cache"),
            ("computed_at", "computed at"),
        ],
        title="Application statistics",
    )
