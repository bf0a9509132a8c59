"""Review of issue 6: ALTER SYSTEM of list settings (shared_preload_libraries, search_path) by
`pbl slow-queries enable` (the statement it tells the operator to run) and `pbl tune`.

Given one literal 'a, b', ALTER SYSTEM writes the single quoted element "a, b" for these
settings; for shared_preload_libraries the server then does not start. Each test runs on a
throwaway cluster of its own (ALTER SYSTEM, restarts)."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Callable, Iterator

import psycopg
import pytest

from pbl_db.server_settings import list_elements
from tests.conftest import ROOT, Result, unavailable
from tests.support.postgres import NoServer, PgServer, candidate_bindirs, local_cluster

Pbl = Callable[..., Result]
pytestmark = [pytest.mark.slow, pytest.mark.matrix]


@pytest.fixture
def cluster(pg_server: PgServer) -> Iterator[PgServer]:
    bindirs = [pg_server.bindir] if pg_server.bindir else candidate_bindirs()
    if not bindirs:
        unavailable("no local PostgreSQL binaries for a throwaway cluster (ALTER SYSTEM tests)")
    try:
        with local_cluster(bindirs[0]) as server:
            yield server
    except NoServer as exc:
        unavailable(str(exc))


def restart_without_command_line_preload(server: PgServer) -> None:
    """Restart with the same command line minus -c shared_preload_libraries, so the
    configuration files decide it."""
    assert server.data_dir is not None
    words = shlex.split((server.data_dir / "postmaster.opts").read_text())
    settings = [w for prev, w in itertools.pairwise(words) if prev == "-c"]
    kept = [s for s in settings if not s.startswith("shared_preload_libraries=")]
    server.pg_ctl("restart", "-o", " ".join(f"-c {s}" for s in kept))


def file_setting(url: str, name: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT setting FROM pg_file_settings WHERE name = %s ORDER BY seqno DESC LIMIT 1",
            (name,),
        ).fetchone()
    return None if row is None else str(row[0])


def show(url: str, name: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def test_enable_states_a_preload_change_that_keeps_the_other_libraries(
    cluster: PgServer, pbl: Pbl
) -> None:
    admin = cluster.admin_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'")
    restart_without_command_line_preload(cluster)
    assert show(admin, "shared_preload_libraries") == "auto_explain"

    told = pbl("slow-queries", "enable", "--database-url", admin)
    assert told.code == 0, told.err
    match = re.search(r"run as a superuser: (ALTER SYSTEM SET [^;]+);", told.out)
    assert match, told.out
    advice = match.group(1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(advice)  # what the operator is told to run
    assert list_elements(file_setting(admin, "shared_preload_libraries") or "") == [
        "auto_explain",
        "pg_stat_statements",
    ]
    restart_without_command_line_preload(cluster)  # fails if the file names one odd library
    assert show(admin, "shared_preload_libraries") == "auto_explain, pg_stat_statements"
    done = pbl("slow-queries", "enable", "--database-url", admin)
    assert done.code == 0, done.err
    assert "pg_stat_statements: created in this database" in done.out


def test_tune_writes_and_reverts_a_list_setting_element_by_element(
    cluster: PgServer, pbl: Pbl
) -> None:
    from pbl_db.migrate.engine import Migrator

    url = cluster.create_database("tune")
    Migrator(url, ROOT / "sql" / "migrations").apply()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET search_path = 'app', 'public'")  # two elements
    assert file_setting(url, "search_path") == "app, public"

    applied = pbl(
        "tune",
        "apply",
        "--memory",
        "1GB",
        "--set",
        'search_path="$user", public, extra',
        "--only",
        "search_path",
        "--yes",
        "--json",
        "--database-url",
        url,
    )
    assert applied.code == 0, applied.err
    assert list_elements(file_setting(url, "search_path") or "") == ["$user", "public", "extra"]
    assert show(url, "search_path") == '"$user", public, extra'

    change = json.loads(applied.out)["change_id"]
    reverted = pbl(
        "tune", "revert", "--change", str(change), "--yes", "--json", "--database-url", url
    )
    assert reverted.code == 0, reverted.err  # not refused as "changed by hand since"
    assert list_elements(file_setting(url, "search_path") or "") == ["app", "public"]
    assert show(url, "search_path") == "app, public"


def test_list_elements() -> None:
    assert list_elements('"$user", public') == ["$user", "public"]
    assert list_elements('a,"b,c" , "d""e"') == ["a", "b,c", 'd"e']
    assert list_elements("") == []
