"""pbl backup create / list / verify / restore / prune against a real server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from pbl_db.backup import repo
from pbl_db.backup.logical import prune_plan
from pbl_db.backup.tools import find_tool
from pbl_db.errors import ConfigError
from tests.conftest import pbl_command, run_pbl
from tests.support.postgres import PgServer

pytestmark = pytest.mark.matrix


@pytest.fixture
def seeded(db_url: str, monkeypatch: pytest.MonkeyPatch, pbl, tmp_path: Path) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PBL_BACKUP_DIR", str(tmp_path / "backups"))
    assert pbl("seed").code == 0
    return db_url


def create(pbl, *args: str) -> dict:  # type: ignore[type-arg]
    result = pbl("backup", "create", "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def data_file(backup: dict) -> Path:  # type: ignore[type-arg]
    rel = max(backup["files"], key=lambda name: backup["files"][name]["bytes"])
    return Path(backup["path"]) / rel


def count(url: str, table: str = "applications") -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table))
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_create_writes_a_complete_private_backup(seeded: str, pbl, tmp_path: Path) -> None:
    backup = create(pbl)
    assert backup["format"] == "directory" and backup["encrypted"] is False
    assert backup["rows"]["public.applications"] == 3 and backup["rows"]["public.tenants"] == 2
    assert "0009_grants" in backup["migrations"]
    root = Path(backup["path"])
    for rel, meta in backup["files"].items():
        path = root / rel
        assert repo.sha256_file(path) == meta["sha256"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "manifest.json").stat().st_mode) == 0o600
    listed = json.loads(pbl("backup", "list", "--json").out)
    assert [b["id"] for b in listed] == [backup["id"]]
    assert not list((tmp_path / "backups").glob(".partial-*"))


@pytest.mark.parametrize("fmt", ["directory", "custom", "plain"])
def test_every_format_restores_with_matching_rows(
    seeded: str, pbl, pg_server: PgServer, fmt: str
) -> None:
    backup = create(pbl, "--format", fmt)
    if fmt == "plain":
        assert data_file(backup).name == "dump.sql.gz"
    target = f"restored_{fmt}_{os.getpid()}"
    try:
        result = pbl("backup", "restore", backup["id"], "--target-db", target)
        assert result.code == 0, result.err
        assert count(pg_server.url_for(target)) == 3
        with psycopg.connect(pg_server.url_for(target)) as restored:  # quota counters came along
            assert restored.execute("SELECT pbl_quota_recount()").fetchone() == (0,)
        verified = pbl("backup", "verify", backup["id"], "--restore", "--json")
        assert verified.code == 0, verified.err
        report = json.loads(verified.out)
        assert report["restored"] and report["rows_compared"] == sum(backup["rows"].values())
        assert json.loads(pbl("backup", "list", "--json").out)[0]["verified_at"]
    finally:
        pg_server.drop_database(target)


def test_restore_refuses_a_non_empty_target_without_clean(
    seeded: str, pbl, pg_server: PgServer
) -> None:
    backup = create(pbl, "--format", "custom")
    target = f"restored_clean_{os.getpid()}"
    try:
        assert pbl("backup", "restore", backup["id"], "--target-db", target).code == 0
        refused = pbl("backup", "restore", backup["id"], "--target-db", target)
        assert refused.code == 4 and "not empty" in refused.err
        dry = pbl("backup", "restore", backup["id"], "--target-db", target, "--clean", "--dry-run")
        assert dry.code == 0 and "would restore" in dry.out
        again = pbl("backup", "restore", backup["id"], "--target-db", target, "--clean")
        assert again.code == 0, again.err
        assert count(pg_server.url_for(target)) == 3
    finally:
        pg_server.drop_database(target)


@pytest.mark.parametrize(
    ("damage", "expect"),
    [
        ("flip", "does not match its sha256"),
        ("truncate", "bytes, the manifest says"),
        ("delete", "is missing"),
        ("manifest", "manifest.json was edited"),
    ],
)
def test_verify_names_the_damage(seeded: str, pbl, damage: str, expect: str) -> None:
    backup = create(pbl)
    path = data_file(backup)
    if damage == "flip":
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        path.write_bytes(bytes(raw))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:-10])
    elif damage == "delete":
        path.unlink()
    else:
        manifest = Path(backup["path"]) / "manifest.json"
        manifest.write_text(manifest.read_text().replace('"rows"', '"rows" ', 1))
    result = pbl("backup", "verify", backup["id"])
    assert result.code == 1
    assert expect in result.err
    if damage != "manifest":
        assert path.name in result.err
    refused = pbl("backup", "restore", backup["id"], "--target-db", "never_made")
    assert refused.code == 1


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_restore_keeps_data_that_looks_like_a_newer_setting(
    seeded: str, pbl, pg_server: PgServer, fmt: str
) -> None:
    """pg_dump 17+'s `SET transaction_timeout` is left out for an older server, and only there:
    a table row with the same text comes back as it was."""
    line = "SET transaction_timeout = 0;"
    with psycopg.connect(seeded, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.note (body text)")
        conn.execute("INSERT INTO public.note VALUES (%s), ('after')", (line,))
    backup = create(pbl, "--format", fmt)
    target = f"restored_note_{fmt}_{os.getpid()}"
    try:
        result = pbl("backup", "restore", backup["id"], "--target-db", target)
        assert result.code == 0, result.err
        with psycopg.connect(pg_server.url_for(target)) as conn:
            rows = conn.execute("SELECT body FROM public.note ORDER BY body").fetchall()
        assert rows == [(line,), ("after",)]
        dump_major = int(str(backup["tool"]).rsplit("(", 1)[1].rstrip(")"))
        left_out = "left out SET transaction_timeout" in result.err
        assert left_out == (dump_major >= 17 > pg_server.version // 10000)
    finally:
        pg_server.drop_database(target)


def test_encrypted_backups(
    seeded: str, pbl, tmp_path: Path, pg_server: PgServer, monkeypatch
) -> None:
    keys = tmp_path / "keys.json"
    assert pbl("crypto", "keygen", "--id", "bk1", "--out", str(keys)).code == 0
    backup = create(pbl, "--encrypt", "--key-file", str(keys))
    assert backup["encrypted"] and backup["key_id"] == "bk1"
    for rel in backup["files"]:
        raw = (Path(backup["path"]) / rel).read_bytes()
        assert rel.endswith(".enc") and raw.startswith(b"PBLBK1\n")
        assert b"PGDMP" not in raw and b"Jane Q. Applicant" not in raw
    assert pbl("backup", "verify", backup["id"], "--key-file", str(keys)).code == 0

    # a wrong key fails before anything is written
    other = tmp_path / "other.json"
    assert pbl("crypto", "keygen", "--id", "bk1", "--out", str(other)).code == 0
    target = f"restored_enc_{os.getpid()}"
    wrong = pbl("backup", "restore", backup["id"], "--target-db", target, "--key-file", str(other))
    assert wrong.code == 1 and "does not open" in wrong.err
    with psycopg.connect(pg_server.admin_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (target,)
        ).fetchone() == (0,)
    try:
        ok = pbl("backup", "restore", backup["id"], "--target-db", target, "--key-file", str(keys))
        assert ok.code == 0, ok.err
        assert count(pg_server.url_for(target)) == 3
    finally:
        pg_server.drop_database(target)
    monkeypatch.delenv("PBL_KEY_FILE", raising=False)
    nokey = pbl("backup", "verify", backup["id"])
    assert nokey.code == 2 and "encrypted" in nokey.err


def test_passwords_never_reach_argv(seeded: str, pg_server: PgServer, tmp_path: Path) -> None:
    from pbl_db.backup.logical import CreateOptions
    from pbl_db.backup.logical import create as run_create
    from pbl_db.backup.tools import run_subprocess
    from pbl_db.connection import Target

    password = psycopg.conninfo.conninfo_to_dict(pg_server.admin_url).get("password")
    if not password:
        pytest.skip("the test server does not use passwords")
    seen: list[tuple[list[str], dict[str, str], str]] = []

    def spy(argv, *, env, stdin=None, stdout=None):  # type: ignore[no-untyped-def]
        passfile = env.get("PGPASSFILE", "")
        mode = oct(stat.S_IMODE(os.stat(passfile).st_mode)) if passfile else ""
        seen.append((argv, dict(env), mode))
        return run_subprocess(argv, env=env, stdin=stdin, stdout=stdout)

    run_create(Target(seeded, "test"), CreateOptions(tmp_path / "spy"), runner=spy)
    assert seen
    for argv, env, mode in seen:
        assert not any(password in arg for arg in argv)
        assert mode == "0o600" and "PGPASSWORD" not in env
    assert not Path(seen[0][1]["PGPASSFILE"]).exists()  # removed afterwards


def _wrapper_bindir(tmp_path: Path, server: PgServer, body: str) -> Path:
    real = find_tool("pg_dump", server.version // 10000)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        # only the dump itself (it names the exported snapshot) runs body first: pbl's probes
        # (--version, the compression check) answer at once
        f'case "$*" in *--snapshot*) {body};; esac\n'
        f'exec {real} "$@"\n'
    )
    script.chmod(0o755)
    return bindir


def _stalled_create(tmp_path: Path, pg_server: PgServer) -> subprocess.Popen[str]:
    """A `pbl backup create` held inside pg_dump (a wrapper sleeps first), its partial
    directory and password file made. stderr goes to tmp_path/stderr, not a pipe: the
    wrapper's orphaned `sleep` would hold a pipe open after pbl has gone."""
    dest = tmp_path / "backups"
    env = {**os.environ, "PBL_PG_BINDIR": str(_wrapper_bindir(tmp_path, pg_server, "sleep 60"))}
    with (tmp_path / "stderr").open("w") as stderr:
        proc = subprocess.Popen(
            pbl_command("backup", "create"),
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    deadline = time.monotonic() + 60
    while not (list(dest.glob(".partial-*/pid")) and _passfiles(proc.pid)):
        assert time.monotonic() < deadline and proc.poll() is None, "create never started"
        time.sleep(0.05)
    return proc


def _passfiles(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"pbl-pgpass-{pid}-*"))


