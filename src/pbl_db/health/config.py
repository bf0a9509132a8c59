"""Default thresholds per check, and the operator's overrides (config file and options)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pbl_db.errors import ConfigError, shown
from pbl_db.health.model import Threshold, parse_limit

GB = 1024**3

# id -> (threshold, what it measures). Checks without limits judge by state (version, ...).
DEFAULTS: dict[str, tuple[Threshold, str]] = {
    "connection": (Threshold("ms", 100, 1000), "round trip of SELECT 1"),
    "version": (Threshold(""), "server version and its end of life"),
    "connections": (Threshold("%", 90, 95), "client connections used of max_connections"),
    "active_sessions": (Threshold("count"), "sessions running a statement"),
    "idle_in_transaction": (Threshold("s", 60, 300), "oldest idle-in-transaction session"),
    "long_query": (Threshold("s", 60, 300), "longest running statement"),
    "long_transaction": (Threshold("s", 300, 1800), "oldest open transaction"),
    "blocked_sessions": (Threshold("count", 1, 5), "sessions waiting on a lock another holds"),
    "wraparound": (Threshold("count", 1.3e9, 1.4e9), "transaction-ID age of the oldest database"),
    "cache_hit": (Threshold("%", 95, 90, below=True), "buffer cache hit ratio of this database"),
    "checkpoints": (
        Threshold("%"),
        "checkpoints requested (WAL, forced) rather than timed (reported)",
    ),
    "backend_writes": (
        Threshold("%", 50),
        "shared-buffer writes done by client backends, not the writers (judged on 16+)",
    ),
    "dead_tuples": (
        Threshold("s", 3600, 43200),
        "time autovacuum has left a table (>= min size) above its vacuum threshold",
    ),
    "bloat": (Threshold("B", 1 * GB, 5 * GB), "estimated table bloat of the worst table"),
    "invalid_indexes": (Threshold("count", 1), "indexes left invalid"),
    "sequences": (Threshold("%", 85, 95), "sequence closest to exhaustion"),
    "archiving": (Threshold("count", 10, 100), "WAL segments waiting to be archived"),
    "replication_lag": (Threshold("s", 60, 300), "replay lag of the slowest standby"),
    "replication_slots": (Threshold("B", 1 * GB, 10 * GB), "WAL held by inactive slots"),
    "standby": (Threshold(""), "a standby's WAL receiver streams; its recovery conflicts"),
    "database_size": (Threshold("B"), "size of this database"),
    "migrations": (Threshold(""), "pending or drifted migrations"),
    "audit_partitions": (
        Threshold("months", 3, 1, below=True),
        "months ahead covered by audit_logs partitions; default partition empty",
    ),
    "pg_stat_statements": (Threshold(""), "pg_stat_statements usable in this database"),
    "tenant_quotas": (Threshold("%", 90), "fullest quota of any tenant this UTC month"),
    "redis_ping": (Threshold("ms", 50, 500), "Redis PING round trip"),
    "redis_memory": (Threshold("%", 80, 90), "used_memory of maxmemory"),
    "redis_evictions": (Threshold("count", 1), "keys evicted since Redis started"),
    "redis_rejected": (Threshold("count", 1), "connections rejected since Redis started"),
    "redis_persistence": (Threshold(""), "last RDB save and AOF write status"),
    "redis_replication": (Threshold(""), "role and replication link"),
}

# Knobs that are not warn/crit limits: (default, unit).
OPTIONS: dict[str, tuple[float, str]] = {
    "idle_in_transaction.min_age": (0, "s"),
    "dead_tuples.min_rows": (1000, "count"),
    "dead_tuples.min_table_size": (10 * 1024**2, "B"),
    "bloat.min_table_size": (10 * 1024**2, "B"),
    "cache_hit.min_blocks": (10000, "count"),
    "backend_writes.min_buffers": (10000, "count"),
}

CHECK_IDS = tuple(DEFAULTS)
POSTGRES_CHECKS = tuple(i for i in CHECK_IDS if not i.startswith("redis_"))
REDIS_CHECKS = tuple(i for i in CHECK_IDS if i.startswith("redis_"))


class Settings:
    """Thresholds and knobs for one run."""

    def __init__(self) -> None:
        self.thresholds: dict[str, Threshold] = {k: v[0] for k, v in DEFAULTS.items()}
        self.options: dict[str, float] = {k: v[0] for k, v in OPTIONS.items()}

    def threshold(self, check_id: str) -> Threshold:
        return self.thresholds[check_id]

    def option(self, name: str) -> float:
        return self.options[name]

    def set_limit(self, check_id: str, level: str, value: Any) -> None:
        if check_id not in self.thresholds:
            raise ConfigError(
                f"unknown check {shown(repr(check_id))}", f"known checks: {', '.join(CHECK_IDS)}"
            )
        current = self.thresholds[check_id]
        if not current.unit:
            raise ConfigError(
                f"check {check_id!r} has no thresholds", "it judges by state, not by a number"
            )
        off = isinstance(value, str) and value.strip().lower() in ("", "none", "off")
        limit = None if value is None or off else parse_limit(value, current.unit)
        if level == "warn":
            self.thresholds[check_id] = replace(current, warn=limit)
        else:
            self.thresholds[check_id] = replace(current, crit=limit)

    def set_option(self, name: str, value: Any) -> None:
        if name not in OPTIONS:
            raise ConfigError(
                f"unknown setting {shown(repr(name))}", f"known: {', '.join(OPTIONS)}"
            )
        self.options[name] = parse_limit(value, OPTIONS[name][1])


def _pairs(values: Iterable[str], flag: str) -> Iterable[tuple[str, str]]:
    for item in values:
        check_id, sep, value = item.partition("=")
        if not sep or not check_id.strip():
            raise ConfigError(
                f"bad {flag} {shown(repr(item))}", f"use {flag} CHECK=VALUE, e.g. connections=80%"
            )
        yield check_id.strip(), value.strip()


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    warn: Iterable[str] = (),
    crit: Iterable[str] = (),
    options: Iterable[str] = (),
) -> Settings:
    """Defaults, then the TOML config file (or PBL_HEALTH_CONFIG), then --warn/--crit/--set."""
    settings = Settings()
    path = config_file or os.environ.get("PBL_HEALTH_CONFIG")
    if path:
        _apply_file(settings, Path(path), "--config" if config_file else "PBL_HEALTH_CONFIG")
    for check_id, value in _pairs(warn, "--warn"):
        settings.set_limit(check_id, "warn", value)
    for check_id, value in _pairs(crit, "--crit"):
        settings.set_limit(check_id, "crit", value)
    for name, value in _pairs(options, "--set"):
        settings.set_option(name, value)
    _check_order(settings)
    return settings


def _check_order(settings: Settings) -> None:
    """warn must come before crit in the direction values get worse, or it could never show."""
    for check_id, th in settings.thresholds.items():
        if th.warn is None or th.crit is None:
            continue
        if th.below and th.warn < th.crit:
            raise ConfigError(
                f"{check_id}: warn {th.warn:g}{_unit(th.unit)} is below crit "
                f"{th.crit:g}{_unit(th.unit)} (lower values are worse here)",
                "give a warn threshold at or above the crit one",
            )
        if not th.below and th.warn > th.crit:
            raise ConfigError(
                f"{check_id}: warn {th.warn:g}{_unit(th.unit)} is above crit "
                f"{th.crit:g}{_unit(th.unit)}",
                "give a warn threshold at or below the crit one",
            )


def _unit(unit: str) -> str:
    return "" if unit == "count" else f" {unit}" if unit == "months" else unit


def _apply_file(settings: Settings, path: Path, option: str) -> None:
    import tomllib

    from pbl_db.pathcheck import input_file

    input_file(path, option)
    where = shown(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"health config {where} ({option}) is not UTF-8 text (byte {exc.start + 1})",
            "save it as UTF-8 TOML",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read health config {where} ({option}): {exc.strerror or exc}",
            "check the path",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"cannot read health config {where}: {shown(exc)}", "fix the TOML"
        ) from None
    checks = data.get("checks", {})
    if not isinstance(checks, Mapping):
        raise ConfigError(f"{where}: [checks] must be a table", "see docs/health.md")
    for check_id, entry in checks.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"{where}: [checks.{shown(check_id)}] must be a table", "see docs/health.md"
            )
        for key, value in entry.items():
            try:
                if key in ("warn", "crit"):
                    settings.set_limit(check_id, key, value)
                else:
                    settings.set_option(f"{check_id}.{key}", value)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc.message}", exc.hint) from None
