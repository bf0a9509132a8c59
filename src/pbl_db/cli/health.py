"""pbl health: PostgreSQL and Redis checks as a table, JSON, Nagios or Prometheus."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, SqlDir

if TYPE_CHECKING:
    from pbl_db.health import Report
    from pbl_db.health.config import Settings


class Format(StrEnum):
    table = "table"
    json = "json"
    nagios = "nagios"
    prometheus = "prometheus"


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
    import os

    from pbl_db.cli.common import optional_migrations_dir, render, target
    from pbl_db.health import Status, run
    from pbl_db.health.config import load_settings

    settings = load_settings(config, warn or [], crit or [], setting or [])
    if list_checks:
        return _list(settings, as_json or fmt is Format.json)
    migrations_dir = optional_migrations_dir(sql_dir)
    report = run(
        target(database_url),
        settings,
        only=check or [],
        skip=skip or [],
        redis_url=redis_url or os.environ.get("REDIS_URL") or None,
        migrations_dir=migrations_dir,
    )
    if fmt is Format.nagios:
        from pbl_db.health.formats import nagios

        text, code = nagios(report)
        typer.echo(text)
        return code
    if fmt is Format.prometheus:
        from pbl_db.health.formats import prometheus

        typer.echo(prometheus(report), nl=False)
        return 0
    if as_json or fmt is Format.json:
        render(report.as_dict(), as_json=True)
    else:
        _table(report)
    if any(c.id == "connection" and c.status is Status.CRIT for c in report.checks):
        return 3
    failing = {Status.CRIT, Status.WARN} if strict else {Status.CRIT}
    return 1 if report.status in failing else 0


def _list(settings: Settings, as_json: bool) -> int:
    from pbl_db.cli.common import render
    from pbl_db.health.config import DEFAULTS

    rows = []
    for check_id, (_, what) in DEFAULTS.items():
        th = settings.threshold(check_id)
        rows.append(
            {
                "id": check_id,
                "measures": what,
                "unit": th.unit,
                "warn": th.warn,
                "crit": th.crit,
                "lower_is_worse": th.below,
            }
        )
    render(
        rows,
        as_json=as_json,
        columns=[
            ("id", "check"),
            ("measures", "measures"),
            ("unit", "unit"),
            ("warn", "warn"),
            ("crit", "crit"),
        ],
    )
    return 0


_STYLE = {"OK": "green", "WARN": "yellow", "CRIT": "bold red", "UNKNOWN": "magenta", "SKIP": "dim"}


def _table(report: Report) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pbl health: {report.status.name} ({report.seconds * 1000:.0f} ms)")
    for header in ("check", "status", "value", "warn / crit", "summary"):
        table.add_column(header)
    for c in report.checks:
        limits = (
            ""
            if c.warn is None and c.crit is None
            else f"{_fmt(c.warn, c.unit)} / {_fmt(c.crit, c.unit)}"
        )
        summary = (
            c.summary
            if c.status.name in ("OK", "SKIP") or not c.hint
            else f"{c.summary}\n→ {c.hint}"
        )
        table.add_row(
            c.id,
            f"[{_STYLE[c.status.name]}]{c.status.name}[/]",
            _fmt(c.value, c.unit),
            limits,
            summary,
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B":
        from pbl_db.health.model import human_bytes

        return human_bytes(value)
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
    return text + ("" if unit in ("count", "") else (" months" if unit == "months" else unit))
