"""pbl report: health, slow queries, largest tables and indexes and their growth, as one
self-contained HTML page (inline CSS and SVG, no scripts, no network fetches)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from pbl_db import __version__, queries
from pbl_db.errors import ConfigError, PblError, shown
from pbl_db.health.model import human_bytes

if TYPE_CHECKING:
    import psycopg

    from pbl_db.connection import Target
    from pbl_db.health import Report as HealthReport


@dataclass
class ReportData:
    database: str
    server_version: str
    generated_at: datetime
    database_bytes: int
    health: HealthReport
    tables: list[dict[str, Any]]
    indexes: list[dict[str, Any]]
    slow: list[dict[str, Any]] = field(default_factory=list)
    slow_note: str = ""
    previous_at: datetime | None = None
    previous_database_bytes: int | None = None
    record_note: str = ""


# Written into every page: `pbl report` replaces an existing file only when it carries this (or
# the generator tag pages had before it), so a typo cannot overwrite someone's file.
MARKER = "<!-- pbl report: this page may be replaced by the next pbl report -->"
_OLD_MARKER = '<meta name="generator" content="pbl '


def is_report(path: Path) -> bool:
    """Whether path is a page an earlier `pbl report` wrote (its head carries the marker)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return MARKER in head or _OLD_MARKER in head


def check_destination(html_file: str, *, force: bool = False) -> Path:
    """The --html path, checked before anything is collected or recorded: a file name in a
    writable directory, not a directory, device, FIFO or socket; an existing file only when an
    earlier report wrote it (or force)."""
    from pbl_db import pathcheck

    out = pathcheck.output_file(html_file, "--html")
    if out.exists() and not force and not is_report(out):
        raise ConfigError(
            f"--html {shown(out)} exists and is not a page pbl report wrote",
            "choose another name, or pass --force to replace it",
        )
    return out


def write_page(path: Path, page: str) -> None:
    """Write the page atomically (a reader never sees half of it), mode 0644 whatever the umask:
    a page to share."""
    from pbl_db.files import write_file

    write_file(path, page, mode=0o644)


def collect(
    target: Target,
    *,
    top: int = 10,
    record: bool = True,
    migrations_dir: Path | None = None,
    redis_url: str | None = None,
) -> ReportData:
    """Gather everything the page shows; record this report's sizes for the next one."""
    from pbl_db import health
    from pbl_db.connection import connect
    from pbl_db.health.config import load_settings

    # the same thresholds as `pbl health` (PBL_HEALTH_CONFIG), so both agree on what is wrong
    report = health.run(target, load_settings(), redis_url=redis_url, migrations_dir=migrations_dir)
    with connect(target) as conn:
        row = conn.execute(queries.load("get_report_header")).fetchone()
        assert row is not None
        database, version, now, db_bytes, has_history = row
        tables, indexes = _relations(conn)
        previous = _previous(conn) if has_history else None
        data = ReportData(database, version, now, int(db_bytes), report, tables, indexes)
        if previous:
            data.previous_at, data.previous_database_bytes = previous[0], int(previous[1])
            _add_growth(data, previous[2].get("relations", {}))
        data.slow, data.slow_note = _slow(conn, top)
        if not has_history:
            data.record_note = "growth not recorded: run `pbl migrate` (pbl_report_snapshots)"
        elif record:
            data.record_note = _record(conn, data)
        else:
            data.record_note = "sizes not recorded (--no-record)"
    data.tables = data.tables[:top]
    data.indexes = data.indexes[:top]
    return data


