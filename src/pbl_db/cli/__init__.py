"""`pbl` entry point: main(argv) -> exit code, callable from tests."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

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
    from pbl_db.cli import lazy_rich

    lazy_rich.install()
    import typer

    from pbl_db.cli.app import build_command

    debug = _debug_requested(args)
    try:
        result = build_command(args).main(args=args, prog_name="pbl", standalone_mode=False)
    except PblError as exc:
        if debug:
            traceback.print_exc()
        print(f"pbl: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"pbl: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("pbl: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"pbl: internal error: {exc.__class__.__name__}: {detail}; "
            "rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return int(ExitCode.FAILED)
    return result if isinstance(result, int) else int(ExitCode.OK)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
