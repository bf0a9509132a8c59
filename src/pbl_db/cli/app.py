"""The root Typer app, built for the one command a run needs.

Every command is listed in COMMANDS (pbl_db.cli.commands) with its help panel and the one-line
help the root help shows. A run imports and builds only the command it was asked for; the others
are stand-ins that carry their name and help, so `pbl migrate --help` inspects no other
command's signature and imports no other command's module (tests/test_cli.py keeps the one-line
helps true). `pbl --help` alone is drawn without typer (pbl_db.cli.root_help).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from pbl_db import __version__
from pbl_db.cli.commands import COMMANDS, EPILOG, NAMES

__all__ = ["COMMANDS", "EPILOG", "NAMES", "build_app", "build_command", "set_metavars"]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pbl {__version__}")
        raise typer.Exit()


def wanted_command(args: Sequence[str]) -> str | None:
    """The command a run asks for: the first argument that is not a root option."""
    for arg in args:
        if not arg.startswith("-"):
            return arg if arg in NAMES else None
    return None


def build_app(wanted: str | None = None, *, every: bool = False) -> typer.Typer:
    """The root app with `wanted` (or, with every=True, all commands) really built; the rest
    are stand-ins with their name, panel and one-line help."""
    app = typer.Typer(
        name="pbl",
        help="Schema and operations toolkit for the Bun Payment Linker database.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        epilog=EPILOG,
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_show_version, is_eager=True, help="Print the version."
            ),
        ] = False,
        debug: Annotated[
            bool, typer.Option("--debug", help="Show tracebacks on errors (or PBL_DEBUG=1).")
        ] = False,
    ) -> None:
        """Exit codes: 0 ok, 1 failed, 2 usage/configuration, 3 cannot connect,
        4 refused for safety, 5 busy (lock not available), 6 target is a standby,
        130 interrupted."""

    for entry in COMMANDS:
        if every or entry.name == wanted:
            target = getattr(importlib.import_module(f"pbl_db.cli.{entry.module}"), entry.attr)
            if entry.group:
                app.add_typer(target, name=entry.name, rich_help_panel=entry.panel)
            else:
                app.command(entry.name, rich_help_panel=entry.panel)(target)
        else:
            app.add_typer(
                typer.Typer(help=entry.help), name=entry.name, rich_help_panel=entry.panel
            )
    return app


# click type names -> the metavar help shows
_METAVARS = {
    "str": "TEXT",
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "FLOAT",
    "float range": "FLOAT",
    "path": "PATH",
    "datetime": "DATETIME",
    "uuid": "UUID",
}


def _metavar(param: Any) -> str | None:
    if param.is_flag:
        return ""
    choices = getattr(param.type, "choices", None)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    return _METAVARS.get(param.type.name)


def set_metavars(command: Any) -> None:
    """TEXT, INTEGER, PATH... for options that take a value, nothing for flags (--help too);
    choices keep their list. Applied to the built click command tree."""
    for param in getattr(command, "params", ()):
        if param.metavar is not None:
            continue
        if param.param_type_name == "option":
            param.metavar = _metavar(param)
        elif param.param_type_name == "argument":
            # usage says {PID}, the arguments panel PID INTEGER (typer: {pid}, pid <int>)
            param.metavar = (param.name or "").upper()
            shown = _METAVARS.get(param.type.name)
            if shown:
                param.type = copy.copy(param.type)  # the type objects are shared: patch a copy
                param.type.get_metavar = lambda *_args, shown=shown, **_kw: shown
    help_option = command.get_help_option

    def quiet_help_option(ctx: Any) -> Any:
        option = help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = quiet_help_option
    for sub in getattr(command, "commands", {}).values():
        set_metavars(sub)


def build_command(args: Sequence[str]) -> Any:
    """The click command for this argv: only the command asked for is built."""
    from typer.main import get_command

    command = get_command(build_app(wanted_command(args)))
    set_metavars(command)
    return command
