"""pbl tune against a server: the report, ALTER SYSTEM with a history, revert, and the history.

ALTER SYSTEM cannot run in a transaction, so apply gets its all-or-nothing another way: it
writes every entry first and reloads only when all were accepted. On the first value the server
rejects, the entries already written in this run are put back as they were (same value, or
RESET) before anything is reloaded, so nothing takes effect.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pbl_db import queries
from pbl_db.connection import Target, connect
from pbl_db.errors import BusyError, ConfigError, OperationFailed, RefusedError, shown
from pbl_db.replica import require_primary
from pbl_db.server_settings import alter_system, same_entry
from pbl_db.tune import recommend
from pbl_db.tune.recommend import Inputs, Recommendation

RELOAD_WAIT_SECONDS = 10.0
MAX_HISTORY = 100_000
MAX_CHANGE_ID = 2**63 - 1  # pbl_tune_history.id is a bigint
AUTO_CONF = "postgresql.auto.conf"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.")

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Request:
    """What to recommend: a profile, the machine's figures, and explicit NAME=VALUE overrides."""

    profile: str = "computed"
    memory: str | None = None
    cpus: int | None = None
    storage: str = "ssd"
    workload: str = "web"
    connections: int | None = None
    overrides: tuple[tuple[str, str], ...] = ()


@dataclass
class SettingRow:
    name: str
    current: str | None  # as SHOW prints it (with its unit); None: not on this server
    recommended: str | None  # None: nothing to set (absent or unsupported here)
    source: str | None  # pg_settings.source, 'ALTER SYSTEM' for postgresql.auto.conf
    context: str | None
    restart_required: bool  # context = postmaster
    pending_restart: bool
    differs: bool | None  # None: pbl cannot compare (the server will judge the value)
    why: str
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    profile: str
    server_version: int
    inputs: dict[str, Any]
    settings: list[SettingRow]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "server_version": self.server_version,
            "inputs": self.inputs,
            "settings": [s.as_dict() for s in self.settings],
            "notes": self.notes,
        }


@dataclass
class Step:
    """One ALTER SYSTEM statement of an apply or revert."""

    name: str
    action: str  # 'SET' or 'RESET'
    value: str | None  # the value written (None for RESET)
    current: str | None  # the running value before, as SHOW prints it
    restart_required: bool
    statement: str


@dataclass
class Outcome:
    """What an apply or revert did (or, with dry_run, would do)."""

    change_id: int | None
    dry_run: bool
    steps: list[Step]
    pending_restart: list[str] = field(default_factory=list)
    reloaded: bool = False
    notes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "dry_run": self.dry_run,
            "steps": [asdict(s) for s in self.steps],
            "pending_restart": self.pending_restart,
            "reloaded": self.reloaded,
            "unchanged": self.unchanged,
            "notes": self.notes,
        }


# --- reading the server -------------------------------------------------------------------