@pytest.mark.slow
def test_killed_create_leaves_nothing_that_looks_finished(
    seeded: str, pg_server: PgServer, tmp_path: Path
) -> None:
    dest = tmp_path / "backups"
    proc = _stalled_create(tmp_path, pg_server)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert repo.list_backups(dest) == []
    assert list(dest.glob(".partial-*"))
    assert _passfiles(proc.pid)  # SIGKILL leaves no time to remove its password file
    rerun = run_pbl("backup", "create")
    assert rerun.code == 0, rerun.err
    assert "left by a run that was killed" in rerun.err
    assert not list(dest.glob(".partial-*"))
    assert len(repo.list_backups(dest)) == 1
    assert not _passfiles(proc.pid)  # the next run removed it


@pytest.mark.slow
def test_terminated_create_cleans_up_like_ctrl_c(
    seeded: str, pg_server: PgServer, tmp_path: Path
) -> None:
    dest = tmp_path / "backups"
    proc = _stalled_create(tmp_path, pg_server)
    proc.send_signal(signal.SIGTERM)  # pbl alone, as `kill <pid>` does
    proc.wait(60)
    err = (tmp_path / "stderr").read_text()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not list(dest.glob(".partial-*"))
    assert not _passfiles(proc.pid)
    assert repo.list_backups(dest) == []


