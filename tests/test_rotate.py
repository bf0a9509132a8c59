"""pbl crypto rotate and key-usage / retire over demo data."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from pbl_db.crypto.cipher import Context
from pbl_db.crypto.fields import ENCRYPTED_FIELDS, decrypt_json
from pbl_db.crypto.keys import load_keyring, read_key_file, write_key_file
from pbl_db.crypto.rotate import key_usage, rotate
from pbl_db.errors import RefusedError


@pytest.fixture
def demo(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pbl) -> tuple[str, Path]:
    keys = tmp_path / "keys.json"
    assert pbl("crypto", "keygen", "--id", "old", "--out", str(keys)).code == 0
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PBL_KEY_FILE", str(keys))
    result = pbl(
        "seed",
        "demo",
        "--tenants",
        "3",
        "--applications",
        "600",
        "--devices",
        "10",
        "--audit-logs",
        "100",
        "--random-seed",
        "7",
    )
    assert result.code == 0, result.err
    return db_url, keys


def usage(url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(url) as conn:
        return {(f"{u.table}.{u.column}", u.key_id): u.values for u in key_usage(conn)}


def every_value_opens(url: str, keys: Path) -> int:
    ring = load_keyring(keys, environ={})
    opened = 0
    with psycopg.connect(url) as conn:
        for f in ENCRYPTED_FIELDS:
            query = psycopg.sql.SQL("SELECT id, tenant_id, {} FROM {} WHERE {} IS NOT NULL").format(
                psycopg.sql.Identifier(f.column),
                psycopg.sql.Identifier(f.table),
                psycopg.sql.Identifier(f.column),
            )
            for row_id, tenant_id, value in conn.execute(query):
                ctx = Context(f.table, f.column, row_id, tenant_id)
                if f.kind == "text":
                    ring.decrypt(value, ctx)
                else:
                    decrypt_json(ring, value, ctx)
                opened += 1
    return opened


def test_rotation_moves_everything_to_the_new_key(demo: tuple[str, Path], pbl) -> None:
    url, keys = demo
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 0
    dry = json.loads(pbl("crypto", "rotate", "--dry-run", "--json").out)
    assert dry["active_key"] == "new" and dry["rows_to_rotate"] == 600
    assert usage(url)[("applications.ssn_encrypted", "old")] == 600  # dry run changed nothing

    result = pbl("crypto", "rotate", "--batch-size", "128", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["rows_updated"] == 600 and report["failures"] == []
    assert report["values_rotated"]["applications.ssn_encrypted"] == 600
    assert {k for k, _ in usage(url).items() if k[1] != "new"} == set()

    # the new key alone opens every value
    ring_keys, _ = read_key_file(keys)
    del ring_keys["old"]
    write_key_file(keys, ring_keys, "new")
    assert every_value_opens(url, keys) == 1800

    again = json.loads(pbl("crypto", "rotate", "--json").out)
    assert again["rows_to_rotate"] == 0 and again["rows_updated"] == 0


def test_undecryptable_value_is_reported_and_left(demo: tuple[str, Path], pbl) -> None:
    url, keys = demo
    with psycopg.connect(url, autocommit=True) as conn:
        a, b = conn.execute(
            "SELECT id, ssn_encrypted FROM applications ORDER BY id LIMIT 2"
        ).fetchall()
        conn.execute("UPDATE applications SET ssn_encrypted = %s WHERE id = %s", (b[1], a[0]))
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 0
    result = pbl("crypto", "rotate", "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert [(f["row_id"], f["column"]) for f in report["failures"]] == [
        (str(a[0]), "ssn_encrypted")
    ]
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            "SELECT ssn_encrypted FROM applications WHERE id = %s", (a[0],)
        ).fetchone()
    assert kept == (b[1],)  # untouched
    assert report["rows_updated"] == 600  # its other fields still moved


@pytest.mark.parametrize("pipelined", [False, True])
def test_killed_run_resumes(demo: tuple[str, Path], pbl, pipelined: bool) -> None:
    url, keys = demo
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 0
    ring = load_keyring(keys, environ={})

    class Killed(Exception):
        pass

    def die_after_first_batch(done: int, total: int) -> None:
        raise Killed

    with (
        psycopg.connect(url, autocommit=True) as conn,
        psycopg.connect(url, autocommit=True) as writer,
        pytest.raises(Killed),
    ):
        rotate(
            conn,
            ring,
            batch_size=100,
            on_progress=die_after_first_batch,
            writer_conn=writer if pipelined else None,
        )
    assert usage(url)[("applications.ssn_encrypted", "new")] == 100
    with psycopg.connect(url, autocommit=True) as conn:
        report = rotate(conn, ring, batch_size=100)
    assert report.rows_to_rotate == 500 and report.rows_updated == 500


def test_retire_only_unused_keys(demo: tuple[str, Path], pbl) -> None:
    _url, keys = demo
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 0
    busy = pbl("crypto", "retire", "old", "--key-file", str(keys))
    assert busy.code == 4 and "600 in applications.ssn_encrypted" in busy.err
    assert pbl("crypto", "retire", "new", "--key-file", str(keys)).code == 4  # the active key
    assert pbl("crypto", "rotate").code == 0
    assert pbl("crypto", "retire", "old", "--key-file", str(keys), "--dry-run").code == 0
    assert "old" in read_key_file(keys)[0]
    assert pbl("crypto", "retire", "old", "--key-file", str(keys)).code == 0
    assert set(read_key_file(keys)[0]) == {"new"}


def test_rotation_needs_to_see_every_tenant(demo: tuple[str, Path]) -> None:
    url, keys = demo
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET ROLE pbl_owner")
        with pytest.raises(RefusedError, match="row-level security"):
            rotate(conn, load_keyring(keys, environ={}))


def test_rows_changed_meanwhile_keep_the_new_value(
    demo: tuple[str, Path], pbl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service writes between rotation's read and write: its value wins, nothing is lost."""
    from pbl_db.crypto import rotate as rotation

    url, keys = demo
    assert pbl("crypto", "keygen", "--id", "new", "--out", str(keys)).code == 0
    ring = load_keyring(keys, environ={})
    with psycopg.connect(url) as conn:
        victim, tenant = conn.execute("SELECT id, tenant_id FROM applications LIMIT 1").fetchone()
    fresh = ring.encrypt("999-99-9999", Context("applications", "ssn_encrypted", victim, tenant))
    real_write = rotation._write_batch

    def service_writes_first(conn, table, fields, staging, staged):  # type: ignore[no-untyped-def]
        if table == "applications" and any(row[0] == victim for row in staged):
            with psycopg.connect(url, autocommit=True) as service:
                service.execute(
                    "UPDATE applications SET ssn_encrypted = %s, status = 'processing' "
                    "WHERE id = %s",
                    (fresh, victim),
                )
        return real_write(conn, table, fields, staging, staged)

    monkeypatch.setattr(rotation, "_write_batch", service_writes_first)
    with psycopg.connect(url, autocommit=True) as conn:
        report = rotate(conn, ring, batch_size=1000)
    assert report.changed_concurrently == 1 and report.rows_updated == 599
    assert report.values_rotated["applications.ssn_encrypted"] == 599
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ssn_encrypted, status FROM applications WHERE id = %s", (victim,)
        ).fetchone()
    assert row == (fresh, "processing")


def test_key_usage_needs_to_see_every_tenant(demo: tuple[str, Path], pbl) -> None:
    url, _ = demo
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE ROLE pbl_test_viewer_ku LOGIN PASSWORD 'pw-viewer' IN ROLE pbl_owner")
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
        viewer = psycopg.conninfo.make_conninfo(
            url, user="pbl_test_viewer_ku", password="pw-viewer"
        )
        result = pbl("crypto", "key-usage", "--database-url", viewer)
        assert result.code == 4 and "row-level security" in result.err
        assert params["dbname"]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP ROLE pbl_test_viewer_ku")
