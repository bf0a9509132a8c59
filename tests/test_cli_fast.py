"""`pbl health` without typer (pbl_db.cli.fast): same options, same run, typer for the rest."""

from __future__ import annotations

import pytest

from pbl_db.cli import _run_typer, fast
from pbl_db.cli.health_report import Options
from tests.test_cli import _imported


def _typer_health_options() -> dict[str, tuple[str, bool, bool]]:
    """option -> (parameter name, repeatable, flag) as the typer command declares them."""
    from typer.main import get_command

    from pbl_db.cli.app import build_app

    root = get_command(build_app("health"))
    command = root.commands["health"]  # type: ignore[attr-defined]
    return {
        param.opts[0]: (param.name, param.multiple, param.is_flag)
        for param in command.params
        if param.opts[0] != "--help"
    }


def test_fast_tables_are_the_typer_command_s_options() -> None:
    declared = _typer_health_options()
    ours = {
        **{opt: (name, True, False) for opt, name in fast.LISTS.items()},
        **{opt: (name, False, False) for opt, name in fast.VALUES.items()},
        **{opt: (name, False, True) for opt, name in fast.FLAGS.items()},
    }
    assert ours == declared


CASES = [
    ["health"],
    ["health", "--json"],
    ["health", "--format", "nagios", "--check", "connection", "--check=locks"],
    ["health", "--format=prometheus", "--skip", "redis", "--strict"],
    ["health", "--warn", "connections=80%", "--crit", "long_query=2min", "--set", "a.b=1"],
    ["health", "--list", "--config", "/nonexistent.toml", "--redis-url", "redis://x"],
    ["health", "--database-url", "postgresql:///x", "--sql-dir", "sql", "--check="],
    ["--debug", "health", "--format", "json"],
]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_fast_parse_equals_what_typer_passes(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Options] = []
    monkeypatch.setattr("pbl_db.cli.health.run_health", lambda o: seen.append(o) or 0)
    assert _run_typer(list(args)) == 0
    parsed = fast.parse_health(args)
    assert parsed is not None and [parsed[0]] == seen
    assert parsed[1] == (args[0] == "--debug")


@pytest.mark.parametrize(
    "args",
    [
        ["health", "--help"],
        ["health", "--format", "xml"],
        ["health", "--bogus"],
        ["health", "--check"],
        ["health", "--json=yes"],
        ["health", "--check", "--json"],
        ["health", "--", "x"],
        ["health", "extra"],
        ["--debug", "migrate", "status"],
        ["tables"],
    ],
    ids=" ".join,
)
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert fast.parse_health(args) is None


def test_typer_still_owns_the_usage_errors(pbl) -> None:
    result = pbl("health", "--format", "xml")
    assert result.code == 2 and "xml" in result.err and "nagios" in result.err
    result = pbl("health", "--help")
    assert result.code == 0 and "--format" in result.out


def test_nagios_run_imports_no_typer(db_url: str) -> None:
    report = _imported(
        "codes = [main(['health', '--format', 'nagios', '--check', 'connection'])]\n"
        "assert 'typer' not in sys.modules and 'click' not in sys.modules, 'typer imported'",
        {"DATABASE_URL": db_url},
    )
    assert report["codes"] == [0], report
    assert report["stdout"].startswith("PBL HEALTH OK"), report["stdout"]


def test_fast_and_typer_runs_agree(db_url: str, pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    args = ["health", "--format", "json", "--check", "connection", "--check", "version"]
    fast_run = pbl(*args)
    monkeypatch.setattr(fast, "parse_health", lambda _args: None)
    typer_run = pbl(*args)
    assert fast_run.code == typer_run.code == 0
    import json

    ids = [[c["id"] for c in json.loads(r.out)["checks"]] for r in (fast_run, typer_run)]
    assert ids[0] == ids[1] == ["connection", "version"]


def test_bad_threshold_on_the_fast_path_is_one_line(pbl) -> None:
    result = pbl("health", "--warn", "connections=lots", "--format", "nagios")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "'lots'" in result.err