def _relations(conn: psycopg.Connection[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from pbl_db import relations

    tables = sorted(relations.tables(conn), key=lambda t: -int(t["total_bytes"] or 0))
    indexes = sorted(relations.indexes(conn), key=lambda i: -int(i["bytes"] or 0))
    return tables, indexes


def _previous(conn: psycopg.Connection[Any]) -> tuple[datetime, int, dict[str, Any]] | None:
    row = conn.execute(queries.load("get_last_report_snapshot")).fetchone()
    return (row[0], row[1], row[2]) if row else None


def _key(schema: str, name: str) -> str:
    return f"{schema}.{name}"


def _add_growth(data: ReportData, before: dict[str, int]) -> None:
    for t in data.tables:
        old = before.get(_key(t["schema"], t["table"]))
        t["growth_bytes"] = None if old is None else int(t["total_bytes"]) - int(old)
    for i in data.indexes:
        old = before.get(_key(i["schema"], i["index"]))
        i["growth_bytes"] = None if old is None else int(i["bytes"]) - int(old)


def _slow(conn: psycopg.Connection[Any], top: int) -> tuple[list[dict[str, Any]], str]:
    from pbl_db import slow_queries

    try:
        return slow_queries.top(conn, top=top), ""
    except PblError as exc:
        return [], str(exc)


def _record(conn: psycopg.Connection[Any], data: ReportData) -> str:
    import psycopg
    from psycopg.types.json import Jsonb

    sizes = {_key(t["schema"], t["table"]): int(t["total_bytes"]) for t in data.tables}
    sizes |= {_key(i["schema"], i["index"]): int(i["bytes"]) for i in data.indexes}
    try:
        conn.execute(
            queries.load("insert_report_snapshot"),
            (data.database_bytes, Jsonb({"relations": sizes})),
        )
    except psycopg.errors.InsufficientPrivilege:
        return "sizes not recorded: this role cannot write pbl_report_snapshots (run as the owner)"
    except psycopg.errors.ReadOnlySqlTransaction:
        return "sizes not recorded: the server is read-only (a standby); the primary's record them"
    return f"sizes recorded for the next report's growth ({len(sizes)} relations)"


# ---- rendering ------------------------------------------------------------------------------


def _size(value: float | None) -> str:
    return human_bytes(value, sep=" ")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _growth(value: int | None) -> str:
    if value is None:
        return '<span class="note">new</span>'
    if value == 0:
        return "0"
    css = "grow" if value > 0 else "shrink"
    sign = "+" if value > 0 else ""
    return f'<span class="{css}">{sign}{_e(_size(value))}</span>'


def _bars(items: list[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG."""
    if not items:
        return ""
    width, label_w, row_h = 900, 300, 18
    biggest = max(v for _, v in items) or 1
    rows = []
    for n, (label, value) in enumerate(items):
        y = n * row_h
        w = max(1, int((width - label_w - 90) * value / biggest))
        rows.append(
            f'<text x="0" y="{y + 13}">{_e(label[:48])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row_h - 6}" fill="#0969da"/>'
            f'<text x="{label_w + w + 6}" y="{y + 13}">{_e(_size(value))}</text>'
        )
    height = row_h * len(items)
    return (
        f'<svg role="img" aria-label="sizes" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'
    )


def _health_section(data: ReportData) -> str:
    checks = data.health.checks
    counts = {
        s: sum(1 for c in checks if c.status.name == s)
        for s in ("CRIT", "WARN", "UNKNOWN", "OK", "SKIP")
    }
    status = data.health.status.name
    rows = "".join(
        f'<tr><td>{_e(c.id)}</td><td class="status {c.status.name}">{c.status.name}</td>'
        f"<td>{_e(c.summary)}"
        + (
            f'<br><span class="hint">{_e(c.hint)}</span>'
            if c.hint and c.status.name not in ("OK", "SKIP")
            else ""
        )
        + "</td></tr>"
        for c in sorted(checks, key=lambda c: -c.status.severity)
    )
    summary = "".join(f'<span class="{s}">{s}: {n}</span>' for s, n in counts.items() if n)
    return (
        '<section id="health"><h2>Health</h2>'
        f'<p><span class="badge {status}">{status}</span> '
        f'<span class="counts">{summary}</span></p>'
        "<table><thead><tr><th>check</th><th>status</th><th>summary</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _slow_section(data: ReportData) -> str:
    head = '<section id="slow-queries"><h2>Top slow queries</h2>'
    if not data.slow:
        note = data.slow_note or "no statements recorded yet"
        return head + f'<p class="note">{_e(note)}</p></section>'
    rows = "".join(
        f'<tr><td class="num">{n}</td><td class="num">{_e(q.get("calls"))}</td>'
        f'<td class="num">{float(q.get("total_ms") or 0):,.1f}</td>'
        f'<td class="num">{float(q.get("mean_ms") or 0):,.2f}</td>'
        f'<td class="num">{float(q.get("share_pct") or 0):.1f}%</td>'
        f"<td>{_query_cell(str(q.get('query') or ''))}</td></tr>"
        for n, q in enumerate(data.slow, 1)
    )
    return (
        head + "<table><thead><tr><th class=num>#</th><th class=num>calls</th>"
        "<th class=num>total ms</th><th class=num>mean ms</th><th class=num>share</th>"
        f"<th>query</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _query_cell(text: str, limit: int = 240) -> str:
    """Short statements in full; long ones folded (HTML <details>, no script)."""
    if len(text) <= limit:
        return f"<code>{_e(text)}</code>"
    head = f"<summary><code>{_e(text[:limit])}…</code></summary>"
    return f"<details>{head}<code>{_e(text)}</code></details>"


def _tables_section(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{_e(t['schema'])}.{_e(t['table'])}</td>"
        f'<td class="num">{_e(_size(t["total_bytes"]))}</td>'
        f'<td class="num">{_e(_size(t["index_bytes"]))}</td>'
        f'<td class="num">{int(t.get("rows_estimate") or 0):,}</td>'
        f'<td class="num">{int(t.get("dead_tuples") or 0):,}</td>'
        f'<td class="num">{_growth(t.get("growth_bytes")) if data.previous_at else "-"}</td></tr>'
        for t in data.tables
    )
    chart = _bars([(f"{t['schema']}.{t['table']}", int(t["total_bytes"])) for t in data.tables])
    return (
        '<section id="tables"><h2>Largest tables</h2>'
        f"{chart}<table><thead><tr><th>table</th><th class=num>total</th>"
        "<th class=num>indexes</th><th class=num>rows (est.)</th><th class=num>dead rows</th>"
        f"<th class=num>growth</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _indexes_section(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{_e(i['schema'])}.{_e(i['index'])}</td><td>{_e(i['table'])}</td>"
        f'<td class="num">{_e(_size(i["bytes"]))}</td>'
        f'<td class="num">{int(i.get("scans") or 0):,}</td>'
        f"<td>{'invalid' if not i.get('valid', True) else ('unused' if i.get('unused') else '')}"
        f"{(' duplicate of ' + _e(i['duplicate_of'])) if i.get('duplicate_of') else ''}</td>"
        f'<td class="num">{_growth(i.get("growth_bytes")) if data.previous_at else "-"}</td></tr>'
        for i in data.indexes
    )
    chart = _bars([(f"{i['schema']}.{i['index']}", int(i["bytes"])) for i in data.indexes])
    return (
        '<section id="indexes"><h2>Largest indexes</h2>'
        f"{chart}<table><thead><tr><th>index</th><th>table</th><th class=num>size</th>"
        "<th class=num>scans</th><th>notes</th><th class=num>growth</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _growth_section(data: ReportData) -> str:
    if data.previous_at is None or data.previous_database_bytes is None:
        text = "first report: growth is shown from the next one on"
    else:
        delta = data.database_bytes - data.previous_database_bytes
        text = (
            f"database {_size(data.database_bytes)}, {_growth_text(delta)} since the "
            f"previous report of {data.previous_at:%Y-%m-%d %H:%M %Z}"
        )
    return (
        f'<section id="growth"><h2>Growth</h2><p>{_e(text)}</p>'
        f'<p class="note">{_e(data.record_note)}</p></section>'
    )


def _growth_text(delta: int) -> str:
    return f"+{_size(delta)}" if delta >= 0 else _size(delta)


def render_html(data: ReportData) -> str:
    """The page as one string."""
    template = Template(
        (resources.files("pbl_db") / "templates" / "report.html").read_text(encoding="utf-8")
    )
    body = "\n".join(
        [
            _health_section(data),
            _growth_section(data),
            _slow_section(data),
            _tables_section(data),
            _indexes_section(data),
        ]
    )
    meta = (
        f"{data.database} on PostgreSQL {data.server_version}, "
        f"{_size(data.database_bytes)}, generated {data.generated_at:%Y-%m-%d %H:%M:%S %Z}"
    )
    page = template.substitute(
        title=_e(f"pbl report: {data.database}"),
        meta=_e(meta),
        body=body,
        pbl_version=_e(__version__),
    )
    head, sep, rest = page.partition("\n")  # the marker goes right after <!DOCTYPE html>
    return f"{head}{sep}{MARKER}\n{rest}"


def summary(data: ReportData) -> dict[str, Any]:
    """What `pbl report --json` prints beside writing the page."""
    result: dict[str, Any] = json.loads(
        json.dumps(
            {
                "database": data.database,
                "health": data.health.status.name,
                "slow_queries": len(data.slow),
                "tables": len(data.tables),
                "indexes": len(data.indexes),
                "previous_report": data.previous_at,
                "recorded": data.record_note,
            },
            default=str,
        )
    )
    return result
