"""Streaming standbys: make one from a primary (pg_basebackup), report replication from either
side, and the check every writing command makes before it starts (require_primary)."""

from __future__ import annotations

import math
import os
import pwd
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbl_db import queries
from pbl_db.errors import ConfigError, OperationFailed, RefusedError, StandbyError, shown

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


MAX_WAIT = 86400.0  # --wait, seconds


def check_create(
    data_dir: Path,
    *,
    slot: str | None = None,
    port: int | None = None,
    wait_seconds: float = 120.0,
) -> None:
    """What `create` checks before it connects or copies anything: the slot name, the port,
    a finite wait (NaN passes a range check), a new or empty directory that can be made."""
    from pbl_db import pathcheck

    if slot is not None and not SLOT_NAME.match(slot):
        raise ConfigError(
            f"--slot '{shown(slot)}' is not a replication slot name",
            "use 1 to 63 lower-case letters, digits and underscores",
        )
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535 ({shown(port)} given)")
    if not math.isfinite(wait_seconds) or not 1 <= wait_seconds <= MAX_WAIT:
        raise ConfigError(
            f"--wait must be between 1 and {MAX_WAIT:,.0f} seconds ({shown(wait_seconds)} given)"
        )
    if any(c in str(data_dir) for c in "\n\r\x00"):
        raise ConfigError("--data-dir holds a line break or NUL", "give a plain path")
    pathcheck.output_dir(data_dir, "--data-dir")
    if data_dir.is_dir() and any(data_dir.iterdir()):
        raise RefusedError(
            f"--data-dir {shown(data_dir)} exists and is not an empty directory", "give a new one"
        )


def create(
    primary: Target,
    data_dir: Path,
    *,
    slot: str | None = None,
    port: int | None = None,
    wait_seconds: float = 120.0,
    on_event: Callable[[str], None] | None = None,
) -> Standby:
    """pg_basebackup of the primary into data_dir (streaming WAL, a replication slot when
    asked), set up as its standby on this host, started; returns once it streams. Every
    check (check_create, the slot's kind, the tools) comes before the copy starts."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from pbl_db.backup.pitr import (
        append_auto_conf,
        free_port,
        own_tree,
        pg_ctl_start,
        write_missing_config,
    )
    from pbl_db.backup.tools import check, child_env, find_tool, run_subprocess
    from pbl_db.connection import connect, describe_conninfo

    emit = on_event or (lambda _m: None)
    check_create(data_dir, slot=slot, port=port, wait_seconds=wait_seconds)
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
    follow = {
        k: str(v)
        for k, v in params.items()
        if k not in ("dbname", "passfile") and v not in ("", None)
    }
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
    if any("\n" in v or "\r" in v for v in settings.values()):
        raise ConfigError("a connection setting holds a line break", "remove it from the URL")
    argv = [str(basebackup), "-D", str(data_dir), "-Fp", "-X", "stream", "-c", "fast"]
    if slot:
        argv += ["-S", slot] if found else ["-C", "-S", slot]
    existed = data_dir.exists()
    emit(f"copying {describe_conninfo(primary.conninfo)} into {data_dir} (pg_basebackup)")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        with child_env(params) as env:
            check(run_subprocess([*argv, "--no-password"], env=env), "pg_basebackup")
        write_missing_config(data_dir, "pbl replica create")
        append_auto_conf(data_dir, "pbl replica create", settings)
        (data_dir / "standby.signal").write_text("")
        (data_dir / "postgresql.auto.conf").chmod(0o600)  # primary_conninfo holds the password
        data_dir.chmod(0o700)  # the postmaster refuses a data directory others can read
        if user is not None:
            entry = pwd.getpwnam(user)
            own_tree(data_dir, entry.pw_uid, entry.pw_gid)
    except BaseException:
        _undo(data_dir, existed, primary if slot and not found else None, slot)
        raise
    log = data_dir / "pbl-replica.log"
    try:
        pg_ctl_start(pg_ctl, data_dir, log, user, "the standby")
    except OperationFailed as exc:
        if slot:
            exc.hint = (
                f"{exc.hint}; slot {slot} keeps WAL on the primary until the standby streams: "
                "drop it (pg_drop_replication_slot) if you give this standby up"
            )
        raise
    local = {
        k: v for k, v in follow.items() if k in ("user", "password", "connect_timeout", "options")
    } | {"port": str(port), "dbname": str(params.get("dbname") or params.get("user") or "postgres")}
    candidates = [
        make_conninfo(**local, host=str(data_dir)),  # the standby's own socket
        make_conninfo(**local, host="127.0.0.1", sslmode="prefer"),
    ]
    streaming = _wait_streaming(candidates, wait_seconds, log)
    visible = {k: v for k, v in local.items() if k != "password"} | {"host": "127.0.0.1"}
    return Standby(
        str(data_dir),
        port,
        slot,
        bool(slot and not found),
        primary_at,
        describe_conninfo(make_conninfo(**visible)),
        streaming,
        round(time.monotonic() - started, 1),
    )


def _undo(data_dir: Path, existed: bool, primary: Target | None, slot: str | None) -> None:
    """After a failed copy: remove what this run wrote, and the slot it made."""
    import shutil

    if existed:
        for child in data_dir.iterdir() if data_dir.exists() else []:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    if primary is not None and slot:
        from contextlib import suppress

        import psycopg

        from pbl_db.connection import connect
        from pbl_db.errors import PblError

        with suppress(PblError, psycopg.Error), connect(primary) as conn:
            conn.execute(queries.load("drop_replication_slot"), {"slot": slot})


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


def _wait_streaming(candidates: list[str], wait: float, log: Path) -> bool:
    """Poll the standby until its WAL receiver streams; OperationFailed after `wait` s. Without
    pg_read_all_stats its state reads NULL: a running receiver that has received WAL counts."""
    import psycopg

    deadline = time.monotonic() + wait
    last = "not reachable yet"
    while time.monotonic() < deadline:
        for conninfo in candidates:
            try:
                with psycopg.connect(conninfo, connect_timeout=2, autocommit=True) as conn:
                    row = conn.execute(queries.load("get_wal_receiver_status")).fetchone()
            except psycopg.OperationalError as exc:
                text = str(exc).strip()
                last = text.splitlines()[-1][:200] if text else "no answer"
                continue
            status, running, received = row if row else (None, False, False)
            if status == "streaming" or (status is None and running and received):
                return True
            last = f"WAL receiver {status or ('running' if running else 'not running')}"
            break
        time.sleep(0.2)
    raise OperationFailed(
        f"the standby does not stream after {wait:.0f}s ({last})",
        f"it keeps trying; see {log} and the primary's pg_hba.conf (replication entries)",
    )
