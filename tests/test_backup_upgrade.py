"""The supported major-version upgrade: a backup of the session's server (13 to 18 in the matrix)
restored into a PostgreSQL 18 cluster gives back the same rows, table by table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.support import pg_dist
from tests.support.postgres import PgServer, local_cluster

pytestmark = pytest.mark.matrix

NEWEST = max(pg_dist.SUPPORTED)


@pytest.fixture(scope="module")
def newest_server() -> Iterator[PgServer]:
    try:
        bindir, _origin = pg_dist.bindir_for(NEWEST)
    except pg_dist.NoBinaries as exc:
        pytest.fail(f"no PostgreSQL {NEWEST} to upgrade into: {exc}")
    with local_cluster(bindir) as server:
        yield server


def table_digests(url: str, tables: list[str]) -> dict[str, str]:
    """md5 of each table's rows in text form, in a fixed order."""
    digests = {}
    with psycopg.connect(url) as conn:
        for name in tables:
            schema, table = name.split(".")
            query = sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(schema, table))
            row = conn.execute(query).fetchone()
            assert row is not None
            digests[name] = str(row[0])
    return digests


@pytest.mark.parametrize("fmt", ["directory", "plain"])
def test_backup_restores_into_the_newest_major_with_identical_rows(
    db_url: str,
    pbl,
    newest_server: PgServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fmt: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PBL_BACKUP_DIR", str(tmp_path / "backups"))
    assert pbl("seed").code == 0
    # directory: pg_dump of the new major, as PostgreSQL advises for upgrades; plain: of the
    # old one (what a nightly backup is), which the new major's pg_restore/psql also read
    upgrade = ["--for-major", str(NEWEST)] if fmt == "directory" else []
    made = pbl("backup", "create", "--json", "--format", fmt, *upgrade)
    assert made.code == 0, made.err
    backup = json.loads(made.out)
    if upgrade:
        assert backup["tool"].endswith(f"({NEWEST})")
    tables = sorted(name for name, rows in backup["rows"].items() if rows)
    assert "public.applications" in tables
    before = table_digests(db_url, tables)

    # roles are cluster-wide: pbl migrate on any database of the new cluster makes them
    roles_db = newest_server.create_database(f"roles_{fmt}")
    assert pbl("migrate", "--database-url", roles_db).code == 0
    target = f"upgraded_{fmt}"
    try:
        restored = pbl(
            "backup",
            "restore",
            backup["id"],
            "--target-db",
            target,
            "--database-url",
            newest_server.admin_url,
        )
        assert restored.code == 0, restored.err
        after = table_digests(newest_server.url_for(target), tables)
        with psycopg.connect(newest_server.url_for(target)) as conn:
            assert conn.info.server_version // 10000 == NEWEST
    finally:
        newest_server.drop_database(target)
        newest_server.drop_database(f"roles_{fmt}")
    assert after == before
