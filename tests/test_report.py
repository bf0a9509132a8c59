"""pbl report: one self-contained HTML page, rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Result, unavailable

Pbl = Callable[..., Result]
SECTIONS = ("health", "growth", "slow-queries", "tables", "indexes")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    unavailable("headless Chromium not installed (Debian package chromium)")
    raise AssertionError  # unreachable


class Sections(HTMLParser):
    """Text of each <section id=...> of a DOM, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.urls: list[str] = []
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("id"):
            self._current = found["id"]
            self.text[self._current] = ""
        for key in ("src", "href", "srcset", "data", "action"):
            if found.get(key):
                self.urls.append(str(found[key]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current:
            self.text[self._current] += data


def rendered(page: Path) -> Sections:
    """The DOM as headless Chromium builds it, with network access refused."""
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={page.parent / 'chromium-profile'}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    parsed = Sections()
    parsed.feed(proc.stdout)
    return parsed


def test_report_renders_every_section_and_shows_growth(
    pbl: Pbl, conn: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    conn.execute("CREATE TABLE report_growth (id int, payload text)")
    for _ in range(20):
        conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'report%%'")
    page = tmp_path / "report.html"
    first = pbl("report", "--database-url", db_url, "--html", str(page), "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["previous_report"] is None

    dom = rendered(page)
    assert set(SECTIONS) <= set(dom.text), dom.text.keys()
    assert dom.urls == []  # nothing to fetch: inline CSS and SVG only
    raw = page.read_text()
    assert not re.search(r"<script|@import|url\(", raw)
    assert "connection" in dom.text["health"] and "migrations" in dom.text["health"]
    assert "first report" in dom.text["growth"]
    assert "pg_class" in dom.text["slow-queries"]
    assert "public.applications" in dom.text["tables"]
    assert "applications_pkey" in dom.text["indexes"] or "idx_" in dom.text["indexes"]

    conn.execute(
        "INSERT INTO report_growth SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g"
    )
    second = pbl("report", "--database-url", db_url, "--html", str(page), "--top", "50")
    assert second.code == 0, second.err
    dom = rendered(page)
    assert "since the previous report" in dom.text["growth"]
    row = re.search(r"public\.report_growth[^+]*\+([\d.]+) (kB|MB)", dom.text["tables"])
    assert row, dom.text["tables"]


def test_report_without_pg_stat_statements_says_why(pbl: Pbl, db_url: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = pbl("report", "--database-url", db_url, "--html", str(page), "--no-record")
    assert result.code == 0, result.err
    dom = rendered(page)
    assert "pg_stat_statements" in dom.text["slow-queries"]
    assert "not recorded" in dom.text["growth"]
    again = pbl("report", "--database-url", db_url, "--html", str(page), "--json")
    assert json.loads(again.out)["previous_report"] is None  # --no-record kept nothing


def test_report_into_a_missing_directory_is_a_usage_error(
    pbl: Pbl, db_url: str, tmp_path: Path
) -> None:
    result = pbl("report", "--database-url", db_url, "--html", str(tmp_path / "nope" / "r.html"))
    assert result.code == 2
    assert "does not exist" in result.err


def test_report_judges_health_with_the_operators_thresholds(
    pbl: Pbl, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "health.toml"
    config.write_text('[checks.database_size]\ncrit = "1kB"\n')
    monkeypatch.setenv("PBL_HEALTH_CONFIG", str(config))
    page = tmp_path / "report.html"
    result = pbl("report", "--database-url", db_url, "--html", str(page), "--no-record", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["health"] == "CRIT"
    health = rendered(page).text["health"]
    assert "database_size" in health and "CRIT" in health
