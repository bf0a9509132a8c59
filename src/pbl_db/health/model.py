"""Check results, statuses and thresholds for pbl health."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pbl_db.errors import ConfigError, shown


class Status(Enum):
    """A check's verdict; `code` is the Nagios plugin exit code."""

    OK = ("OK", 0)
    WARN = ("WARNING", 1)
    CRIT = ("CRITICAL", 2)
    UNKNOWN = ("UNKNOWN", 3)
    SKIP = ("SKIP", 0)

    def __init__(self, nagios: str, code: int) -> None:
        self.nagios = nagios
        self.code = code

    @property
    def severity(self) -> int:
        """Order for 'worst of': CRIT > WARN > UNKNOWN > OK > SKIP."""
        return {"CRIT": 4, "WARN": 3, "UNKNOWN": 2, "OK": 1, "SKIP": 0}[self.name]


UNITS = ("ms", "s", "%", "B", "count", "months")


@dataclass(frozen=True)
class Threshold:
    """warn/crit limits; `below` means lower values are worse (cache hit, months ahead)."""

    unit: str
    warn: float | None = None
    crit: float | None = None
    below: bool = False

    def judge(self, value: float) -> Status:
        def beyond(limit: float | None) -> bool:
            if limit is None:
                return False
            return value < limit if self.below else value >= limit

        if beyond(self.crit):
            return Status.CRIT
        if beyond(self.warn):
            return Status.WARN
        return Status.OK


@dataclass
class Check:
    """One check's result: what a DBA reads in the table and a monitor reads in JSON."""

    id: str
    status: Status
    summary: str
    value: float | None = None
    unit: str = ""
    warn: float | None = None
    crit: float | None = None
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    below: bool = False  # lower values are worse

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.name,
            "value": self.value,
            "unit": self.unit,
            "warn": self.warn,
            "crit": self.crit,
            "lower_is_worse": self.below,
            "summary": self.summary,
            "hint": self.hint,
            "details": self.details,
        }


def worst(checks: list[Check]) -> Status:
    """The status of a whole run."""
    if not checks:
        return Status.UNKNOWN
    return max((c.status for c in checks), key=lambda s: s.severity)


_SIZE = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}
_TIME = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}


def parse_limit(text: object, unit: str) -> float:
    """A threshold as given by an operator: '90%', '1.3e9', '60s', '5min', '1GB', '250ms'.

    The same rules whether it comes from the command line or a TOML number: finite, not
    negative (a huge finite value is allowed; inf and nan are refused)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ConfigError(f"bad threshold {shown(repr(text))}", "give a number")
    if isinstance(text, int | float):
        return _checked(float(text) if abs(text) < 1e308 else math.inf, text)
    raw = text.strip().lower().replace("_", "")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z%]*)", raw)
    if not match:
        raise ConfigError(
            f"bad threshold {shown(repr(text))}",
            "give a number (not negative), optionally with a unit",
        )
    number, suffix = float(match.group(1)), match.group(2)
    if not suffix:
        return _checked(number, text)
    if unit == "%" and suffix == "%":
        return _checked(number, text)
    if unit == "B" and suffix in _SIZE:
        return _checked(number * _SIZE[suffix], text)
    if unit in ("s", "ms") and suffix in _TIME:
        seconds = number * _TIME[suffix]
        return _checked(seconds * 1000 if unit == "ms" else seconds, text)
    raise ConfigError(
        f"bad threshold {shown(repr(text))}: unit {shown(repr(suffix))} does not fit a value "
        f"in {unit}",
        "use e.g. 90% for percentages, 60s or 5min for durations, 1GB for sizes",
    )


def _checked(value: float, given: object) -> float:
    if not math.isfinite(value):
        raise ConfigError(
            f"bad threshold {shown(repr(given))}: not a finite number",
            f"give a number up to {sys.float_info.max:.3g}",
        )
    if value < 0:
        raise ConfigError(f"bad threshold {shown(repr(given))}: negative", "give 0 or more")
    return value


def human_bytes(value: float | None, sep: str = "") -> str:
    """1536 -> '1.5kB' (sep=" " gives '1.5 kB'), binary steps, sign kept; None -> '-'."""
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            number = f"{value:.0f}" if unit == "B" else f"{value:.1f}"
            return f"{sign}{number}{sep}{unit}"
        value /= 1024
    raise AssertionError("unreachable: the loop returns at TB")