def test_full_disk_is_a_clear_error_and_keeps_nothing(seeded: str, tmp_path: Path) -> None:
    dest = tmp_path / "backups"
    script = f"ulimit -f 8; exec {' '.join(pbl_command('backup', 'create'))}"
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("pbl: using")]
    assert "Traceback" not in proc.stderr
    assert any("no space left" in line for line in lines), proc.stderr
    assert repo.list_backups(dest) == [] and not list(dest.glob(".partial-*"))


def _fake(backup_id: str, when: dt.datetime, verified: bool = False) -> repo.Backup:
    manifest = repo.Manifest(
        id=backup_id,
        pbl_version="x",
        server_version="15",
        server_version_num=150000,
        database="d",
        format="directory",
        compress="gzip:1",
        jobs=1,
        encrypted=False,
        key_id=None,
        migrations=[],
        rows={},
        started_at=when.isoformat(),
    )
    return repo.Backup(Path("/nonexistent") / backup_id, manifest, "yes" if verified else None)


def test_grandfather_father_son_plan() -> None:
    start = dt.datetime(2026, 11, 26, 3, tzinfo=dt.UTC)
    backups = [_fake(f"b{i:03d}", start - dt.timedelta(days=i)) for i in range(400)]
    backups.insert(0, _fake("b-second-today", start + dt.timedelta(hours=5)))
    keep, remove = prune_plan(backups, keep_daily=7, keep_weekly=4, keep_monthly=12)
    kept = {b.id for b in keep}
    assert "b-second-today" in kept and "b000" not in kept  # newest of the day only
    assert {f"b{i:03d}" for i in range(1, 7)} <= kept
    assert len(keep) + len(remove) == 401
    assert len(keep) <= 7 + 4 + 12
    old_verified = _fake("b399", start - dt.timedelta(days=399), verified=True)
    keep, _ = prune_plan([*backups[:-1], old_verified], 1, 0, 0)
    assert "b399" in {b.id for b in keep}  # the newest verified backup survives any policy


