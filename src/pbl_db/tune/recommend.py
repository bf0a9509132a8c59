"""What pbl tune recommends: pgtune's formulas, the spec's profile, and value/unit arithmetic.

Pure functions: no connection, no printing. Memory is computed in kB, as pgtune does, and
written the way pgtune writes it (GB, MB or kB, whichever divides exactly).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbl_db.errors import ConfigError

WORKLOADS = ("web", "oltp", "olap", "mixed", "desktop")
STORAGES = ("ssd", "hdd", "san")
PROFILES = ("computed", "spec")

KB = 1024
MB_KB = 1024  # one MB in kB
GB_KB = 1024 * 1024  # one GB in kB

# PostgreSQL's unit names (case-sensitive, as the server parses them)
MEMORY_UNITS = {"B": 1, "kB": KB, "MB": KB**2, "GB": KB**3, "TB": KB**4}
TIME_UNITS_MS = {
    "us": 0.001,
    "ms": 1.0,
    "s": 1000.0,
    "min": 60_000.0,
    "h": 3_600_000.0,
    "d": 86_400_000.0,
}

# pgtune: max_worker_processes assumed for work_mem when no parallel settings are computed
DEFAULT_WORKER_PROCESSES = 8
WORK_MEM_FLOOR_KB = 4 * MB_KB
MAINTENANCE_WORK_MEM_CAP_KB = 8 * GB_KB
HUGE_PAGES_FROM_KB = 2 * GB_KB
WAL_SIZES_MB = {  # workload -> (min_wal_size, max_wal_size)
    "web": (1024, 4096),
    "oltp": (2048, 8192),
    "olap": (4096, 16384),
    "desktop": (100, 2048),
    "mixed": (1024, 4096),
}
IO_CONCURRENCY = {"hdd": 2, "ssd": 200, "san": 300}
IO_CONCURRENCY_DEFAULT_18 = 16
IO_WORKERS_DEFAULT_18 = 3
RANDOM_PAGE_COST = {"hdd": "4", "ssd": "1.1", "san": "1.1"}


@dataclass(frozen=True)
class Inputs:
    """What the computed profile is computed from."""

    memory_kb: int
    cpus: int | None
    storage: str = "ssd"
    workload: str = "web"
    connections: int = 100
    connections_given: bool = False  # recommend max_connections only when asked to
    detected: bool = False  # memory/cpus were read from this machine
    major: int = 13  # the server's major: settings that major added or changed


@dataclass(frozen=True)
class Recommendation:
    name: str
    value: str  # as ALTER SYSTEM gets it: '1GB', '0.9', 'try'
    why: str  # the rule, in words


def format_kb(kb: int) -> str:
    """pgtune's notation: whole GB, else whole MB, else kB."""
    if kb % GB_KB == 0:
        return f"{kb // GB_KB}GB"
    if kb % MB_KB == 0:
        return f"{kb // MB_KB}MB"
    return f"{kb}kB"


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt])i?b?\s*$", re.IGNORECASE)
# up to 16TB every computed value stays inside the server's limits (shared_buffers at most
# 8TB, effective_cache_size 16TB): nothing derived from --memory is ever clamped
MAX_MEMORY_KB = 16 * 1024 * GB_KB
MAX_CPUS = 1024
MAX_CONNECTIONS = 10_000


def parse_memory(text: str) -> int:
    """'8GB', '512MB', '1.5g', '16GiB' -> kB (binary units, as pgtune). A unit is required."""
    from pbl_db.errors import shown

    match = _SIZE.match(text)
    if not match:
        raise ConfigError(
            f"--memory {shown(repr(text))} is not a size",
            "write it with a unit, e.g. --memory 8GB or 512MB",
        )
    factor = {"k": 1, "m": MB_KB, "g": GB_KB, "t": 1024 * GB_KB}[match.group(2).lower()]
    number = float(match.group(1)) * factor
    if not math.isfinite(number) or number > MAX_MEMORY_KB:
        raise ConfigError(
            f"--memory {shown(text)} is beyond 16TB", "give the server's RAM, 256MB to 16TB"
        )
    kb = int(number)
    if kb < 256 * MB_KB:
        raise ConfigError(
            f"--memory {shown(text)} is below 256MB",
            "pgtune's formulas are meant for 256MB and more",
        )
    return kb


