"""`pbl --help` drawn with rich alone: the same panels typer draws, without importing typer.

The root help is made only of app.COMMANDS, three root options and two texts, so it is drawn
here in typer's layout (usage, help, Options panel, one panel per group of commands, epilog) and
styles. tests/test_cli.py compares it with typer's own rendering at several widths.
"""

from __future__ import annotations

import os

HELP = "Schema and operations toolkit for the Bun Payment Linker database."
ROOT_OPTIONS = (
    ("--version", "Print the version."),
    ("--debug", "Show tracebacks on errors (or PBL_DEBUG=1)."),
    ("--help", "Show this message and exit."),
)
USAGE = "Usage: pbl [OPTIONS] COMMAND [ARGS]..."


def print_root_help() -> int:
    """Print the root help to stdout as typer would (colour only on a terminal); exit code 0."""
    from rich.align import Align
    from rich.columns import Columns
    from rich.console import Console
    from rich.highlighter import RegexHighlighter
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text
    from rich.theme import Theme

    from pbl_db.cli.commands import COMMANDS, EPILOG

    class Options(RegexHighlighter):
        highlights = [  # noqa: RUF012 (rich reads the class attribute)
            r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])",
            r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
            r"(?P<usage>Usage: )",
        ]

    highlight = Options()
    force = (
        True
        if any(os.environ.get(v) for v in ("GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS"))
        else None
    )
    width = os.environ.get("TERMINAL_WIDTH")
    console = Console(
        theme=Theme({"option": "bold cyan", "switch": "bold green", "usage": "yellow"}),
        highlighter=highlight,
        force_terminal=False if os.environ.get("_TYPER_FORCE_DISABLE_TERMINAL") else force,
        width=int(width) if width else None,
    )
    console.print(Padding(highlight(USAGE), 1), style="bold")
    console.print(Padding(Align(Text(HELP), pad=False), (0, 1, 1, 1)))

    options = Table(highlight=True, show_header=False, expand=True, box=None, pad_edge=False)
    for option, text in ROOT_OPTIONS:
        options.add_row(
            highlight(option), "", "", "", Text(style="bold yellow"), Columns([Text(text)])
        )
    console.print(Panel(options, border_style="dim", title="Options", title_align="left"))

    panels: dict[str, list[tuple[str, str]]] = {}
    for entry in COMMANDS:
        panels.setdefault(entry.panel, []).append((entry.name, entry.help))
    name_width = max(len(entry.name) for entry in COMMANDS)
    for title, rows in panels.items():
        table = Table(highlight=False, show_header=False, expand=True, box=None, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True, width=name_width)
        table.add_column("Description", justify="left", no_wrap=False, ratio=10)
        for name, text in rows:
            table.add_row(Text(name), Text(text))
        console.print(Panel(table, border_style="dim", title=title, title_align="left"))
    console.print(Padding(Align(Text(EPILOG), pad=False), 1))
    print()  # typer's help ends with click's empty echo
    return 0
