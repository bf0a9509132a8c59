"""What every command prints through, without typer: the target notice, progress, secrets read
from stdin, and the one renderer for table and JSON. Loaded by the fast paths (pbl_db.cli.fast)
as well as by the typer commands (via pbl_db.cli.common)."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pbl_db.connection import Target


def say(message: str) -> None:
    """A progress or notice line: stderr, so stdout stays clean for --json."""
    print(f"pbl: {message}", file=sys.stderr, flush=True)


def target(database_url: str | None) -> Target:
    """Resolve the target and say which one this run uses (once, on stderr)."""
    from pbl_db.connection import resolve_target

    resolved = resolve_target(database_url)
    if not os.environ.get("PBL_QUIET"):
        say(resolved.notice())
    if resolved.warning:
        say(f"warning: {resolved.warning}")
    return resolved


class Progress:
    """A rich progress bar on a terminal; silent otherwise. Call it with (done, total)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress as Bar

            self._bar = Bar(console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=None)
        return self

    def __call__(self, done: int, total: int, description: str | None = None) -> None:
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=done,
                total=total or None,
                description=description or self.description,
            )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def read_secret(prompt: str, *, confirm: bool = False) -> str:
    """A value from stdin, or from a hidden prompt on a terminal: never from argv."""
    if not sys.stdin.isatty():
        value = _stdin_text(prompt)
        value = value[:-1] if value.endswith("\n") else value
    else:
        import getpass

        value = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{prompt} (again): ") != value:
            from pbl_db.errors import ConfigError

            raise ConfigError("the two entries differ", "try again")
    if not value:
        from pbl_db.errors import ConfigError

        raise ConfigError(f"no {prompt.lower()} given", "pipe it on stdin or type it at the prompt")
    return value


def _stdin_text(what: str) -> str:
    """All of stdin as UTF-8 text without NUL: values go into PostgreSQL text, which holds
    neither undecodable bytes nor NUL."""
    from pbl_db.errors import ConfigError

    buffer = getattr(sys.stdin, "buffer", None)
    data = (
        buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the {what.lower()} on stdin is not valid UTF-8 (byte {exc.start + 1})",
            "give it as UTF-8 text",
        ) from None
    if "\x00" in text:
        raise ConfigError(
            f"the {what.lower()} on stdin contains a NUL character",
            "remove it: text cannot hold NUL",
        )
    return text


def optional_migrations_dir(sql_dir: str | None) -> Path | None:
    """The migrations directory, or None where there is none (checks then SKIP). A directory
    named explicitly (--sql-dir, PBL_SQL_DIR) that is not usable is an error, not a SKIP."""
    from pbl_db.errors import ConfigError
    from pbl_db.paths import migrations_dir

    if sql_dir or os.environ.get("PBL_SQL_DIR"):
        from pbl_db.pathcheck import existing_dir

        if sql_dir:
            existing_dir(sql_dir, "--sql-dir")
        return migrations_dir(sql_dir)
    try:
        return migrations_dir(sql_dir)
    except ConfigError:
        return None


def _finite(value: Any) -> Any:
    """value with every float that is not finite replaced by None, containers walked."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def render(
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    as_json: bool,
    columns: Sequence[tuple[str, str]] = (),
    title: str | None = None,
) -> None:
    """Print rows as a rich table (columns = (key, header) pairs) or as JSON."""
    if as_json:
        # strict JSON: a non-finite float (inf, nan) becomes null rather than `Infinity`
        print(json.dumps(_finite(rows), indent=2, default=str, allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    items = [rows] if isinstance(rows, Mapping) else list(rows)
    cols = list(columns) or [(key, key) for key in (items[0] if items else {})]
    for _, header in cols:
        table.add_column(header)
    for item in items:
        table.add_row(*("" if item.get(key) is None else str(item.get(key)) for key, _ in cols))
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def render_change(
    doc: Mapping[str, Any],
    *,
    as_json: bool,
    subject: str,
    action: str,
    changes: Mapping[str, Sequence[Any]],
    warnings: Sequence[str] = (),
    dry_run: bool = False,
    event_id: object = None,
) -> None:
    """One administrative change: JSON, or a field / before / after table, then its warnings
    and one line saying what was done (or, in a dry run, would be)."""
    if as_json:
        render(doc, as_json=True)
    elif changes:
        render(
            [{"field": k, "before": v[0], "after": v[1]} for k, v in changes.items()],
            as_json=False,
            columns=[("field", "field"), ("before", "before"), ("after", "after")],
            title=f"{subject}: {action}" + (" (dry run)" if dry_run else ""),
        )
    for warning in warnings:
        say(warning)
    if changes:
        say(
            f"dry run: {subject} would be changed; nothing changed"
            if dry_run
            else f"{subject}: {action} done (audit event {event_id})"
        )
