"""`pbl health` parsed without typer: monitoring runs it every minute for many targets.

Importing typer and building its command costs more than the checks' own queries, so an argv
made only of health's own options in their plain forms (`--format nagios`, `--format=nagios`,
`--check X` repeated, flags) is parsed here and handed to the same code the typer command calls.
Anything else (--help, an unknown option or format, a value that looks like an option) returns
None and the run goes through typer, which owns every message about bad usage.
tests/test_cli_fast.py keeps the tables below equal to the typer command's options.
"""

from __future__ import annotations

from collections.abc import Sequence

from pbl_db.cli.health_report import Format, Options

# option -> Options field; LISTS may be repeated, VALUES take one value, FLAGS none
LISTS = {"--check": "check", "--skip": "skip", "--warn": "warn", "--crit": "crit",
         "--set": "setting"}  # fmt: skip
VALUES = {"--config": "config", "--format": "fmt", "--redis-url": "redis_url",
          "--database-url": "database_url", "--sql-dir": "sql_dir"}  # fmt: skip
FLAGS = {"--json": "as_json", "--strict": "strict", "--list": "list_checks"}


def parse_health(args: Sequence[str]) -> tuple[Options, bool] | None:
    """(options, debug) for `[--debug] health OPTIONS...`, or None to let typer parse it."""
    rest = list(args)
    debug = False
    if rest[:1] == ["--debug"]:
        debug, rest = True, rest[1:]
    if rest[:1] != ["health"]:
        return None
    values: dict[str, str] = {}
    flags: dict[str, bool] = {}
    lists: dict[str, list[str]] = {name: [] for name in LISTS.values()}
    words = iter(rest[1:])
    for word in words:
        name, eq, inline = word.partition("=")
        if name in FLAGS and not eq:
            flags[FLAGS[name]] = True
            continue
        if name not in LISTS and name not in VALUES:
            return None
        value = inline if eq else next(words, None)
        if value is None or (not eq and value.startswith("-")):
            return None
        if name in LISTS:
            lists[LISTS[name]].append(value)
        else:
            values[VALUES[name]] = value
    fmt = values.pop("fmt", Format.table.value)
    if fmt not in Format.__members__:
        return None
    return Options(**lists, **values, **flags, fmt=Format(fmt)), debug  # type: ignore[arg-type]
