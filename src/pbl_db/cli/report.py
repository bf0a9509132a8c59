"""pbl report: one self-contained HTML page for a team."""

from __future__ import annotations

from typing import Annotated

import typer

from pbl_db.cli.common import DatabaseUrl, Json, SqlDir


def report(
    html_file: Annotated[
        str, typer.Option("--html", help="Write the page to this file (0644).", show_default=False)
    ],
    top: Annotated[int, typer.Option("--top", min=1, max=10_000, help="Rows per section.")] = 10,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace an existing file even when it is not an earlier report."
        ),
    ] = False,
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

    from pbl_db.cli.common import optional_migrations_dir, render, say, target
    from pbl_db.errors import shown
    from pbl_db.report import check_destination, collect, render_html, summary, write_page

    out = check_destination(html_file, force=force)  # before anything is collected or recorded
    data = collect(
        target(database_url),
        top=top,
        record=not no_record,
        migrations_dir=optional_migrations_dir(sql_dir),
        redis_url=redis_url or os.environ.get("REDIS_URL") or None,
    )
    write_page(out, render_html(data))
    if as_json:
        render({**summary(data), "file": str(out)}, as_json=True)
    else:
        say(f"wrote {shown(out)} (health {data.health.status.name}; {data.record_note})")