def test_prune_removes_outside_the_policy(seeded: str, pbl, tmp_path: Path) -> None:
    first, second = create(pbl), create(pbl)
    assert pbl("backup", "verify", first["id"]).code == 0
    keep_none = ("--keep-daily", "0", "--keep-weekly", "0", "--keep-monthly", "0", "--json")
    dry = json.loads(pbl("backup", "prune", *keep_none, "--dry-run").out)
    assert dry["would_remove"] == [second["id"]] and dry["kept"] == [first["id"]]
    assert len(repo.list_backups(tmp_path / "backups")) == 2
    done = json.loads(pbl("backup", "prune", *keep_none).out)
    assert done["removed"] == [second["id"]]
    assert [b.id for b in repo.list_backups(tmp_path / "backups")] == [first["id"]]


def test_missing_or_old_tools_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="pg_dump 99 or newer"):
        find_tool("pg_dump", 99)


def test_concurrent_claims_never_share_or_clean_a_live_partial(tmp_path: Path) -> None:
    first_id, first = repo.claim_partial(tmp_path)
    second_id, second = repo.claim_partial(tmp_path)
    assert first != second and first_id != second_id
    assert repo.clean_partials(tmp_path) == []  # both are locked by this live process
    repo.release_partial(first)  # as if its process had died
    assert repo.clean_partials(tmp_path) == [first.name]
    assert second.exists()
    repo.abandon_partial(second)


def test_plain_format_only_with_gzip(seeded: str, pbl) -> None:
    result = pbl("backup", "create", "--format", "plain", "--compress", "zstd")
    assert result.code == 2 and "gzip" in result.err


def _rewrite_manifest(backup: dict, change) -> None:  # type: ignore[type-arg,no-untyped-def]
    """Edit a backup's manifest the way an older pbl (or an attacker who also fixes the
    checksum) would have written it."""
    root = Path(backup["path"])
    fields = json.loads((root / "manifest.json").read_text())
    change(fields)
    manifest = repo.Manifest(**fields)
    (root / "manifest.json").chmod(0o600)
    repo.write_manifest(root, manifest)


