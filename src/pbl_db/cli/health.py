"""pbl health: PostgreSQL and Redis checks as a table, JSON, Nagios or Prometheus."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, SqlDir
from pbl_db.cli.health_report import Format, Options, run_health


def health(
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check", help="Run only this check (repeatable); see --list.", show_default=False
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", help="Leave out this check (repeatable).", show_default=False),
    ] = None,
    warn: Annotated[
        list[str] | None,
        typer.Option(
            "--warn",
            help="Warning threshold CHECK=VALUE, e.g. connections=80%.",
            show_default=False,
        ),
    ] = None,
    crit: Annotated[
        list[str] | None,
        typer.Option(
            "--crit",
            help="Critical threshold CHECK=VALUE, e.g. long_query=2min.",
            show_default=False,
        ),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Check knob NAME=VALUE, e.g. dead_tuples.min_rows=5000.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", help="TOML file of thresholds (or PBL_HEALTH_CONFIG).", show_default=False
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    as_json: Json = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on WARN too (table/json).")
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url", help="Redis to check (else REDIS_URL; unset: SKIP).", show_default=False
        ),
    ] = None,
    list_checks: Annotated[
        bool, typer.Option("--list", help="List the checks and their defaults.")
    ] = False,
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
) -> int:
    """Check PostgreSQL (and Redis): connections, locks, wraparound, bloat, archiving, ...

    Exit codes: table/json 0, 1 when a check is CRITICAL (or WARNING with --strict),
    3 when PostgreSQL cannot be reached; nagios 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    return run_health(
        Options(
            check=check or [],
            skip=skip or [],
            warn=warn or [],
            crit=crit or [],
            setting=setting or [],
            config=config,
            fmt=fmt,
            as_json=as_json,
            strict=strict,
            redis_url=redis_url,
            list_checks=list_checks,
            database_url=database_url,
            sql_dir=sql_dir,
        )
    )