def compute(inputs: Inputs) -> list[Recommendation]:
    """pgtune's recommendations (github.com/le0pard/pgtune), Linux, PostgreSQL 13+."""
    mem = inputs.memory_kb
    workload, storage = inputs.workload, inputs.storage
    if workload not in WORKLOADS:
        raise ConfigError(f"unknown workload {workload!r}", f"use one of {', '.join(WORKLOADS)}")
    if storage not in STORAGES:
        raise ConfigError(f"unknown storage {storage!r}", f"use one of {', '.join(STORAGES)}")
    out: list[Recommendation] = []
    if inputs.connections_given:
        out.append(Recommendation("max_connections", str(inputs.connections), "--connections"))

    desktop = workload == "desktop"
    shared_buffers = mem // 16 if desktop else mem // 4
    out.append(
        Recommendation(
            "shared_buffers",
            format_kb(shared_buffers),
            "1/16 of RAM (desktop)" if desktop else "25% of RAM",
        )
    )
    cache = mem // 4 if desktop else mem * 3 // 4
    out.append(
        Recommendation(
            "effective_cache_size",
            format_kb(cache),
            "25% of RAM (desktop)" if desktop else "75% of RAM",
        )
    )
    maintenance = mem // 8 if workload == "olap" else mem // 16
    maintenance = min(maintenance, MAINTENANCE_WORK_MEM_CAP_KB)
    out.append(
        Recommendation(
            "maintenance_work_mem",
            format_kb(maintenance),
            ("1/8" if workload == "olap" else "1/16") + " of RAM, at most 8GB",
        )
    )
    out.append(Recommendation("checkpoint_completion_target", "0.9", "spread checkpoints"))
    out.append(
        Recommendation(
            "wal_buffers",
            format_kb(wal_buffers_kb(shared_buffers)),
            "3% of shared_buffers, 32kB..16MB",
        )
    )
    out.append(
        Recommendation(
            "default_statistics_target",
            "500" if workload == "olap" else "100",
            "olap: finer statistics" if workload == "olap" else "PostgreSQL's default",
        )
    )
    out.append(Recommendation("random_page_cost", RANDOM_PAGE_COST[storage], f"{storage} storage"))
    out.append(io_concurrency(storage, inputs.major))
    min_wal, max_wal = WAL_SIZES_MB[workload]
    out.append(Recommendation("min_wal_size", format_kb(min_wal * MB_KB), f"{workload} workload"))
    out.append(Recommendation("max_wal_size", format_kb(max_wal * MB_KB), f"{workload} workload"))
    if shared_buffers >= HUGE_PAGES_FROM_KB:
        out.append(Recommendation("huge_pages", "try", "shared_buffers of 2GB or more"))

    out.extend(major_settings(inputs))
    parallel = parallel_settings(inputs.cpus, workload)
    out.extend(parallel)
    workers = inputs.cpus if parallel and inputs.cpus else DEFAULT_WORKER_PROCESSES
    out.append(
        Recommendation(
            "work_mem",
            format_kb(work_mem_kb(mem, shared_buffers, inputs.connections, workers, workload)),
            f"(RAM - shared_buffers) / ((max_connections + {workers} workers) * 3)"
            + {"olap": " / 2", "mixed": " / 2", "desktop": " / 6"}.get(workload, "")
            + ", at least 4MB",
        )
    )
    return out


def io_concurrency(storage: str, major: int) -> Recommendation:
    """pgtune's per-storage value; from 18, never below 18's new default of 16."""
    value = IO_CONCURRENCY[storage]
    if major >= 18 and value < IO_CONCURRENCY_DEFAULT_18:
        return Recommendation(
            "effective_io_concurrency",
            str(IO_CONCURRENCY_DEFAULT_18),
            f"{storage} storage; kept at 18's default (was 1), which also bounds the "
            f"asynchronous reads in flight: pgtune's {value} predates it",
        )
    return Recommendation("effective_io_concurrency", str(value), f"{storage} storage")


