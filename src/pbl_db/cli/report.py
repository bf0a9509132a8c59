"""pbl report: one self-contained HTML page for a team."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, SqlDir


def report(
    html_file: Annotated[
        str, typer.Option("--html", help="Write the page to this file (0644).", show_default=False)
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="Rows per section.")] = 10,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="Do not record sizes for the next report's growth.")
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis-url", help="Redis to check (else REDIS_URL).", show_default=False),
    ] = None,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
    sql_dir: SqlDir = None,
) -> None:
    """Health summary, top slow queries, largest tables and indexes and their growth, as HTML."""
    import os
    from pathlib import Path

    from pbl_db.cli.common import optional_migrations_dir, render, say, target
    from pbl_db.report import collect, render_html, summary

    out = Path(html_file)
    if not out.parent.is_dir():
        from pbl_db.errors import ConfigError

        raise ConfigError(
            f"directory {out.parent} does not exist", "create it or pick another path"
        )
    data = collect(
        target(database_url),
        top=top,
        record=not no_record,
        migrations_dir=optional_migrations_dir(sql_dir),
        redis_url=redis_url or os.environ.get("REDIS_URL") or None,
    )
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(render_html(data), encoding="utf-8")
    partial.chmod(0o644)  # as documented, whatever the umask: a page to share
    partial.replace(out)
    if as_json:
        render({**summary(data), "file": str(out)}, as_json=True)
    else:
        say(f"wrote {out} (health {data.health.status.name}; {data.record_note})")