@pytest.mark.parametrize("fmt", ["directory", "custom"])
def test_default_is_zstd_and_only_pg_dump_files_are_compressed(
    seeded: str, pbl, pg_server: PgServer, fmt: str
) -> None:
    backup = create(pbl, "--format", fmt)
    assert backup["compress"] == "zstd:1"
    names = {Path(rel).name for rel in backup["files"]}
    if backup["codec"] == "pg_dump":  # a pg_dump built with zstd compressed it itself
        assert backup["format_version"] == 1
        return
    assert backup["codec"] == "zstd" and backup["format_version"] == 2
    if fmt == "custom":
        assert names == {"dump.custom.zst"}
    else:
        assert "toc.dat" in names  # plain, so pg_restore --list reads it as it is
        data = {n for n in names if n != "toc.dat"}
        assert data and all(n.endswith(".dat.zst") for n in data)
        for rel in backup["files"]:
            if rel.endswith(".zst"):
                assert (Path(backup["path"]) / rel).read_bytes()[:4] == b"\x28\xb5\x2f\xfd"


def test_backups_pg_dump_compressed_stay_readable(seeded: str, pbl, pg_server: PgServer) -> None:
    """A gzip backup as every pbl before format 2 wrote it (no codec in its manifest) verifies
    and restores."""
    backup = create(pbl, "--compress", "gzip:1")
    assert backup["codec"] == "pg_dump" and backup["format_version"] == 1
    assert any(rel.endswith(".dat.gz") for rel in backup["files"])

    def as_before(fields: dict) -> None:  # type: ignore[type-arg]
        del fields["codec"]

    _rewrite_manifest(backup, as_before)
    assert pbl("backup", "verify", backup["id"]).code == 0
    target = f"restored_gzip_{os.getpid()}"
    try:
        result = pbl("backup", "restore", backup["id"], "--target-db", target)
        assert result.code == 0, result.err
        assert count(pg_server.url_for(target)) == 3
    finally:
        pg_server.drop_database(target)