def major_settings(inputs: Inputs) -> list[Recommendation]:
    """Settings a major added: 17's io_combine_limit and summarize_wal, 18's asynchronous I/O."""
    out: list[Recommendation] = []
    if inputs.major >= 17:
        if inputs.workload == "olap":
            combine, why = "256kB", "olap: larger reads for big scans (17's maximum)"
        else:
            combine, why = "128kB", "17's default suits reads of a few pages"
        if inputs.major >= 18 and combine != "128kB":
            # 18 caps io_combine_limit by io_max_combine_limit (server start, default 128kB)
            out.append(Recommendation("io_max_combine_limit", combine, "allows io_combine_limit"))
        out.append(Recommendation("io_combine_limit", combine, why))
        out.append(
            Recommendation(
                "summarize_wal",
                "off",
                "only pg_basebackup --incremental reads WAL summaries; pbl backups are logical",
            )
        )
    if inputs.major >= 18:
        out.append(
            Recommendation(
                "io_method",
                "worker",
                "18's default, works on every kernel; io_uring needs a build with liburing",
            )
        )
        if inputs.cpus:
            workers = max(IO_WORKERS_DEFAULT_18, math.ceil(inputs.cpus / 4))
            out.append(
                Recommendation(
                    "io_workers",
                    str(workers),
                    f"a quarter of {inputs.cpus} CPUs, at least 18's default of 3",
                )
            )
    return out


