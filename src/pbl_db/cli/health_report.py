"""What `pbl health` does once its options are parsed, without typer: the typer command
(pbl_db.cli.health) and the fast path monitoring takes (pbl_db.cli.fast) both end here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pbl_db.health import Report
    from pbl_db.health.config import Settings


class Format(StrEnum):
    table = "table"
    json = "json"
    nagios = "nagios"
    prometheus = "prometheus"


@dataclass
class Options:
    """`pbl health`'s options, as the typer command declares them."""

    check: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    warn: list[str] = field(default_factory=list)
    crit: list[str] = field(default_factory=list)
    setting: list[str] = field(default_factory=list)
    config: str | None = None
    fmt: Format = Format.table
    as_json: bool = False
    strict: bool = False
    redis_url: str | None = None
    list_checks: bool = False
    database_url: str | None = None
    sql_dir: str | None = None


def run_health(o: Options) -> int:
    """Run the checks, print them in the asked format, return the exit code."""
    from pbl_db.cli.output import optional_migrations_dir, render, target
    from pbl_db.health import Status, run
    from pbl_db.health.config import load_settings

    settings = load_settings(o.config, o.warn, o.crit, o.setting)
    if o.list_checks:
        return _list(settings, o.as_json or o.fmt is Format.json)
    migrations_dir = optional_migrations_dir(o.sql_dir)
    report = run(
        target(o.database_url),
        settings,
        only=o.check,
        skip=o.skip,
        redis_url=o.redis_url or os.environ.get("REDIS_URL") or None,
        migrations_dir=migrations_dir,
        redis_source="--redis-url" if o.redis_url else "REDIS_URL",
    )
    if o.fmt is Format.nagios:
        from pbl_db.health.formats import nagios

        text, code = nagios(report)
        print(text)
        return code
    if o.fmt is Format.prometheus:
        from pbl_db.health.formats import prometheus

        # by design: a textfile collector keeps the metrics (pbl_health_up 0) only on exit 0
        print(prometheus(report), end="")
        return 0
    if o.as_json or o.fmt is Format.json:
        render(report.as_dict(), as_json=True)
    else:
        _table(report)
    if any(c.id == "connection" and c.status is Status.CRIT for c in report.checks):
        return 3
    failing = {Status.CRIT, Status.WARN} if o.strict else {Status.CRIT}
    return 1 if report.status in failing else 0


def _list(settings: Settings, as_json: bool) -> int:
    from pbl_db.cli.output import render
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
