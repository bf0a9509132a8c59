"""lock_timeout and statement_timeout values from the command line, checked without a server
(migrate, maintenance, partitions, retention): one parser, one message, exit 2."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pbl_db.errors import ConfigError, shown

MAX_TIMEOUT_MS = 2_147_483_647  # PostgreSQL's limit for lock_timeout and statement_timeout
_TIMEOUT = re.compile(r"^(\d{1,20}(?:\.\d{0,9})?|\.\d{1,9})\s*(us|ms|s|min|h|d)?$", re.IGNORECASE)
_TIMEOUT_MS = {
    "us": Decimal("0.001"),
    "ms": Decimal(1),
    "s": Decimal(1000),
    "min": Decimal(60_000),
    "h": Decimal(3_600_000),
    "d": Decimal(86_400_000),
}


def parse_timeout_ms(value: str, option: str = "--lock-timeout") -> int:
    """A lock_timeout / statement_timeout value in milliseconds, checked without a server: a
    number with an optional unit (us, ms, s, min, h, d; a bare number is seconds, where
    PostgreSQL alone would read ms), 0 for none, at most PostgreSQL's 2147483647 ms. A value
    above 0 never rounds down to 0 (which would mean no timeout at all)."""
    text = value.strip()
    match = _TIMEOUT.match(text)
    ms: Decimal | None = None
    if match:
        try:
            ms = Decimal(match[1]) * _TIMEOUT_MS[(match[2] or "s").lower()]
        except InvalidOperation:
            ms = None
    if ms is None or not ms.is_finite() or ms > MAX_TIMEOUT_MS:
        raise ConfigError(
            f"bad {option} {shown(value)}: must be a duration from 0 to {MAX_TIMEOUT_MS} ms "
            "(about 24 days)",
            "use e.g. 100ms, 5s, 2min, or 0 for none (a bare number is seconds)",
        )
    whole = int(ms.to_integral_value())
    return 1 if whole == 0 and ms > 0 else whole


def normalise_timeout(value: str, option: str = "--lock-timeout") -> str:
    """The value to SET lock_timeout / statement_timeout to, e.g. '5s' -> '5000ms'; every bad
    value is refused here (ConfigError, exit 2), so the server never rejects one."""
    return f"{parse_timeout_ms(value, option)}ms"


def check_timeouts(lock_timeout: str, statement_timeout: str) -> dict[str, str]:
    """Both session timeouts as they are SET ('5s' -> '5000ms'), each checked; call before any
    planning so a bad one stops everything."""
    return {
        "lock_timeout": normalise_timeout(lock_timeout, "--lock-timeout"),
        "statement_timeout": normalise_timeout(statement_timeout, "--statement-timeout"),
    }