def wal_buffers_kb(shared_buffers_kb: int) -> int:
    """3% of shared_buffers, at most 16MB (rounded up to it from 14MB), at least 32kB."""
    value = min(3 * shared_buffers_kb // 100, 16 * MB_KB)
    if 14 * MB_KB < value < 16 * MB_KB:
        value = 16 * MB_KB
    return max(value, 32)


def work_mem_kb(
    memory_kb: int, shared_buffers_kb: int, connections: int, workers: int, workload: str
) -> int:
    """pgtune: (RAM - shared_buffers) / ((max_connections + max_worker_processes) * 3)."""
    value = (memory_kb - shared_buffers_kb) / ((connections + workers) * 3)
    divisor = {"olap": 2, "mixed": 2, "desktop": 6}.get(workload, 1)
    return max(math.floor(value / divisor), WORK_MEM_FLOOR_KB)


def parallel_settings(cpus: int | None, workload: str) -> list[Recommendation]:
    """From 4 CPUs: workers = CPUs; per gather ceil(CPUs/2), at most 4 unless olap."""
    if not cpus or cpus < 4:
        return []
    per_gather = math.ceil(cpus / 2)
    if workload != "olap":
        per_gather = min(per_gather, 4)
    why = f"{cpus} CPUs"
    return [
        Recommendation("max_worker_processes", str(cpus), why),
        Recommendation("max_parallel_workers_per_gather", str(per_gather), why),
        Recommendation("max_parallel_workers", str(cpus), why),
        Recommendation("max_parallel_maintenance_workers", str(min(math.ceil(cpus / 2), 4)), why),
    ]


_SPEC_LINE = re.compile(
    r"^ALTER SYSTEM SET ([a-z_][a-z0-9_]*) = (?:'([^'\\]*)'|(-?[0-9]+(?:\.[0-9]+)?));$"
)
_SPEC_ALLOWED = re.compile(r"^(--.*|SELECT pg_reload_conf\(\);)?$")


def spec_profile(path: Path) -> list[Recommendation]:
    """The name/value pairs of sql/maintenance/tune_profile_spec.sql, strictly parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the spec profile {path}: {exc.strerror}",
            "reinstall pbl or point PBL_SQL_DIR at a folder holding maintenance/",
        ) from None
    out: list[Recommendation] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        match = _SPEC_LINE.match(line)
        if match:
            value = match.group(2) if match.group(2) is not None else match.group(3)
            out.append(Recommendation(match.group(1), value, "spec: Performance Tuning"))
        elif not _SPEC_ALLOWED.match(line):
            raise ConfigError(
                f"{path.name} line {number} is not `ALTER SYSTEM SET name = value;`: {line[:60]}",
                "keep one ALTER SYSTEM SET per line, comments and SELECT pg_reload_conf(); only",
            )
    if not out:
        raise ConfigError(f"{path} holds no ALTER SYSTEM SET lines", "restore it from pbl")
    return out


def spec_profile_path() -> Path:
    from pbl_db.paths import sql_dir

    return sql_dir() / "maintenance" / "tune_profile_spec.sql"


def to_setting_units(value: str, unit: str | None) -> float | None:
    """A value as the server would store it, in the setting's unit ('8kB', 'ms', ...).

    None when it cannot be read as a number (the server will judge it on apply).
    """
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*", value)
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2)
    if not suffix:
        return number
    base_unit = re.fullmatch(r"(\d*)([A-Za-z]+)", unit or "")
    if base_unit is None:
        return None
    count = int(base_unit.group(1) or 1)
    if suffix in MEMORY_UNITS and base_unit.group(2) in MEMORY_UNITS:
        return number * MEMORY_UNITS[suffix] / (count * MEMORY_UNITS[base_unit.group(2)])
    if suffix in TIME_UNITS_MS and base_unit.group(2) in TIME_UNITS_MS:
        return number * TIME_UNITS_MS[suffix] / (count * TIME_UNITS_MS[base_unit.group(2)])
    return None


def unit_kb(unit: str | None) -> int | None:
    """kB per unit of a memory setting ('8kB' -> 8, 'MB' -> 1024), else None."""
    base = re.fullmatch(r"(\d*)(B|kB|MB|GB|TB)", unit or "")
    if base is None:
        return None
    size = int(base.group(1) or 1) * MEMORY_UNITS[base.group(2)]
    return size // KB if size >= KB else None


_TRUE = {"on", "true", "yes", "1", "t", "y"}
_FALSE = {"off", "false", "no", "0", "f", "n"}


def same_value(setting: str, wanted: str, vartype: str, unit: str | None) -> bool | None:
    """Is `wanted` what pg_settings.setting already holds? None when undecidable."""
    if vartype == "bool":
        a, b = setting.strip().lower(), wanted.strip().lower()
        if a in _TRUE | _FALSE and b in _TRUE | _FALSE:
            return (a in _TRUE) == (b in _TRUE)
        return None
    if vartype in ("integer", "real"):
        number = to_setting_units(wanted, unit)
        try:
            current = float(setting)
        except ValueError:
            return None
        if number is None:
            return None
        if vartype == "integer":
            return round(number) == round(current)
        return math.isclose(number, current, rel_tol=1e-9, abs_tol=1e-12)
    return setting.strip().lower() == wanted.strip().lower()


def machine_resources() -> tuple[int, int]:
    """(memory in kB, CPUs) of this machine, within its cgroup limits."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            memory = min(memory, int(text))
        break
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = max(1, min(cpus, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return memory // KB, cpus


# --- checking a --set value the way the server parses it (guc.c) ----------------------------
# ALTER SYSTEM cannot run in a transaction and SET refuses server-start settings, so neither
# can try a value without writing it; these functions read it the way guc.c's parse_bool,
# parse_int, parse_real and the enum lookup do, against pg_settings' vartype, unit, min_val,
# max_val and enumvals. A dry run and a real run call the same check. Text settings (paths,
# time zones, lists) are left to the server, which judges them when the real run writes.

# per base unit family, largest first: guc.c rounds a fraction to the next smaller unit
_MEMORY_ORDER = ("TB", "GB", "MB", "kB", "B")
_TIME_ORDER = ("d", "h", "min", "s", "ms", "us")
_C_SPACE = " \t\n\r\f\v"
_C_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_C_FLOAT = re.compile(
    r"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)",
    re.IGNORECASE,
)
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_HIDDEN_BOOLS = frozenset({"true", "false", "yes", "no", "1", "0"})
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def pg_bool(text: str) -> bool | None:
    """guc.c's parse_bool: a prefix of true/false/yes/no, on, of(f), 1 or 0; else None."""
    low = text.lower()
    if not low:
        return None
    for word, value in (("true", True), ("false", False), ("yes", True), ("no", False)):
        if word.startswith(low):
            return value
    if low == "on":
        return True
    if low in ("of", "off"):
        return False
    return {"1": True, "0": False}.get(low)


def _strtod(text: str) -> tuple[float, str] | None:
    match = _C_FLOAT.match(text)
    if match is None:
        return None
    token = match.group()
    body = token.lstrip("+-").lower()
    if body.startswith("nan"):
        value = math.nan
    elif body.startswith("inf"):
        value = -math.inf if token.startswith("-") else math.inf
    elif body.startswith("0x"):
        value = float.fromhex(token)
    else:
        value = float(token)
        digits = re.sub(r"[eE].*", "", body).strip("0.")
        if math.isinf(value) or (value == 0 and digits):  # ERANGE: overflow or underflow
            return None
    return value, text[match.end() :]


def _c_number(text: str, integer: bool) -> tuple[float, str] | None:
    """(number, what follows it) as strtol (integer: base 0, then strtod on '.', 'e' or an
    overflow, as parse_int does) or strtod read them; None when no number starts the text."""
    text = text.lstrip(_C_SPACE)
    if integer:
        match = _C_INT.match(text)
        if match is not None:
            token, rest = match.group(), text[match.end() :]
            body = token.lstrip("+-")
            if body[:2].lower() == "0x":
                value = int(body[2:], 16)
            elif body.startswith("0"):
                value = int(body, 8)
            else:
                value = int(body)
            value = -value if token.startswith("-") else value
            if rest[:1] not in (".", "e", "E") and _LONG_MIN <= value <= _LONG_MAX:
                return float(value), rest
    return _strtod(text)


def _base_value(number: float, rest: str, unit: str | None) -> float | None:
    """number with its unit suffix (rest) in the setting's unit (guc.c convert_to_base_unit)."""
    rest = rest.lstrip(_C_SPACE)
    if not rest:
        return number
    base = re.fullmatch(r"(\d*)([A-Za-z]+)", unit or "")
    if base is None:
        return None  # the setting takes no unit
    token = rest[:3] if not any(c in _C_SPACE for c in rest[:3]) else rest.split()[0]
    if rest[len(token) :].strip(_C_SPACE):
        return None
    count, base_unit = int(base.group(1) or 1), base.group(2)
    for order, sizes in ((_MEMORY_ORDER, MEMORY_UNITS), (_TIME_ORDER, TIME_UNITS_MS)):
        if token in sizes and base_unit in sizes:
            scale = count * sizes[base_unit]
            value = number * sizes[token] / scale
            place = order.index(token)
            if place + 1 < len(order):  # round to the next smaller unit, as guc.c does
                step = sizes[order[place + 1]] / scale
                value = round(value / step) * step
            return value
    return None


def _range_text(info: Mapping[str, Any]) -> str:
    unit = info.get("unit")
    low, high = info.get("min_val"), info.get("max_val")
    suffix = f" (in units of {unit})" if unit else ""
    return f"{low} to {high}{suffix}"


def _units_text(unit: str | None) -> str:
    base = re.fullmatch(r"\d*([A-Za-z]+)", unit or "")
    if base is None:
        return ""
    if base.group(1) in MEMORY_UNITS:
        return "; units B, kB, MB, GB, TB"
    if base.group(1) in TIME_UNITS_MS:
        return "; units us, ms, s, min, h, d"
    return ""


def check_value(name: str, value: str, info: Mapping[str, Any]) -> None:
    """Refuse (ConfigError) a value the server would refuse for this setting (info: its
    pg_settings row): a bad boolean, number, unit or enum value, or one out of range."""
    from pbl_db.errors import shown

    given = f"--set {name}={shown(value, 60)}"
    vartype = str(info.get("vartype"))
    if info.get("context") == "internal":
        raise ConfigError(
            f"{given}: {name} is fixed when PostgreSQL is built or initialized",
            "it cannot be set; leave it out",
        )
    if vartype == "bool":
        if pg_bool(value) is None:
            raise ConfigError(f"{given}: not a boolean", f"{name} takes on or off")
    elif vartype in ("integer", "real"):
        unit = info.get("unit")
        unit_text = str(unit) if unit else None
        word = "an integer" if vartype == "integer" else "a number"
        allowed = f"{name} takes {word} from {_range_text(info)}{_units_text(unit_text)}"
        parsed = _c_number(value, vartype == "integer")
        number = None if parsed is None else _base_value(parsed[0], parsed[1], unit_text)
        if number is None or math.isnan(number):
            raise ConfigError(
                f"{given}: not {word}" + (" with a valid unit" if unit else ""), allowed
            )
        if vartype == "integer":
            if math.isinf(number) or not _INT_MIN <= round(number) <= _INT_MAX:
                raise ConfigError(f"{given}: outside the allowed range", allowed)
            number = float(round(number))
        low, high = info.get("min_val"), info.get("max_val")
        if (
            low is not None
            and high is not None
            and not float(str(low)) <= number <= float(str(high))
        ):
            raise ConfigError(f"{given}: outside the allowed range", allowed)
    elif vartype == "enum":
        choices = [str(v) for v in (info.get("enumvals") or [])]
        lowered = {c.lower() for c in choices}
        # guc.c also takes hidden spellings: the boolean ones where on/off are choices
        alias = {"on", "off"} <= lowered and value.lower() in _HIDDEN_BOOLS
        if choices and value.lower() not in lowered and not alias:
            raise ConfigError(f"{given}: not one of its values", f"use one of {', '.join(choices)}")
