"""Review of issue 6: `pbl report --html FILE` writes the page with the mode its help states."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result

Pbl = Callable[..., Result]


def test_page_is_0644_whatever_the_umask(pbl: Pbl, db_url: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    old = os.umask(0o077)
    try:
        result = pbl("report", "--html", str(page), "--no-record", "--database-url", db_url)
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    assert stat.S_IMODE(page.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no partial left behind
