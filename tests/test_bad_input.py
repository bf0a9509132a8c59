"""Every bad input gets one clear line and its exit code, never an internal error: the cases are
tables in tests/bad_input/, one per command group (docs/cli.md, "Validation")."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

import tests.bad_input as tables
from tests.bad_input import Case
from tests.conftest import Result
from tests.support.postgres import PgServer

pytestmark = pytest.mark.matrix

LONG = "T" * 500


def _all_cases() -> list[Case]:
    found: list[Case] = []
    for module in pkgutil.iter_modules(tables.__path__):
        found.extend(importlib.import_module(f"tests.bad_input.{module.name}").CASES)
    return found


CASES = _all_cases()


@dataclass
class World:
    url: str
    values: dict[str, str]


@pytest.fixture(scope="module")
def world(
    pg_server: PgServer, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One database and one set of files for every case: a case refuses and changes nothing
    (one that does not fails its own assertions)."""
    from pbl_db.cli import main

    tmp = tmp_path_factory.mktemp("bad-input")
    (tmp / "file").write_text("not what pbl expects\n")
    (tmp / "dir").mkdir()
    os.mkfifo(tmp / "fifo")
    keys = tmp / "keys"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["crypto", "keygen", "--out", str(keys)]) == 0
    name = f"bad_{uuid.uuid4().hex[:10]}"
    url = pg_server.create_database(name, template=template_db)
    slug = f"bad-{uuid.uuid4().hex[:6]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO tenants (name, slug) VALUES ('Bad input', %s)", (slug,))
    values = {
        "file": str(tmp / "file"),
        "dir": str(tmp / "dir"),
        "missing": str(tmp / "missing"),
        "fifo": str(tmp / "fifo"),
        "long": LONG,
        "tenant": slug,
        "uuid": str(uuid.uuid4()),
        "keys": str(keys),
        "tmp": str(tmp),
    }
    yield World(url, values)
    pg_server.drop_database(name)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(
    case: Case, world: World, pbl: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", world.url)
    monkeypatch.setenv("PBL_KEY_FILE", world.values["keys"])
    monkeypatch.setenv("PBL_QUIET", "1")
    monkeypatch.setenv("PBL_BACKUP_DIR", str(Path(world.values["tmp"]) / "backups"))
    argv = [arg.format(**world.values) for arg in case.argv]
    stdin = case.stdin if case.stdin is not None else b""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    result = pbl(*argv)
    assert "internal error" not in result.err and "Traceback" not in result.err, result.err
    assert result.code == case.code, result.err
    assert case.says.lower() in result.err.lower(), result.err
    assert LONG[:81] not in result.err + result.out, "an error echoed 500 characters"