def _settings(conn: Conn, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    query = "list_tune_settings_15" if conn.info.server_version >= 150000 else "list_tune_settings"
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(queries.load(query), {"names": list(names)}).fetchall()
    return {str(r["name"]): dict(r) for r in rows}


def _auto_conf(conn: Conn) -> dict[str, str]:
    """name -> value of the entries postgresql.auto.conf holds now."""
    try:
        rows = conn.execute(queries.load("list_tune_auto_conf")).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        user = conn.info.user
        raise RefusedError(
            f"reading {AUTO_CONF}'s entries (pg_file_settings) needs a superuser",
            f"connect as one, or GRANT SELECT ON pg_file_settings TO {user} and GRANT EXECUTE "
            f"ON FUNCTION pg_show_all_file_settings() TO {user}",
        ) from None
    return {str(r[0]): str(r[1]) for r in rows}


def server_is_local(conn: Conn) -> bool:
    """Connected through a Unix socket or a loopback address: the server runs on this machine."""
    host = conn.info.host or ""
    if not host or host.startswith(("/", "@")):
        return True
    candidates = [host]
    with contextlib.suppress(psycopg.NotSupportedError):
        candidates.insert(0, conn.info.hostaddr)
    for candidate in candidates:
        try:
            if ipaddress.ip_address(candidate).is_loopback:
                return True
        except ValueError:
            continue
    return host == "localhost"


def _human_kb(kb: int) -> str:
    for unit, size in (("TB", 1024**3), ("GB", 1024**2), ("MB", 1024)):
        if kb >= size:
            return f"{kb / size:.1f}{unit}".replace(".0", "")
    return f"{kb}kB"


def _inputs(conn: Conn, request: Request, notes: list[str]) -> Inputs:
    local = server_is_local(conn)
    detected: list[str] = []
    machine: tuple[int, int] | None = None
    if request.memory is not None:
        memory_kb = recommend.parse_memory(request.memory)
    elif local:
        machine = recommend.machine_resources()
        # whole 256MB steps, so the values come out in MB and GB as a typed size would
        step = 256 * 1024
        memory_kb = max(machine[0] // step * step, step)
        detected.append(f"memory {_human_kb(memory_kb)}")
    else:
        raise ConfigError(
            f"the server ({conn.info.host}) is not on this machine, so its RAM cannot be detected",
            "give --memory (the server's RAM, e.g. 16GB) and --cpus",
        )
    cpus = request.cpus
    if cpus is None and local:
        machine = machine or recommend.machine_resources()
        cpus = machine[1]
        detected.append(f"{cpus} CPUs")
    elif cpus is None:
        notes.append("no --cpus: parallel worker settings are not computed")
    if detected:
        notes.append(
            f"{' and '.join(detected)} detected on this machine (the server is local); "
            "--memory/--cpus override"
        )
    if request.connections is not None:
        connections, given = request.connections, True
    else:
        row = _settings(conn, ["max_connections"]).get("max_connections")
        connections, given = (int(row["setting"]) if row else 100), False
        notes.append(
            f"work_mem assumes the server's max_connections ({connections}); "
            "--connections N recommends another"
        )
    return Inputs(
        memory_kb=memory_kb,
        cpus=cpus,
        storage=request.storage,
        workload=request.workload,
        connections=connections,
        connections_given=given,
        detected=bool(detected),
        major=conn.info.server_version // 10000,
    )


def _recommendations(
    conn: Conn, request: Request, notes: list[str]
) -> tuple[list[Recommendation], dict[str, Any]]:
    if request.profile == "spec":
        path = recommend.spec_profile_path()
        recs = recommend.spec_profile(path)
        inputs: dict[str, Any] = {"profile_file": str(path)}
    elif request.profile == "computed":
        given = _inputs(conn, request, notes)
        recs = recommend.compute(given)
        inputs = {
            "memory": _human_kb(given.memory_kb),
            "memory_kb": given.memory_kb,
            "cpus": given.cpus,
            "storage": given.storage,
            "workload": given.workload,
            "connections": given.connections,
            "detected": given.detected,
        }
    else:
        raise ConfigError(
            f"unknown profile {request.profile!r}", f"use one of {', '.join(recommend.PROFILES)}"
        )
    for name, value in request.overrides:
        if not name or not set(name) <= _NAME_CHARS:
            raise ConfigError(
                f"--set {shown(name)}: not a setting name", "e.g. --set work_mem=64MB"
            )
        recs = [r for r in recs if r.name != name]
        recs.append(Recommendation(name, value, "--set"))
    if request.overrides:
        inputs["overrides"] = dict(request.overrides)
    return recs, inputs


def _clamped(rec: Recommendation, info: dict[str, Any]) -> tuple[str, str | None]:
    """Keep a computed number inside the server's min_val..max_val, in its unit."""
    if info["vartype"] not in ("integer", "real") or rec.why == "--set":
        return rec.value, None
    number = recommend.to_setting_units(rec.value, info["unit"])
    if number is None or info["min_val"] is None or info["max_val"] is None:
        return rec.value, None
    low, high = float(info["min_val"]), float(info["max_val"])
    if low <= number <= high:
        return rec.value, None
    bound, word = (high, "maximum") if number > high else (low, "minimum")
    unit_kb = recommend.unit_kb(info["unit"])
    if unit_kb is not None:
        value = recommend.format_kb(int(bound) * unit_kb)
    elif info["vartype"] == "integer":
        value = str(int(bound))
    else:
        value = info["max_val"] if number > high else info["min_val"]
    return str(value), f"{rec.value} is beyond the server's {word}; {value} instead"


def _row(rec: Recommendation, info: dict[str, Any] | None, major: int) -> SettingRow:
    if info is None:
        return SettingRow(
            name=rec.name,
            current=None,
            recommended=None,
            source=None,
            context=None,
            restart_required=False,
            pending_restart=False,
            differs=None,
            why=rec.why,
            note=f"not a setting of PostgreSQL {major}: skipped",
        )
    sourcefile = str(info["sourcefile"] or "")
    source = "ALTER SYSTEM" if sourcefile.endswith("/" + AUTO_CONF) else info["source"]
    restart = info["context"] == "postmaster"
    value, note = _clamped(rec, info)
    recommended: str | None = value
    if (
        rec.name == "effective_io_concurrency"
        and str(info["boot_val"]) == "0"
        and value.strip() != "0"
    ):
        recommended = None
        note = "this platform lacks posix_fadvise: the server accepts only 0 here"
    elif rec.name == "huge_pages" and info["setting"] == "on" and value == "try":
        recommended, note = "on", "huge_pages = on already (stricter than try): kept"
    differs: bool | None = None
    if recommended is not None:
        same = recommend.same_value(
            str(info["setting"]), recommended, info["vartype"], info["unit"]
        )
        differs = None if same is None else not same
    if differs and info["source"] in ("command line", "environment variable"):
        note = (
            f"set on the server's {info['source']}, which overrides {AUTO_CONF}: "
            "ALTER SYSTEM will not take effect"
        )
    return SettingRow(
        name=rec.name,
        current=str(info["current"]),
        recommended=recommended,
        source=source,
        context=str(info["context"]),
        restart_required=restart,
        pending_restart=bool(info["pending_restart"]),
        differs=differs,
        why=rec.why,
        note=note,
    )


def check_request(request: Request) -> None:
    """Refuse (ConfigError) inputs out of range before connecting: the same in a dry run."""
    if request.memory is not None:
        recommend.parse_memory(request.memory)
    for option, value, high in (
        ("--cpus", request.cpus, recommend.MAX_CPUS),
        ("--connections", request.connections, recommend.MAX_CONNECTIONS),
    ):
        if value is not None and not 1 <= value <= high:
            raise ConfigError(f"{option} must be between 1 and {high:,}", f"give {option} N")


def _check_overrides(conn: Conn, request: Request, infos: dict[str, dict[str, Any]]) -> None:
    """Every --set names a setting of this server and gives a value it would accept."""
    major = conn.info.server_version // 10000
    for name, value in request.overrides:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(
                f"--set {shown(name)}: the value is not valid UTF-8 text", "retype it"
            ) from None
        info = infos.get(name)
        if info is None:
            raise ConfigError(
                f"--set {shown(name)}: not a setting of PostgreSQL {major}",
                "check the name (SHOW ALL lists them; an extension's need it loaded)",
            )
        recommend.check_value(name, value, info)


def _report(conn: Conn, request: Request) -> Report:
    check_request(request)
    notes: list[str] = []
    recs, inputs = _recommendations(conn, request, notes)
    infos = _settings(conn, [r.name for r in recs])
    _check_overrides(conn, request, infos)
    major = conn.info.server_version // 10000
    rows = [_row(rec, infos.get(rec.name), major) for rec in recs]
    return Report(request.profile, conn.info.server_version, inputs, rows, notes)


def show(target: Target, request: Request) -> Report:
    """Recommendations next to the current values, their source and restart needs."""
    check_request(request)
    with connect(target) as conn:
        return _report(conn, request)


# --- changing the server ------------------------------------------------------------------


def _names(names: Sequence[str], limit: int = 4) -> str:
    listed = ", ".join(names[:limit])
    return listed + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_privileges(conn: Conn, names: Sequence[str]) -> None:
    """Refuse before writing anything when this role may not do all of it."""
    user = conn.info.user
    infos = _settings(conn, names)
    missing = [n for n in names if n not in infos]
    if missing:
        raise ConfigError(
            f"{_names(missing)}: not a setting of PostgreSQL {conn.info.server_version // 10000}",
            "pbl tune history shows where the change came from; edit postgresql.auto.conf by hand",
        )
    cur = conn.cursor(row_factory=dict_row)
    priv = cur.execute(queries.load("get_tune_privileges")).fetchone()
    assert priv is not None
    if not priv["alter_system_allowed"]:
        raise RefusedError(
            "ALTER SYSTEM is disabled on this server (allow_alter_system = off)",
            "change these settings where the server's configuration is managed; "
            "pbl tune show lists the values",
        )
    denied = [n for n in names if not infos[n]["can_alter_system"]]
    if denied:
        if conn.info.server_version >= 150000:
            hint = (
                f"connect as a superuser, or have one run GRANT ALTER SYSTEM ON PARAMETER "
                f"{', '.join(denied)} TO {user}"
            )
        else:
            hint = "connect as a superuser (PostgreSQL 13 and 14 allow ALTER SYSTEM to no one else)"
        raise RefusedError(f"ALTER SYSTEM SET {_names(denied)} needs a superuser", hint)
    if not priv["can_reload"]:
        raise RefusedError(
            "pg_reload_conf() needs a superuser",
            f"connect as one, or GRANT EXECUTE ON FUNCTION pg_reload_conf() TO {user}",
        )
    _check_history(priv, user, write=True)


def _check_history(priv: dict[str, Any], user: str, *, write: bool) -> None:
    if not priv["has_history"]:
        raise ConfigError(
            "this database has no tune history table (pbl_tune_history)",
            "run pbl migrate on it first: apply records the previous values there for revert",
        )
    if write and not priv["can_write_history"]:
        raise RefusedError(
            f"role {user} may not write the tune history (pbl_tune_history)",
            f"GRANT pbl_owner TO {user}",
        )


def _lock(conn: Conn) -> None:
    row = conn.execute(queries.load("try_tune_lock")).fetchone()
    if not (row and row[0]):
        raise BusyError(
            "another pbl tune apply or revert is running on this database",
            "wait for it to finish, then run this again",
        )


def _unlock(conn: Conn) -> None:
    if not conn.closed:
        with contextlib.suppress(psycopg.Error):  # never mask the error that got us here
            conn.execute(queries.load("release_tune_lock"))


def _server_message(exc: psycopg.Error) -> str:
    diag = exc.diag
    primary = diag.message_primary or str(exc).splitlines()[0]
    extra = diag.message_detail or diag.message_hint
    return f"{primary} ({extra.rstrip('.')})" if extra else primary


def _write(
    conn: Conn,
    steps: Sequence[Step],
    undo: dict[str, str | None],
    given: frozenset[str] = frozenset(),
) -> None:
    """Run the steps in order; on a rejection, put the ones already run back as they were.
    A rejected value of a setting in `given` (the operator's --set) is a ConfigError."""
    done: list[str] = []
    for step in steps:
        try:
            conn.execute(alter_system(step.name, step.value))
        except psycopg.Error as exc:
            restored = _undo(conn, done, undo)
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                raise RefusedError(
                    f"ALTER SYSTEM on {step.name}: {_server_message(exc)}",
                    f"nothing was changed{restored}; connect as a superuser",
                ) from None
            what = "RESET" if step.value is None else f"= {shown(repr(step.value))}"
            error = ConfigError if step.name in given else OperationFailed
            raise error(
                f"the server rejected {step.name} {what}: {shown(_server_message(exc), 200)}",
                f"nothing was changed{restored}; fix the value and run again",
            ) from None
        done.append(step.name)


def _undo(conn: Conn, done: Sequence[str], undo: dict[str, str | None]) -> str:
    """Restore postgresql.auto.conf entries written in this run, newest first, before any reload."""
    for name in reversed(done):
        try:
            conn.execute(alter_system(name, undo[name]))
        except psycopg.Error as exc:
            raise OperationFailed(
                f"could not restore {name} in {AUTO_CONF} after a rejected value: "
                f"{_server_message(exc)}",
                f"nothing was reloaded; check {AUTO_CONF} (ALTER SYSTEM RESET {name}) before "
                "the next reload",
            ) from None
    return f" ({_names(list(done))} put back before any reload)" if done else ""


def _reload(conn: Conn) -> bool:
    """pg_reload_conf(), then wait until this backend has loaded the files again."""
    before = conn.execute(queries.load("get_tune_reload_time")).fetchone()
    conn.execute(queries.load("reload_tune_settings"))
    deadline = time.monotonic() + RELOAD_WAIT_SECONDS
    while time.monotonic() < deadline:
        now = conn.execute(queries.load("get_tune_reload_time")).fetchone()
        if before and now and now[0] > before[0]:
            return True
        time.sleep(0.05)
    return False


def _after_reload(conn: Conn, outcome: Outcome) -> None:
    names = [s.name for s in outcome.steps]
    outcome.reloaded = _reload(conn)
    if not outcome.reloaded:
        outcome.notes.append(
            f"the reload was not seen within {RELOAD_WAIT_SECONDS:.0f}s; "
            "check pg_settings.pending_restart later"
        )
    infos = _settings(conn, names)
    outcome.pending_restart = [n for n in names if (infos.get(n) or {}).get("pending_restart")]
    for name in names:
        info = infos.get(name) or {}
        if info.get("source") in ("command line", "environment variable"):
            outcome.notes.append(
                f"{name} is set on the server's {info['source']}, which overrides {AUTO_CONF}"
            )


def _client() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()}"


def apply(
    target: Target,
    request: Request,
    only: Sequence[str] = (),
    *,
    dry_run: bool = False,
    confirm: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """ALTER SYSTEM the recommended values that differ, record what they replaced, reload.

    `confirm(plan)` is called before anything is written; it may raise to stop.
    """
    check_request(request)
    with connect(target) as conn:
        require_primary(conn, "pbl tune apply")
        report = _report(conn, request)
        rows = report.settings
        known = {r.name for r in rows}
        unknown = [n for n in only if n not in known]
        if unknown:
            raise ConfigError(
                f"--only {shown(', '.join(unknown))}: not among the {request.profile} "
                "recommendations",
                f"choose from {', '.join(sorted(known))}, or add it with --set NAME=VALUE",
            )
        if only:
            rows = [r for r in rows if r.name in only]
        chosen = [r for r in rows if r.recommended is not None and r.differs is not False]
        outcome = Outcome(
            change_id=None,
            dry_run=dry_run,
            steps=[
                Step(
                    r.name,
                    "SET",
                    r.recommended,
                    r.current,
                    r.restart_required,
                    alter_system(r.name, r.recommended).as_string(conn),
                )
                for r in chosen
            ],
            unchanged=[r.name for r in rows if r.differs is False],
            notes=list(report.notes) + [f"{r.name}: {r.note}" for r in rows if r.note],
        )
        if dry_run or not outcome.steps:
            return outcome
        if confirm is not None:
            confirm(outcome)
        _lock(conn)
        try:
            names = [s.name for s in outcome.steps]
            _check_privileges(conn, names)
            before = _auto_conf(conn)
            undo = {n: before.get(n) for n in names}
            _write(conn, outcome.steps, undo, frozenset(n for n, _ in request.overrides))
            try:
                outcome.change_id = _record(conn, report, outcome.steps, before)
            except psycopg.Error as exc:
                restored = _undo(conn, names, undo)
                raise OperationFailed(
                    f"could not record the change in pbl_tune_history: {_server_message(exc)}",
                    f"nothing was changed{restored}",
                ) from None
            _after_reload(conn, outcome)
        finally:
            _unlock(conn)
        return outcome


def _record(conn: Conn, report: Report, steps: Sequence[Step], before: dict[str, str]) -> int:
    with conn.transaction():
        row = conn.execute(
            queries.load("insert_tune_change"),
            {
                "client": _client(),
                "profile": report.profile,
                "inputs": json.dumps(report.inputs),
                "server_version": report.server_version,
            },
        ).fetchone()
        assert row is not None
        change_id = int(row[0])
        for ordinal, step in enumerate(steps, start=1):
            conn.execute(
                queries.load("insert_tune_change_setting"),
                {
                    "change_id": change_id,
                    "ordinal": ordinal,
                    "name": step.name,
                    "was_set": step.name in before,
                    "previous_value": before.get(step.name),
                    "previous_effective": step.current,
                    "new_value": step.value,
                },
            )
    return change_id


def _history_rows(conn: Conn, change_id: int | None, limit: int) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    priv = cur.execute(queries.load("get_tune_privileges")).fetchone()
    assert priv is not None
    _check_history(priv, conn.info.user, write=False)
    try:
        rows = cur.execute(
            queries.load("list_tune_history"), {"change_id": change_id, "limit": limit}
        ).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        raise RefusedError(
            f"role {conn.info.user} may not read the tune history (pbl_tune_history)",
            f"GRANT pbl_owner TO {conn.info.user}",
        ) from None
    return [dict(r) for r in rows]


def history(target: Target, limit: int = 50) -> list[dict[str, Any]]:
    """Recorded changes, newest first (limit: 1 to 100,000)."""
    if not 1 <= limit <= MAX_HISTORY:
        raise ConfigError(f"--limit must be between 1 and {MAX_HISTORY:,}", "e.g. --limit 50")
    with connect(target) as conn:
        return _history_rows(conn, None, limit)


def revert(
    target: Target,
    change_id: int | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    confirm: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Restore what a change replaced (the newest change still in place when no id is given)."""
    if change_id is not None and not 1 <= change_id <= MAX_CHANGE_ID:
        raise ConfigError(
            f"--change must be between 1 and {MAX_CHANGE_ID:,}", "pbl tune history lists them"
        )
    with connect(target) as conn:
        require_primary(conn, "pbl tune revert")
        if change_id is None:
            _history_rows(conn, None, 1)  # checks the table is there and readable
            row = conn.execute(queries.load("get_last_tune_change")).fetchone()
            if row is None:
                raise ConfigError("no tune change to revert", "pbl tune history lists them")
            change_id = int(row[0])
        found = _history_rows(conn, change_id, 1)
        if not found:
            raise ConfigError(f"no tune change {change_id}", "pbl tune history lists them")
        change = found[0]
        if change["reverted_at"] is not None:
            raise RefusedError(
                f"change {change_id} was reverted at {change['reverted_at']:%Y-%m-%d %H:%M:%S%z} "
                f"by {change['reverted_by']}",
                "pbl tune history shows what is in place",
            )
        settings = list(change["settings"])
        names = [s["name"] for s in settings]
        if not force:
            _check_unchanged_since(conn, change_id, settings)
        infos = _settings(conn, names)
        steps = [
            Step(
                s["name"],
                "SET" if s["was_set"] else "RESET",
                s["previous_value"] if s["was_set"] else None,
                str((infos.get(s["name"]) or {}).get("current")) if s["name"] in infos else None,
                (infos.get(s["name"]) or {}).get("context") == "postmaster",
                alter_system(s["name"], s["previous_value"] if s["was_set"] else None).as_string(
                    conn
                ),
            )
            for s in reversed(settings)
        ]
        outcome = Outcome(change_id=change_id, dry_run=dry_run, steps=steps)
        if dry_run:
            return outcome
        if confirm is not None:
            confirm(outcome)
        _lock(conn)
        try:
            _check_privileges(conn, names)
            undo: dict[str, str | None] = {s["name"]: s["new_value"] for s in settings}
            _write(conn, steps, undo)
            conn.execute(queries.load("mark_tune_change_reverted"), {"change_id": change_id})
            _after_reload(conn, outcome)
        finally:
            _unlock(conn)
        return outcome


def _check_unchanged_since(conn: Conn, change_id: int, settings: Sequence[dict[str, Any]]) -> None:
    """Refuse to undo a change whose settings were changed again since (by pbl or by hand)."""
    names = [s["name"] for s in settings]
    later = conn.execute(
        queries.load("list_tune_later_changes"), {"change_id": change_id, "names": names}
    ).fetchall()
    if later:
        ids = sorted({int(r[0]) for r in later})
        touched = sorted({str(r[1]) for r in later})
        raise RefusedError(
            f"change {', '.join(map(str, ids))} (later, still in place) also set {_names(touched)}",
            f"revert it first (pbl tune revert --change {ids[-1]}), or pass --force",
        )
    current = _auto_conf(conn)
    moved = [
        s["name"]
        for s in settings
        if not same_entry(s["name"], current.get(s["name"]), s["new_value"])
    ]
    if moved:
        raise RefusedError(
            f"{_names(moved)} changed in {AUTO_CONF} since change {change_id} "
            "(by hand or another tool)",
            "pbl tune show lists the values in place; pass --force to restore anyway",
        )