def test_a_newer_manifest_format_is_refused_by_name(seeded: str, pbl) -> None:
    backup = create(pbl)
    root = Path(backup["path"])
    fields = json.loads((root / "manifest.json").read_text())
    fields["format_version"] = 99
    text = json.dumps(fields, indent=2, sort_keys=True) + "\n"
    (root / "manifest.json").write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    (root / "manifest.sha256").write_text(f"{digest}  manifest.json\n")
    result = pbl("backup", "verify", backup["id"])
    assert result.code == 1 and "manifest format 99" in result.err


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_zstd_file_fails_verify_even_with_a_matching_checksum(
    seeded: str, pbl, damage: str
) -> None:
    """The zstd frame is checked on its own (its end and content checksum), not only through
    the manifest's sha256: here the manifest is rewritten to match the damaged file."""
    backup = create(pbl)
    if backup["codec"] != "zstd":
        pytest.skip("pg_dump compressed this backup itself")
    rel = max(
        (r for r in backup["files"] if r.endswith(".zst")),
        key=lambda r: backup["files"][r]["bytes"],
    )
    path = Path(backup["path"]) / rel
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        del raw[-20:]
    else:
        raw[len(raw) // 2] ^= 0x40
    path.write_bytes(bytes(raw))

    def matching(fields: dict) -> None:  # type: ignore[type-arg]
        fields["files"][rel] = {"sha256": repo.sha256_file(path), "bytes": len(raw)}

    _rewrite_manifest(backup, matching)
    result = pbl("backup", "verify", backup["id"])
    assert result.code == 1
    assert path.name in result.err and ("truncated" in result.err or "decompress" in result.err)


def _databases_like(pg_server: PgServer, prefix: str) -> list[str]:
    with psycopg.connect(pg_server.admin_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return [r[0] for r in rows]


def test_a_refused_restore_creates_no_database(seeded: str, pbl, pg_server: PgServer) -> None:
    """Every up-front refusal (a name PostgreSQL would cut to 63 bytes, one that is not a
    name, too many jobs, an unusable --key-file) comes before CREATE DATABASE, in the dry run
    with the same exit code."""
    backup = create(pbl, "--format", "custom")
    prefix = f"never_{os.getpid()}_"
    too_long = prefix + "x" * (64 - len(prefix))
    attempts = [
        (["--target-db", too_long], "63 bytes"),
        (["--target-db", prefix + "a b"], "not a valid database name"),
        (["--target-db", prefix + "jobs", "--jobs", "100000000000000000000"], "--jobs"),
        (["--target-db", prefix + "jobs", "--jobs", "257"], "--jobs"),
        (["--target-db", prefix + "key", "--key-file", "/nonexistent/keys"], "--key-file"),
    ]
    for args, says in attempts:
        for dry in ([], ["--dry-run"]):
            result = pbl("backup", "restore", backup["id"], *args, *dry)
            assert result.code == 2, (args, dry, result.err)
            assert says in result.err and "will restore" not in result.err
            assert "would restore" not in result.out
    assert _databases_like(pg_server, prefix) == []
    assert _databases_like(pg_server, too_long[:63]) == []


def test_restore_dry_run_warns_about_a_non_empty_target(
    seeded: str, pbl, pg_server: PgServer
) -> None:
    backup = create(pbl, "--format", "custom")
    target = f"restored_warn_{os.getpid()}"
    try:
        assert pbl("backup", "restore", backup["id"], "--target-db", target).code == 0
        dry = pbl("backup", "restore", backup["id"], "--target-db", target, "--dry-run")
        assert dry.code == 0 and "would restore" in dry.out
        assert "is not empty" in dry.err and "--clean" in dry.err
        clean = pbl(
            "backup", "restore", backup["id"], "--target-db", target, "--dry-run", "--clean"
        )
        assert clean.code == 0 and "is not empty" not in clean.err
        refused = pbl("backup", "restore", backup["id"], "--target-db", target)
        assert refused.code == 4 and "will restore" not in refused.err
    finally:
        pg_server.drop_database(target)


def test_verify_refuses_an_explicit_key_file_it_cannot_use(
    seeded: str, pbl, tmp_path: Path
) -> None:
    backup = create(pbl)
    missing = pbl("backup", "verify", backup["id"], "--key-file", str(tmp_path / "no-keys"))
    assert missing.code == 2 and "--key-file" in missing.err and "does not exist" in missing.err
    folder = pbl("backup", "verify", backup["id"], "--key-file", str(tmp_path))
    assert folder.code == 2 and "is a directory" in folder.err
    assert pbl("backup", "verify", backup["id"]).code == 0  # the environment's keys: fine


def test_create_into_a_file_creates_nothing(seeded: str, pbl, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    for dest in (afile, afile / "sub"):
        result = pbl("backup", "create", "--dest", str(dest))
        assert result.code == 2 and "is not a directory" in result.err, result.err
        assert "--dest" in result.err and "dumping" not in result.err
    assert afile.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_create_says_when_it_makes_a_new_backup_tree(seeded: str, pbl, tmp_path: Path) -> None:
    dest = tmp_path / "new" / "deeper"
    made = pbl("backup", "create", "--dest", str(dest))
    assert made.code == 0, made.err
    assert f"creating backup directory {dest}" in made.err
    again = pbl("backup", "create", "--dest", str(dest))
    assert again.code == 0 and "creating backup directory" not in again.err
    assert len(repo.list_backups(dest)) == 2


def test_bad_compression_is_refused_before_any_directory_is_made(
    seeded: str, pbl, tmp_path: Path
) -> None:
    dest = tmp_path / "not-yet"
    for spec in ("gzip:100000000000000000000", "gzip:-1", "zstd:0"):
        result = pbl("backup", "create", "--dest", str(dest), "--compress", spec)
        assert result.code == 2 and "out of range" in result.err, result.err
    assert not dest.exists()


def test_backup_ids_are_checked_before_any_path_is_built() -> None:
    assert repo.check_id("20261204T182608Z") and repo.check_id("20261204T182608Z-2")
    for bad in ("T" * 500, "../x", "20261204T182608Z/..", ".partial-20261204T182608Z", ""):
        with pytest.raises(ConfigError, match="not a backup id"):
            repo.find_backup(Path("/nonexistent"), bad)
