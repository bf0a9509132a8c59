"""Target resolution, the production TLS rule, and one-line connection errors."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pbl_db.connection import connection_kwargs, resolve_target
from pbl_db.errors import ConfigError, RefusedError
from tests.support.postgres import PgServer, free_port


def assert_one_line(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("pbl: using")]
    assert len(errors) == 1, err
    assert errors[0].startswith("pbl: ")
    assert "Traceback" not in err


def test_resolution_order() -> None:
    env = {"DATABASE_URL": "postgresql://a@h1/db1", "PGHOST": "h2"}
    assert resolve_target("postgresql://b@h0/db0", env).source == "--database-url"
    assert resolve_target(None, env).source == "DATABASE_URL"
    assert resolve_target(None, {"PGHOST": "h2"}).source == "libpq environment"
    assert resolve_target(None, {"PGSERVICE": "billing"}).source == "libpq environment"
    with pytest.raises(ConfigError, match="embedded fallback is off"):
        resolve_target(None, {"PBL_EMBEDDED": "off"})


def test_notice_names_target_without_password() -> None:
    target = resolve_target("postgresql+psycopg://app:s3cret@db.example:6432/pbl", {})
    assert target.notice() == "using app@db.example:6432/pbl (from --database-url)"
    assert "s3cret" not in target.notice()


def test_defaults_added_unless_given() -> None:
    assert connection_kwargs("host=x", {}) == {"connect_timeout": 5, "application_name": "pbl"}
    assert connection_kwargs("host=x connect_timeout=9 application_name=svc", {}) == {}
    assert "connect_timeout" not in connection_kwargs("host=x", {"PGCONNECT_TIMEOUT": "2"})


def test_production_requires_verified_tls() -> None:
    prod = {"PBL_ENV": "production"}
    with pytest.raises(RefusedError, match="sslmode=require"):
        resolve_target("postgresql://u@db.example/x?sslmode=require", prod)
    with pytest.raises(RefusedError, match="local socket"):
        resolve_target("postgresql://u@/x?host=/run/postgresql&sslmode=verify-full", prod)
    with pytest.raises(ConfigError, match="no database is configured"):
        resolve_target(None, prod)
    ok = resolve_target("postgresql://u@db.example/x?sslmode=verify-full", prod)
    assert ok.source == "--database-url"
    assert connection_kwargs("host=db.example", prod)["sslmode"] == "verify-full"
    relaxed = {**prod, "PBL_TLS_MINIMUM": "verify-ca"}
    resolve_target("postgresql://u@db.example/x?sslmode=verify-ca", relaxed)
    with pytest.raises(RefusedError):
        resolve_target("postgresql://u@db.example/x?sslmode=verify-ca", prod)


def test_production_refusal_exit_code(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBL_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/x?sslmode=disable")
    result = pbl("migrate", "status")
    assert result.code == 4
    assert "verified TLS" in result.err
    assert_one_line(result.err)


@pytest.mark.parametrize(
    "url", ["not a url", "mysql://u@h/db", "postgresql://u@h/db?sslmode=bogus"]
)
def test_malformed_url(pbl, url: str) -> None:
    result = pbl("migrate", "status", "--database-url", url)
    assert result.code == 2, result.err
    assert_one_line(result.err)


def test_unreachable_host(pbl) -> None:
    port = free_port()
    result = pbl("migrate", "status", "--database-url", f"postgresql://u@127.0.0.1:{port}/x")
    assert result.code == 3
    assert "cannot connect to u@127.0.0.1" in result.err and "refused" in result.err.lower()
    assert_one_line(result.err)


def test_wrong_password(pbl, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    params = conninfo_to_dict(pg_server.admin_url)
    if not params.get("password"):
        pytest.skip("the test server does not use password authentication")
    monkeypatch.setenv("DATABASE_URL", make_conninfo(pg_server.admin_url, password="Wr0ng-pw"))
    result = pbl("migrate", "status")
    assert result.code == 3
    assert "authentication failed" in result.err and "password" in result.err
    assert "Wr0ng-pw" not in result.err
    assert_one_line(result.err)


def test_missing_database(pbl, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_server.url_for("no_such_db_here"))
    result = pbl("migrate", "status")
    assert result.code == 3
    assert 'database "no_such_db_here" does not exist' in result.err
    assert "createdb" in result.err
    assert_one_line(result.err)


def test_missing_migrations_directory(pbl, empty_db_url: str, tmp_path) -> None:
    result = pbl("migrate", "--database-url", empty_db_url, "--sql-dir", str(tmp_path / "nope"))
    assert result.code == 2
    assert "does not exist" in result.err
    assert_one_line(result.err)


def test_debug_shows_the_traceback(pbl) -> None:
    port = free_port()
    result = pbl(
        "--debug", "migrate", "status", "--database-url", f"postgresql://u@127.0.0.1:{port}/x"
    )
    assert result.code == 3
    assert "Traceback" in result.err


def test_parse_errors_do_not_echo_the_password(pbl) -> None:
    result = pbl("migrate", "status", "--database-url", "postgresql://app:s3cr%zzet@db/x")
    assert result.code == 2
    assert "s3cr" not in result.err and "zzet" not in result.err
    assert_one_line(result.err)


def test_password_on_the_command_line_is_warned_about(pbl) -> None:
    port = free_port()
    result = pbl("migrate", "status", "--database-url", f"postgresql://u:pw@127.0.0.1:{port}/x")
    assert "warning: the password in --database-url is visible" in result.err
    assert ":pw@" not in result.err


def test_bad_connection_values_are_usage_errors_without_the_password(pbl) -> None:
    secret = "Sup3rS3cret"
    for url, says in [
        (f"postgresql://postgres:{secret}@nohost.invalid/x?connect_timeout=abc", "connect_timeout"),
        (f"postgresql://postgres:{secret}@{'T' * 500}/x", "host"),
        (f"postgresql://postgres:{secret}@a..b/x", "host"),
    ]:
        result = pbl("migrate", "status", "--database-url", url)
        assert result.code == 2, result.err
        assert says in result.err and "malformed database URL" in result.err
        assert secret not in result.err and "T" * 81 not in result.err
        assert "internal error" not in result.err


def test_pgconnect_timeout_is_checked(pbl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "soon")
    result = pbl("migrate", "status", "--database-url", "postgresql://u@127.0.0.1:1/x")
    assert result.code == 2 and "PGCONNECT_TIMEOUT=soon" in result.err


def test_a_long_user_name_is_not_echoed_in_full(pbl) -> None:
    port = free_port()
    result = pbl(
        "migrate", "status", "--database-url", f"postgresql://{'U' * 500}@127.0.0.1:{port}/x"
    )
    assert result.code == 3 and "cannot connect" in result.err
    assert "U" * 81 not in result.err
    assert_one_line(result.err)


def test_the_warning_names_the_option_the_password_came_from() -> None:
    url = "postgresql://rep:pw@db.example/x"
    assert "--database-url" in (resolve_target(url, {}).warning or "")
    primary = resolve_target(url, {}, option="--primary")
    assert primary.source == "--primary" and "password in --primary" in (primary.warning or "")
