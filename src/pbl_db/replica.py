"""Streaming standbys: make one from a primary (pg_basebackup), report replication from either
side, and the check every writing command makes before it starts (require_primary)."""

from __future__ import annotations

import os
import pwd
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import ConfigError, OperationFailed, RefusedError, StandbyError

if TYPE_CHECKING:
    import psycopg

    from pbl_db.connection import Target

SLOT_NAME = re.compile(r"^[a-z0-9_]{1,63}$")
STANDBY_HINT = (
    "point --database-url at the primary, or list every node in a multi-host URL with "
    "target_session_attrs=read-write (docs/scale-out.md)"
)


def require_primary(conn: psycopg.Connection[Any], what: str) -> None:
    """Refuse a command that writes when conn's server is a standby (in recovery)."""
    row = conn.execute(queries.load("get_recovery_state")).fetchone()
    if row and row[0]:
        where = f"{conn.info.host}:{conn.info.port}"
        raise StandbyError(f"{what} writes, but {where} is a standby (read-only)", STANDBY_HINT)


def status(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Role, timeline, LSN; a standby's receiver and replay lag; a primary's standbys, slots."""
    row = conn.execute(queries.load("get_replication_status")).fetchone()
    assert row is not None
    state: dict[str, Any] = row[0]
    state["server"] = f"{conn.info.host}:{conn.info.port}"
    state["server_version"] = conn.info.server_version
    return state


@dataclass
class Standby:
    """What `pbl replica create` made."""

    data_dir: str
    port: int
    slot: str | None
    slot_created: bool
    primary: str  # host:port, no password
    conninfo: str  # how to reach the standby from this host, no password
    streaming: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def create(
    primary: Target,
    data_dir: Path,
    *,
    slot: str | None = None,
    port: int | None = None,
    wait_seconds: float = 120.0,
) -> Standby:
    """pg_basebackup of the primary into data_dir (streaming WAL, a replication slot when
    asked), set up as its standby on this host, started; returns once it streams."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from pbl_db.backup.pitr import free_port, pg_ctl_start, write_missing_config
    from pbl_db.backup.tools import check, child_env, find_tool, run_subprocess
    from pbl_db.connection import connect, describe_conninfo

    if slot is not None and not SLOT_NAME.match(slot):
        raise ConfigError(
            f"--slot {slot[:80]!r} is not a replication slot name",
            "use 1 to 63 lower-case letters, digits and underscores",
        )
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise RefusedError(f"{data_dir} exists and is not an empty directory", "give a new one")
    started = time.monotonic()
    params = conninfo_to_dict(primary.conninfo)
    with connect(primary) as conn:
        major = conn.info.server_version // 10000
        found = None
        if slot:
            found = conn.execute(queries.load("get_replication_slot"), {"slot": slot}).fetchone()
            if found and found[0] != "physical":
                raise ConfigError(f"slot {slot} is a {found[0]} slot", "name a physical slot")
        primary_at = f"{conn.info.host}:{conn.info.port}"
        # set on the primary's command line or in files outside its data directory, they
        # would not come with the base backup
        matched = dict(conn.execute(queries.load("list_standby_settings")).fetchall())
    basebackup = find_tool("pg_basebackup", major)
    pg_ctl = find_tool("pg_ctl", major, exact=True)
    port = port or free_port()
    user = _server_user()
    argv = [str(basebackup), "-D", str(data_dir), "-Fp", "-X", "stream", "-c", "fast"]
    if slot:
        argv += ["-S", slot] if found else ["-C", "-S", slot]
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        with child_env(params) as env:
            check(run_subprocess([*argv, "--no-password"], env=env), "pg_basebackup")
        write_missing_config(data_dir, "pbl replica create")
        follow = {k: str(v) for k, v in params.items() if k not in ("dbname", "passfile") and v}
        follow.setdefault("application_name", f"pbl_standby_{port}")
        settings = {
            "primary_conninfo": make_conninfo(**follow),
            "port": str(port),
            "unix_socket_directories": str(data_dir),
            "hot_standby": "on",
        }
        if slot:
            settings["primary_slot_name"] = slot
        settings |= {name: value for name, value in matched.items() if value}
        with (data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n# pbl replica create\n")
            for name, value in settings.items():
                conf.write(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n")
        (data_dir / "standby.signal").write_text("")
        (data_dir / "postgresql.auto.conf").chmod(0o600)  # primary_conninfo holds the password
        _own(data_dir, user)
    except BaseException:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    log = data_dir / "pbl-replica.log"
    pg_ctl_start(pg_ctl, data_dir, log, user, "the standby")
    local = {
        **follow,
        "host": "127.0.0.1",
        "port": str(port),
        "dbname": str(params.get("dbname") or params.get("user") or "postgres"),
    }
    local.pop("hostaddr", None)
    local["application_name"] = "pbl"
    conninfo = make_conninfo(**{k: v for k, v in local.items() if v})
    streaming = _wait_streaming(conninfo, wait_seconds, log)
    shown = {k: v for k, v in local.items() if v and k != "password"}
    return Standby(
        str(data_dir),
        port,
        slot,
        bool(slot and not found),
        primary_at,
        describe_conninfo(make_conninfo(**shown)),
        streaming,
        round(time.monotonic() - started, 1),
    )


def _server_user() -> str | None:
    """The user the standby runs as: this one, or `postgres` when this is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ConfigError(
            "PostgreSQL cannot run as root and there is no postgres user",
            "run pbl replica create as the user that should own the standby",
        ) from None
    return "postgres"


def _own(data_dir: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for current, dirs, files in os.walk(data_dir):
        os.chown(current, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(Path(current) / name, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    data_dir.chmod(0o700)


def _wait_streaming(conninfo: str, wait: float, log: Path) -> bool:
    """Poll the standby until its WAL receiver streams; OperationFailed after `wait` s."""
    import psycopg

    deadline = time.monotonic() + wait
    last = "not reachable yet"
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(conninfo, connect_timeout=2, autocommit=True) as conn:
                row = conn.execute(queries.load("get_wal_receiver_status")).fetchone()
                if row and row[0] == "streaming":
                    return True
                last = f"WAL receiver {row[0] if row else 'not running'}"
        except psycopg.OperationalError as exc:
            last = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else "no answer"
        time.sleep(0.2)
    raise OperationFailed(
        f"the standby does not stream after {wait:.0f}s ({last})",
        f"it keeps trying; see {log} and the primary's pg_hba.conf (replication entries)",
    )
