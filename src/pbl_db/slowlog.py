"""Slow statements from a PostgreSQL server log, when pg_stat_statements is not there.

Reads the `duration: 12.345 ms  statement: ...` and `duration: ... ms  execute <name>: ...` lines
that log_min_duration_statement (or log_duration with log_statement) writes, in the stderr
format (any log_line_prefix: the message is found by its `duration: ` / `LOG:  ` marker;
continuation lines start with a tab), csvlog (the message is a quoted CSV field) or jsonlog
(PostgreSQL 15+). Files are streamed: memory grows with the number of distinct statements, not
with the file.

Literals are replaced by $n placeholders so that `WHERE id = 1` and `WHERE id = 2` aggregate as
one statement, the way pg_stat_statements normalizes them: numbers (negative ones included),
quoted strings (E'', U&'', B'', X'', dollar-quoted), whole IN (...) and ARRAY[...] lists of
constants, and the rows after the first of a VALUES list. Identifiers (t1, "Table 2"), $n
parameters and casts stay. Comments are dropped and white space is collapsed.

Parse and bind durations (extended protocol) are not counted: the execute line carries the
statement's execution time, which is what pg_stat_statements calls total_exec_time.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from pbl_db.errors import ConfigError, shown
from pbl_db.pathcheck import input_file

FORMATS = ("auto", "stderr", "csvlog", "jsonlog")
ORDER_KEYS = {"total": "total_ms", "mean": "mean_ms", "calls": "calls", "max": "max_ms"}

# --- the log entries ------------------------------------------------------------------------

_DURATION = re.compile(r"duration: (\d+(?:\.\d+)?) ms")
# what follows "duration: N ms  " in the message; parse/bind/plan lines are not statements
_STATEMENT = re.compile(r"(?:statement|execute [^\n]*?): ", re.DOTALL)
_SEVERITY = re.compile(r"\b(?:LOG|WARNING|NOTICE|INFO|DEBUG\d?):  ")
_PID = re.compile(r"\[(\d+)\]")
_PREFIX_DB = re.compile(r"\b(?:db|database)=([^\s,\]]+)")
_CSV_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [^,]*,")
# csvlog columns (PostgreSQL 13-17): 2 database_name, 3 process_id, 13 message, 25 query_id (14+)
_CSV_DB, _CSV_PID, _CSV_MESSAGE, _CSV_QUERY_ID = 2, 3, 13, 25
_MAX_PENDING = 10_000
# a duration beyond this (about 31 years) is not a real one: such a line is skipped, so sums
# and shares stay finite (a 300-digit duration would make them inf, and --json invalid)
MAX_DURATION_MS = 1e12


@dataclass(frozen=True)
class Entry:
    """One log message: who wrote it and its text (continuation lines joined)."""

    message: str
    pid: str | None = None
    database: str | None = None
    query_id: int | None = None


def _stderr_entry(first: str, rest: list[str]) -> Entry:
    text = "\n".join([first, *rest])
    marker = text.find("duration: ")
    severity = _SEVERITY.search(text)
    if severity is not None and (marker < 0 or severity.start() < marker):
        prefix, message = text[: severity.start()], text[severity.end() :]
    elif marker >= 0:
        prefix, message = text[:marker], text[marker:]
    else:
        prefix, message = "", ""
    pid = _PID.search(prefix)
    db = _PREFIX_DB.search(prefix)
    return Entry(message, pid.group(1) if pid else None, db.group(1) if db else None)


def stderr_entries(lines: Iterable[str]) -> Iterator[Entry]:
    """Entries of a stderr-format log: a line starting with a tab continues the one before."""
    first: str | None = None
    rest: list[str] = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        if line.startswith("\t") and first is not None:
            rest.append(line[1:])
            continue
        if first is not None:
            yield _stderr_entry(first, rest)
        first, rest = line, []
    if first is not None:
        yield _stderr_entry(first, rest)


def _int(value: Any) -> int | None:
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


def csv_entries(lines: Iterable[str]) -> Iterator[Entry]:
    """Entries of a csvlog file (the csv module handles quoted, multi-line messages)."""
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, 1 << 30))  # a statement may exceed the 128 KiB default
    try:
        for row in csv.reader(lines):
            if len(row) <= _CSV_MESSAGE:
                continue
            query_id = _int(row[_CSV_QUERY_ID]) if len(row) > _CSV_QUERY_ID else None
            yield Entry(row[_CSV_MESSAGE], row[_CSV_PID], row[_CSV_DB] or None, query_id)
    finally:
        csv.field_size_limit(old_limit)


def json_entries(lines: Iterable[str]) -> Iterator[Entry]:
    """Entries of a jsonlog file (one JSON object a line, PostgreSQL 15+)."""
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            pid = obj.get("pid")
            yield Entry(
                obj["message"],
                None if pid is None else str(pid),
                obj.get("dbname"),
                _int(obj.get("query_id")),
            )


def detect_format(first_line: str, name: str = "") -> str:
    """csvlog, jsonlog or stderr, from the file name or its first line."""
    if name.endswith((".csv", ".csv.gz")):
        return "csvlog"
    if name.endswith((".json", ".json.gz")) or first_line.lstrip().startswith("{"):
        return "jsonlog"
    if _CSV_START.match(first_line) and '"' in first_line:
        return "csvlog"
    return "stderr"


@dataclass(frozen=True)
class Timed:
    """One statement execution found in the log."""

    duration_ms: float
    text: str
    database: str | None
    query_id: int | None


def timed_statements(entries: Iterable[Entry]) -> Iterator[Timed]:
    """Statements with their duration. A bare `duration: N ms` (the statement was already
    logged by log_statement) is paired with the last statement that process logged."""
    pending: dict[str | None, str] = {}
    for entry in entries:
        message = entry.message
        if message.startswith("duration: "):
            match = _DURATION.match(message)
            if match is None:
                continue
            ms = float(match.group(1))
            if not math.isfinite(ms) or ms > MAX_DURATION_MS:
                continue
            tail = message[match.end() :]
            if not tail.strip():
                text = pending.pop(entry.pid, None)
                if text is not None:
                    yield Timed(ms, text, entry.database, entry.query_id)
                continue
            stmt = _STATEMENT.match(tail.lstrip(" "))
            if stmt is not None:
                body = tail.lstrip(" ")[stmt.end() :]
                yield Timed(ms, body, entry.database, entry.query_id)
            continue
        stmt = _STATEMENT.match(message)
        if stmt is not None:
            pending.pop(entry.pid, None)
            pending[entry.pid] = message[stmt.end() :]
            if len(pending) > _MAX_PENDING:  # processes that never logged a duration
                del pending[next(iter(pending))]


# --- normalization --------------------------------------------------------------------------
# Two passes of regular expressions (the scanning runs in C, Python sees only the literals):
# 1. left to right, comments become a space, quoted identifiers stay, strings become \x00 and
#    numbers \x01 (a number only where no identifier character precedes it: t1 stays t1);
# 2. a minus sign in front of a number where an operator, bracket, comma or keyword precedes it
#    joins the number; lists of constants collapse; white space collapses; each constant becomes
#    the next $n, numbered after the highest $n the statement already has.

_STRING, _NUMBER, _NEXT = "\x00", "\x01", "\x00"
_LITERALS = re.compile(
    r"""
    (?=[-/"'$0-9.eEbBxXnNuU])  # a quick first-character check: most positions start nothing
    (?:(?P<comment>--[^\n]*
        |/\*(?:[^*/]|\*(?!/)|/(?!\*)|/\*(?:[^*]|\*(?!/))*\*/)*\*/
        |/\*.*)
    |(?P<qident>(?:[uU]&)?"[^"]*(?:""[^"]*)*"?)
    |(?P<string>(?<![\w$])[eE]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?
        |(?:(?<![\w$])(?:[bBxXnN]|[uU]&))?'[^']*(?:''[^']*)*'?
        |(?<![\w$])\$(?P<tag>(?:[^\W\d]\w*)?)\$.*?\$(?P=tag)\$
        |(?<![\w$])\$(?:[^\W\d]\w*)?\$.*)
    |(?P<number>(?<![\w$.])
        (?:0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+
        |(?:\d[\d_]*(?:\.\d*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)))
    """,
    re.VERBOSE | re.DOTALL,
)
_UNARY_BEFORE = (
    r"(?:[=<>(,+*/%^|&~!@#\[:]|\b(?:SELECT|WHERE|AND|OR|NOT|THEN|ELSE|WHEN|BY|LIMIT|OFFSET"
    r"|VALUES|RETURNING|BETWEEN|IN|IS|SET|ON|AS|CASE|RETURN|HAVING|ARRAY|DEFAULT|LIKE|ILIKE"
    r"|ANY|ALL|SOME|FETCH|FIRST)\b)"
)
_NEGATIVE = re.compile(rf"(?P<pre>{_UNARY_BEFORE}\s*)-\s*\x01", re.IGNORECASE)
_ELEMENT = (
    r"(?:[\x00\x01]|\$\d+|(?:NULL|TRUE|FALSE|DEFAULT)\b)"
    r"(?:\s*::\s*(?:[^\W\d][\w$]*|\"[^\"]*\"))?"
)
_ELEMENTS = rf"{_ELEMENT}(?:\s*,\s*{_ELEMENT})*"
_IN_LIST = re.compile(
    rf"\b(?P<kw>IN)\s*\(\s*(?P<first>{_ELEMENT})(?:\s*,\s*{_ELEMENT})*\s*\)", re.I
)
_ARRAY = re.compile(
    rf"\b(?P<kw>ARRAY)\s*\[\s*(?P<first>{_ELEMENT})(?:\s*,\s*{_ELEMENT})*\s*\]", re.IGNORECASE
)
_VALUES = re.compile(
    rf"\b(?P<kw>VALUES)\s*(?P<row>\(\s*{_ELEMENTS}\s*\))(?:\s*,\s*\(\s*{_ELEMENTS}\s*\))+",
    re.IGNORECASE,
)
_PARAM = re.compile(r"(?<![\w$])\$(\d+)")
_PLACEHOLDER = re.compile("[\x00\x01]")
_WS = re.compile(r"\s+")


def _literal(match: re.Match[str]) -> str:
    if match.group("comment") is not None:
        return " "
    if match.group("qident") is not None:
        return match.group()
    return _NUMBER if match.group("number") is not None else _STRING


def _collapsed(match: re.Match[str], opening: str, closing: str, gap: str) -> str:
    first = match.group("first")
    value = first.split("::")[0].strip() if first.startswith("$") else _NEXT
    return f"{match.group('kw')}{gap}{opening}{value} /*, ... */{closing}"


def normalize(text: str) -> str:
    """The statement with its literals as $n placeholders (numbered after any $n it has)."""
    masked = _LITERALS.sub(_literal, text)
    if "-" in masked:
        masked = _NEGATIVE.sub(r"\g<pre>" + _NUMBER, masked)
    if "(" in masked:
        masked = _IN_LIST.sub(lambda m: _collapsed(m, "(", ")", " "), masked)
        masked = _VALUES.sub(lambda m: f"{m.group('kw')} {m.group('row')} /*, ... */", masked)
    if "[" in masked:
        masked = _ARRAY.sub(lambda m: _collapsed(m, "[", "]", ""), masked)
    masked = _WS.sub(" ", masked).strip().rstrip(";").rstrip()
    number = max((int(n) for n in _PARAM.findall(masked)), default=0)

    def placeholder(_: re.Match[str]) -> str:
        nonlocal number
        number += 1
        return f"${number}"

    return _PLACEHOLDER.sub(placeholder, masked)


# --- aggregation ----------------------------------------------------------------------------


@dataclass
class _Stats:
    calls: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    min_ms: float = float("inf")
    query_id: int | None = None  # the log's query_id (csvlog/jsonlog), None when they differ
    query_ids_differ: bool = False


@dataclass
class LogReport:
    """The slowest statements of a log, aggregated per normalized text."""

    path: str
    format: str
    rows: list[dict[str, Any]]
    durations: int  # statement executions counted
    statements: int  # distinct normalized statements
    total_ms: float
    order_by: str
    notes: list[str] = field(default_factory=list)


def _open(path: str) -> IO[str]:
    """The log as text lines (stdin for '-', gzip by suffix); stderr logs split on \\n only."""
    newline = "\n"  # a \r inside a statement is not a line end (csv rejoins quoted fields)
    if path == "-":
        return io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8", errors="replace", newline=newline
        )
    file = input_file(path, "--from-log")  # a FIFO is fine: a log can be streamed in
    try:
        if path.endswith(".gz"):
            return gzip.open(file, "rt", encoding="utf-8", errors="replace", newline=newline)
        return file.open(encoding="utf-8", errors="replace", newline=newline)
    except PermissionError:
        raise ConfigError(
            f"cannot read {shown(path)}: permission denied",
            "run as the server's OS user or a member of its group, or copy the log",
        ) from None


def aggregate(
    statements: Iterable[Timed], *, database: str | None = None
) -> tuple[dict[str, _Stats], int, bool]:
    """Per normalized text: calls, total, max, min. Returns (stats, durations, saw_database)."""
    stats: dict[str, _Stats] = {}
    durations = 0
    saw_database = False
    for item in statements:
        saw_database = saw_database or item.database is not None
        if database is not None and item.database != database:
            continue
        durations += 1
        entry = stats.setdefault(normalize(item.text), _Stats())
        entry.calls += 1
        entry.total_ms += item.duration_ms
        entry.max_ms = max(entry.max_ms, item.duration_ms)
        entry.min_ms = min(entry.min_ms, item.duration_ms)
        if item.query_id and not entry.query_ids_differ:
            if entry.query_id is None or entry.query_id == item.query_id:
                entry.query_id = item.query_id
            else:  # e.g. literals and $n parameters merged: no single queryid
                entry.query_id, entry.query_ids_differ = None, True
    return stats, durations, saw_database


def report(
    path: str,
    *,
    fmt: str = "auto",
    top: int = 10,
    order_by: str = "total",
    min_calls: int = 1,
    database: str | None = None,
) -> LogReport:
    """Read a server log (streamed) and rank its statements like `pbl slow-queries`."""
    if fmt not in FORMATS:
        raise ConfigError(
            f"--format {shown(repr(fmt))} is not known", f"use one of {', '.join(FORMATS)}"
        )
    if order_by not in ORDER_KEYS:
        hint = "a server log has no I/O times: " if order_by == "io" else ""
        raise ConfigError(
            f"--order-by {shown(repr(order_by))} does not apply to a log",
            f"{hint}use one of {', '.join(ORDER_KEYS)}",
        )
    if top < 1 or min_calls < 0:
        raise ConfigError("--top must be positive and --min-calls not negative", "e.g. --top 10")
    with _open(path) as handle:
        try:
            first = next(iter(handle), "")
            lines = itertools.chain([first], handle)
            detected = detect_format(first, path) if fmt == "auto" else fmt
            entries = {"stderr": stderr_entries, "csvlog": csv_entries, "jsonlog": json_entries}[
                detected
            ](lines)
            stats, durations, saw_database = aggregate(timed_statements(entries), database=database)
        except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
            problem = (
                "is a gzip file cut short"
                if isinstance(exc, EOFError)
                else "is a corrupt gzip file"
                if isinstance(exc, zlib.error) or "CRC" in str(exc)
                else "is not a gzip file"
            )
            raise ConfigError(
                f"--from-log {shown(path)} {problem}",
                "give the log itself, or a complete .gz of it",
            ) from None
    if database is not None and not saw_database:
        raise ConfigError(
            f"--log-database {shown(database)}: this {detected} log does not name databases",
            "use a csvlog or jsonlog file, or a log_line_prefix with db=%d",
        )
    if not durations:
        where = f" for database {shown(database)}" if database else ""
        raise ConfigError(
            f"no statement durations in {shown(path)}{where} (read as {detected})",
            "set log_min_duration_statement (e.g. `pbl slow-queries enable --min-duration 250ms`), "
            "let the server log for a while, and keep lc_messages in English",
        )
    total = sum(s.total_ms for s in stats.values())
    ranked: list[dict[str, Any]] = [
        {
            "queryid": s.query_id,
            "calls": s.calls,
            "total_ms": round(s.total_ms, 3),
            "mean_ms": round(s.total_ms / s.calls, 3),
            "max_ms": round(s.max_ms, 3),
            "min_ms": round(s.min_ms, 3),
            "rows": None,
            "share_pct": round(100 * s.total_ms / total, 2) if total else None,
            "io_ms": None,
            "query": text,
        }
        for text, s in stats.items()
        if s.calls >= min_calls
    ]
    key = ORDER_KEYS[order_by]
    ranked.sort(key=lambda r: (-r[key], -r["total_ms"], r["query"]))
    rows = [{"rank": n, **r} for n, r in enumerate(ranked[:top], 1)]
    return LogReport(path, detected, rows, durations, len(stats), round(total, 3), order_by)
