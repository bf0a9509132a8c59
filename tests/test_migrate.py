"""pbl migrate on the fixture migrations, against a real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Result

pytestmark = pytest.mark.matrix


@pytest.fixture
def db(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    return empty_db_url


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return [r[0] for r in rows]


def status(pbl: Callable[..., Result], migrations: Path) -> dict[str, dict[str, object]]:
    result = pbl("migrate", "status", "--json", "--sql-dir", str(migrations))
    assert result.code == 0, result.err
    return {row["id"]: row for row in json.loads(result.out)}


def test_applies_all_and_records_checksums(db: str, migrations: Path, pbl) -> None:
    result = pbl("migrate", "--sql-dir", str(migrations))
    assert result.code == 0, result.err
    assert "0001_create_widgets" in result.out and "0003_index_widget_name" in result.out
    assert "widgets" in tables(db)
    assert columns(db, "widgets") == ["id", "name", "color"]
    state = status(pbl, migrations)
    assert [s["state"] for s in state.values()] == ["applied"] * 3
    expected = hashlib.sha256((migrations / "0002_add_widget_color.sql").read_bytes()).hexdigest()
    assert state["0002_add_widget_color"]["recorded_sha256"] == expected
    again = pbl("migrate", "--sql-dir", str(migrations))
    assert again.code == 0 and "up to date" in again.out


def test_non_transactional_directive_runs_outside_a_transaction(
    db: str, migrations: Path, pbl
) -> None:
    assert pbl("migrate", "--sql-dir", str(migrations)).code == 0
    with psycopg.connect(db) as conn:
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'widgets_name_idx'::regclass"
        ).fetchone()
    assert valid == (True,)


def test_without_the_directive_concurrent_index_fails_cleanly(
    db: str, migrations: Path, pbl
) -> None:
    path = migrations / "0003_index_widget_name.sql"
    path.write_text(path.read_text().replace("-- transactional: false\n", ""))
    result = pbl("migrate", "--sql-dir", str(migrations))
    assert result.code == 1
    assert "0003_index_widget_name failed" in result.err
    assert "transaction block" in result.err
    assert status(pbl, migrations)["0003_index_widget_name"]["state"] == "pending"


def test_dry_run_lists_sql_and_touches_nothing(db: str, migrations: Path, pbl) -> None:
    result = pbl("migrate", "--dry-run", "--sql-dir", str(migrations))
    assert result.code == 0, result.err
    assert "-- 0001_create_widgets (transactional)" in result.out
    assert "-- 0003_index_widget_name (non-transactional)" in result.out
    assert "ALTER TABLE widgets ADD COLUMN color text;" in result.out
    assert tables(db) == set()  # not even yoyo's bookkeeping tables
    as_json = json.loads(pbl("migrate", "--dry-run", "--json", "--sql-dir", str(migrations)).out)
    assert [m["id"] for m in as_json] == [
        "0001_create_widgets",
        "0002_add_widget_color",
        "0003_index_widget_name",
    ]


def test_target_applies_up_to_the_id(db: str, migrations: Path, pbl) -> None:
    result = pbl("migrate", "--target", "0002_add_widget_color", "--sql-dir", str(migrations))
    assert result.code == 0, result.err
    state = status(pbl, migrations)
    assert state["0002_add_widget_color"]["state"] == "applied"
    assert state["0003_index_widget_name"]["state"] == "pending"
    unknown = pbl("migrate", "--target", "9999_nope", "--sql-dir", str(migrations))
    assert unknown.code == 2 and "unknown migration" in unknown.err


def test_rollback_count_to_and_all(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--sql-dir", d).code == 0

    preview = pbl("migrate", "rollback", "--dry-run", "--count", "2", "--sql-dir", d)
    assert preview.code == 0
    assert "DROP INDEX CONCURRENTLY IF EXISTS widgets_name_idx;" in preview.out
    assert "ALTER TABLE widgets DROP COLUMN color;" in preview.out
    assert [s["state"] for s in status(pbl, migrations).values()] == ["applied"] * 3

    one = pbl("migrate", "rollback", "--sql-dir", d)
    assert one.code == 0, one.err
    assert "will roll back 1 migration(s)" in one.err
    assert status(pbl, migrations)["0003_index_widget_name"]["state"] == "pending"

    to = pbl("migrate", "rollback", "--to", "0001_create_widgets", "--sql-dir", d)
    assert to.code == 0, to.err
    assert columns(db, "widgets") == ["id", "name"]

    assert pbl("migrate", "--sql-dir", d).code == 0
    everything = pbl("migrate", "rollback", "--count", "all", "--sql-dir", d)
    assert everything.code == 0, everything.err
    assert "widgets" not in tables(db)
    assert [s["state"] for s in status(pbl, migrations).values()] == ["pending"] * 3

    bad = pbl("migrate", "rollback", "--count", "zero", "--sql-dir", d)
    assert bad.code == 2


def test_edited_applied_migration_is_drift_until_accepted(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--target", "0002_add_widget_color", "--sql-dir", d).code == 0
    edited = migrations / "0002_add_widget_color.sql"
    edited.write_text(edited.read_text() + "\n-- an innocent-looking edit\n")

    state = status(pbl, migrations)["0002_add_widget_color"]
    assert state["state"] == "drifted"
    assert "0002_add_widget_color.sql changed" in str(state["detail"])

    blocked = pbl("migrate", "--sql-dir", d)
    assert blocked.code == 4
    assert "0002_add_widget_color" in blocked.err and "pbl migrate accept" in blocked.err
    assert status(pbl, migrations)["0003_index_widget_name"]["state"] == "pending"
    assert pbl("migrate", "rollback", "--sql-dir", d).code == 4

    accepted = pbl("migrate", "accept", "0002_add_widget_color", "--sql-dir", d)
    assert accepted.code == 0, accepted.err
    assert status(pbl, migrations)["0002_add_widget_color"]["state"] == "applied"
    assert pbl("migrate", "--sql-dir", d).code == 0


def test_edited_rollback_file_is_drift_too(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--sql-dir", d).code == 0
    (migrations / "0001_create_widgets.rollback.sql").write_text("DROP TABLE widgets CASCADE;\n")
    state = status(pbl, migrations)["0001_create_widgets"]
    assert state["state"] == "drifted"
    assert "rollback.sql changed" in str(state["detail"])


def test_migration_without_rollback_is_refused(db: str, migrations: Path, pbl) -> None:
    (migrations / "0003_index_widget_name.rollback.sql").unlink()
    result = pbl("migrate", "--sql-dir", str(migrations))
    assert result.code == 4
    assert "0003_index_widget_name.sql" in result.err and "rollback" in result.err
    assert "widgets" not in tables(db)  # nothing applied, not even the good ones


def test_applied_migration_missing_on_disk(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--sql-dir", d).code == 0
    for suffix in (".sql", ".rollback.sql"):
        (migrations / f"0003_index_widget_name{suffix}").unlink()
    assert status(pbl, migrations)["0003_index_widget_name"]["state"] == "missing"
    result = pbl("migrate", "--sql-dir", d)
    assert result.code == 4 and "0003_index_widget_name" in result.err


def test_new_scaffolds_the_next_pair(db: str, migrations: Path, pbl) -> None:
    result = pbl("migrate", "new", "Add widget size!", "--sql-dir", str(migrations))
    assert result.code == 0, result.err
    forward = migrations / "0004_add_widget_size.sql"
    rollback = migrations / "0004_add_widget_size.rollback.sql"
    assert forward.exists() and rollback.exists()
    state = status(pbl, migrations)["0004_add_widget_size"]
    assert state["state"] == "pending" and state["transactional"] is True
    assert pbl("migrate", "--sql-dir", str(migrations)).code == 0
    assert pbl("migrate", "new", "!!!", "--sql-dir", str(migrations)).code == 2


def test_lock_timeout_stops_cleanly_and_rerun_succeeds(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--target", "0001_create_widgets", "--sql-dir", d).code == 0
    with psycopg.connect(db) as blocker:
        blocker.execute("SELECT count(*) FROM widgets")  # holds ACCESS SHARE until commit
        result = pbl("migrate", "--lock-timeout", "300ms", "--sql-dir", d)
        assert result.code == 5, result.err
        assert "0002_add_widget_color" in result.err and "lock_timeout=300ms" in result.err
        assert "still pending" in result.err
        blocker.rollback()
    assert columns(db, "widgets") == ["id", "name"]
    assert status(pbl, migrations)["0002_add_widget_color"]["state"] == "pending"
    rerun = pbl("migrate", "--sql-dir", d)
    assert rerun.code == 0, rerun.err
    assert columns(db, "widgets") == ["id", "name", "color"]


def test_statement_timeout_rolls_the_migration_back(db: str, migrations: Path, pbl) -> None:
    (migrations / "0004_slow.sql").write_text(
        "CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(3);\n"
    )
    (migrations / "0004_slow.rollback.sql").write_text("DROP TABLE slow_marker;\n")
    result = pbl("migrate", "--statement-timeout", "200ms", "--sql-dir", str(migrations))
    assert result.code == 1
    assert "0004_slow" in result.err and "statement_timeout=200ms" in result.err
    assert "slow_marker" not in tables(db)
    assert status(pbl, migrations)["0004_slow"]["state"] == "pending"


def test_bad_timeout_value_is_a_usage_error(db: str, migrations: Path, pbl) -> None:
    result = pbl("migrate", "--lock-timeout", "soon", "--sql-dir", str(migrations))
    assert result.code == 2 and "timeout" in result.err


def test_python_migrations_are_refused(db: str, migrations: Path, pbl) -> None:
    (migrations / "0004_code.py").write_text("from yoyo import step\nstep('SELECT 1')\n")
    result = pbl("migrate", "--sql-dir", str(migrations))
    assert result.code == 4 and "0004_code.py" in result.err


def test_select_in_a_migration_does_not_pollute_stdout(db: str, migrations: Path, pbl) -> None:
    (migrations / "0004_select.sql").write_text("SELECT 'leak' AS x;\n")
    (migrations / "0004_select.rollback.sql").write_text("SELECT 1;\n")
    result = pbl("migrate", "--json", "--sql-dir", str(migrations))
    assert result.code == 0, result.err
    assert [m["id"] for m in json.loads(result.out)["applied"]][-1] == "0004_select"


@pytest.mark.pg(">=14")
def test_runs_notice_a_dead_client_during_long_statements(db: str, migrations: Path, pbl) -> None:
    (migrations / "0004_seen.sql").write_text(
        "CREATE TABLE seen AS SELECT current_setting('client_connection_check_interval') AS v;\n"
    )
    (migrations / "0004_seen.rollback.sql").write_text("DROP TABLE seen;\n")
    assert pbl("migrate", "--sql-dir", str(migrations)).code == 0
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT v FROM seen").fetchone() == ("2s",)


def test_invalid_parameter_in_a_migration_is_a_migration_failure(
    db: str, migrations: Path, pbl
) -> None:
    (migrations / "0004_bad.sql").write_text("CREATE TABLE ff (a int) WITH (fillfactor = 5);\n")
    (migrations / "0004_bad.rollback.sql").write_text("DROP TABLE ff;\n")
    result = pbl("migrate", "--sql-dir", str(migrations))
    assert result.code == 1
    assert "0004_bad failed" in result.err and "timeout" not in result.err


def test_failed_concurrent_index_is_cleaned_up_or_named(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--target", "0002_add_widget_color", "--sql-dir", d).code == 0
    with psycopg.connect(db) as writer:
        writer.execute("INSERT INTO widgets (name) VALUES ('in flight')")  # open transaction
        failed = pbl("migrate", "--lock-timeout", "300ms", "--sql-dir", d)
        assert failed.code == 5, failed.err
        assert "widgets_name_idx" in failed.err and "invalid index" in failed.err
        writer.commit()
    rerun = pbl("migrate", "--sql-dir", d)
    assert rerun.code == 0, rerun.err
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'widgets_name_idx'::regclass"
        ).fetchone() == (True,)


def test_invalid_index_left_before_is_not_recorded_as_applied(
    db: str, migrations: Path, pbl
) -> None:
    d = str(migrations)
    path = migrations / "0003_index_widget_name.sql"
    path.write_text(
        "-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name_idx ON widgets (name);\n"
    )
    assert pbl("migrate", "--target", "0002_add_widget_color", "--sql-dir", d).code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE INDEX widgets_name_idx ON widgets (name)")
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'widgets_name_idx'::regclass"
        )
    result = pbl("migrate", "--sql-dir", d)
    assert result.code == 4 and "widgets_name_idx" in result.err and "not recorded" in result.err
    assert status(pbl, migrations)["0003_index_widget_name"]["state"] == "pending"


def test_rollback_count_above_the_applied_is_refused(db: str, migrations: Path, pbl) -> None:
    d = str(migrations)
    assert pbl("migrate", "--target", "0002_add_widget_color", "--sql-dir", d).code == 0
    for dry in ((), ("--dry-run",)):
        res = pbl("migrate", "rollback", "--count", "3", *dry, "--yes", "--sql-dir", d)
        assert res.code == 2, res.err
        assert "only 2 migration(s) are applied" in res.err and "--count all" in res.err
        assert res.out == ""
    assert [s["state"] for s in status(pbl, migrations).values()] == [
        "applied",
        "applied",
        "pending",
    ]


def test_bad_settings_are_refused_before_connecting(migrations: Path, pbl) -> None:
    """Timeouts and --lock-wait need no server to be judged: a dry run refuses them too."""
    url = "postgresql://nobody@nohost.invalid/none"
    base = ("--sql-dir", str(migrations), "--database-url", url)
    for argv in (
        ("--lock-timeout", "-5s"),
        ("--lock-timeout", "100000000000000000000h"),
        ("--statement-timeout", "abc"),
        ("--statement-timeout", "25d"),
        ("--lock-wait", "nan"),
        ("--lock-wait", "inf"),
        ("--lock-wait", "-1"),
    ):
        for dry in ((), ("--dry-run",)):
            res = pbl("migrate", *argv, *dry, *base)
            assert res.code == 2, res.err
            assert argv[0] in res.err and res.out == ""


def test_new_refuses_what_it_cannot_write_and_leaves_nothing(
    migrations: Path, tmp_path: Path, pbl
) -> None:
    before = sorted(p.name for p in migrations.iterdir())
    res = pbl("migrate", "new", "x" * 101, "--sql-dir", str(migrations))
    assert res.code == 2 and "at most 100" in res.err
    afile = tmp_path / "afile"
    afile.write_text("")
    res = pbl("migrate", "new", "add_x", "--sql-dir", str(afile))
    assert res.code == 2 and "is not a directory" in res.err
    assert sorted(p.name for p in migrations.iterdir()) == before


def test_an_empty_sql_dir_is_refused(db: str, tmp_path: Path, pbl) -> None:
    res = pbl("migrate", "status", "--sql-dir", str(tmp_path))
    assert res.code == 2 and "holds no migrations" in res.err
    res = pbl("migrate", "new", "first", "--sql-dir", str(tmp_path))
    assert res.code == 0, res.err  # new scaffolds the first one into an empty folder
    assert (tmp_path / "0001_first.sql").exists()
