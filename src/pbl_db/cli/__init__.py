"""`pbl` entry point: main(argv) -> exit code, callable from tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pbl_db.errors import ECHO_LIMIT, ExitCode, PblError, shown


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
    if result == ExitCode.INTERRUPTED:  # typer turns KeyboardInterrupt into a silent Exit(130)
        print("pbl: interrupted", file=sys.stderr)
    return result if isinstance(result, int) else int(ExitCode.OK)


def _clip(text: str) -> str:
    """No error line echoes a value longer than ~80 characters, whatever produced it."""
    import re  # only on the error path: `pbl --version` stays fast

    long_word = r"[^\s'\";,]{" + str(ECHO_LIMIT + 20) + ",}"
    return re.sub(long_word, lambda m: m.group(0)[: ECHO_LIMIT - 3] + "...", text)


class _ClippedStderr:
    """stderr for the error handlers below: clipped, and stray surrogates escaped."""

    def write(self, text: str) -> int:
        safe = _clip(text).encode("utf-8", "backslashreplace").decode("utf-8")
        return sys.stderr.write(safe)

    def flush(self) -> None:
        sys.stderr.flush()


def _guarded(work: Callable[[], int], debug: bool) -> int:
    """Run work; turn every failure into its one line on stderr and its exit code."""
    try:
        return _run_guarded(work, debug)
    except BrokenPipeError:  # stdout closed early (| head): not an error worth a line
        return int(ExitCode.OK)


def _run_guarded(work: Callable[[], int], debug: bool) -> int:
    err = _ClippedStderr()
    try:
        return work()
    except PblError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"pbl: {exc}", file=err)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("pbl: interrupted", file=err)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        typer = sys.modules.get("typer")  # the fast path never imports it
        if typer is not None and isinstance(exc, typer.TyperException):
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                print(f"pbl: {exc.format_message()}", file=err)
            return int(exc.exit_code)
        psycopg = sys.modules.get("psycopg")
        if psycopg is not None and isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            from pbl_db.replica import STANDBY_HINT

            reason = str(exc).splitlines()[0] if str(exc) else "read-only"
            print(f"pbl: the server refused a write ({reason}); {STANDBY_HINT}", file=err)
            return int(ExitCode.STANDBY)
        if psycopg is not None and _rule_refusal(psycopg, exc):
            diag: Any = getattr(exc, "diag", None)
            hint = diag.message_hint if diag else None
            primary = (diag.message_primary if diag else None) or str(exc)
            print(f"pbl: {primary}" + (f"; {hint}" if hint else ""), file=err)
            return int(ExitCode.REFUSED)
        if psycopg is not None and _connection_lost(psycopg, exc):
            # the connection went away mid-command (a failover, a restart): what committed
            # stays, the rest was rolled back by the server
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection lost"
            print(
                f"pbl: lost the connection to the server ({reason[:200]}); work not committed "
                "was rolled back: run the command again",
                file=err,
            )
            return int(ExitCode.CONNECT)
        if typer is not None and isinstance(exc, typer.Abort):
            print("pbl: interrupted", file=err)
            return int(ExitCode.INTERRUPTED)
        if isinstance(exc, OSError) and exc.filename is not None and not debug:
            # a path problem no up-front check caught: still one line naming the path
            reason = (exc.strerror or str(exc)).lower()
            print(f"pbl: {shown(exc.filename)}: {reason}; check the path", file=err)
            return int(ExitCode.USAGE)
        if isinstance(exc, UnicodeError) and not debug:
            print(
                "pbl: a value is not valid UTF-8 text (or a host name label is longer than 63 "
                "characters); give UTF-8 text",
                file=err,
            )
            return int(ExitCode.USAGE)
        if debug:
            import traceback

            traceback.print_exc()
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"pbl: internal error: {exc.__class__.__name__}: {detail}; "
            "rerun with --debug for the traceback and report it",
            file=err,
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
    """Console-script entry point. SIGTERM and SIGHUP end pbl as Ctrl-C does, so cleanup runs
    (child tools stopped, partial backups and passfiles removed) and it exits 130."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:  # nohup's SIG_IGN stays
            signal.signal(signum, interrupt)
    sys.exit(main())
