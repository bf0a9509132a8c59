"""`pbl` entry point: main(argv) -> exit code, callable from tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pbl_db.errors import ExitCode, PblError


def _debug_requested(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("PBL_DEBUG", "").lower() in ("1", "true", "yes")


def main(argv: Sequence[str] | None = None) -> int:
    """Run pbl with argv (default sys.argv[1:]) and return the exit code; never raises."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # without importing typer: scripts and monitoring ask this often
        from pbl_db import __version__

        print(f"pbl {__version__}")
        return int(ExitCode.OK)
    if args == ["--help"]:  # typer's layout, drawn with rich alone
        from pbl_db.cli.root_help import print_root_help

        return _guarded(print_root_help, False)
    if args[:1] in (["health"], ["--debug"]):
        from pbl_db.cli.fast import parse_health

        fast = parse_health(args)
        if fast is not None:  # no typer: monitoring runs this every minute
            from pbl_db.cli.health_report import run_health

            options, debug = fast
            return _guarded(lambda: run_health(options), debug or _debug_requested(args))
    return _guarded(lambda: _run_typer(args), _debug_requested(args))


def _run_typer(args: list[str]) -> int:
    from pbl_db.cli import lazy_rich

    lazy_rich.install()
    from pbl_db.cli.app import build_command

    result = build_command(args).main(args=args, prog_name="pbl", standalone_mode=False)
    return result if isinstance(result, int) else int(ExitCode.OK)


def _guarded(work: Callable[[], int], debug: bool) -> int:
    """Run work; turn every failure into its one line on stderr and its exit code."""
    try:
        return work()
    except PblError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"pbl: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("pbl: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        typer = sys.modules.get("typer")  # the fast path never imports it
        if typer is not None and isinstance(exc, typer.TyperException):
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                print(f"pbl: {exc.format_message()}", file=sys.stderr)
            return int(exc.exit_code)
        psycopg = sys.modules.get("psycopg")
        if psycopg is not None and isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            from pbl_db.replica import STANDBY_HINT

            reason = str(exc).splitlines()[0] if str(exc) else "read-only"
            print(f"pbl: the server refused a write ({reason}); {STANDBY_HINT}", file=sys.stderr)
            return int(ExitCode.STANDBY)
        if psycopg is not None and _rule_refusal(psycopg, exc):
            diag: Any = getattr(exc, "diag", None)
            hint = diag.message_hint if diag else None
            primary = (diag.message_primary if diag else None) or str(exc)
            print(f"pbl: {primary}" + (f"; {hint}" if hint else ""), file=sys.stderr)
            return int(ExitCode.REFUSED)
        if psycopg is not None and _connection_lost(psycopg, exc):
            # the connection went away mid-command (a failover, a restart): what committed
            # stays, the rest was rolled back by the server
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection lost"
            print(
                f"pbl: lost the connection to the server ({reason[:200]}); work not committed "
                "was rolled back: run the command again",
                file=sys.stderr,
            )
            return int(ExitCode.CONNECT)
        if typer is not None and isinstance(exc, typer.Abort):
            print("pbl: interrupted", file=sys.stderr)
            return int(ExitCode.INTERRUPTED)
        if debug:
            import traceback

            traceback.print_exc()
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"pbl: internal error: {exc.__class__.__name__}: {detail}; "
            "rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return int(ExitCode.FAILED)


def _rule_refusal(psycopg: Any, exc: Exception) -> bool:
    """A rule the schema enforces said no: SQLSTATE PBLxx (locked user, quota, suspended tenant;
    docs/tenants.md)."""
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, psycopg.Error) and state.startswith("PBL")


def _connection_lost(psycopg: Any, exc: Exception) -> bool:
    """A lost connection (no SQLSTATE, class 08, or the server shutting down: 57P01-57P03), not
    every OperationalError: psycopg files lock, timeout, resource and serialization errors there
    too."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
