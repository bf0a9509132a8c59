"""pbl maintenance: timeouts, names, sizes, --sql-dir and VACUUM FULL's confirmation."""

from tests.bad_input import case

_BOTH = ((), ("--dry-run",))

CASES = [
    *[
        case("maintenance", command, option, value, *dry, says=f"bad {option}")
        for command in ("analyze", "vacuum", "reindex")
        for option, value in (
            ("--lock-timeout", "-5s"),
            ("--lock-timeout", "abc"),
            ("--lock-timeout", "100000000000000000000h"),
            ("--lock-timeout", "{long}"),
            ("--statement-timeout", "-1"),
            ("--statement-timeout", "3000000s"),
        )
        for dry in _BOTH
    ],
    *[case("maintenance", "analyze", "-t", "{long}", *dry, says="not found") for dry in _BOTH],
    *[case("maintenance", "vacuum", "-t", "{long}", *dry, says="not found") for dry in _BOTH],
    *[case("maintenance", "reindex", "-i", "{long}", *dry, says="not found") for dry in _BOTH],
    *[
        case("maintenance", "reindex", "--bloat-over", value, *dry, says="size")
        for value in ("1" * 400, "2000TB", "{long}")
        for dry in _BOTH
    ],
    case("maintenance", "reindex", "--sql-dir", "{file}", "--dry-run", says="is not a directory"),
    case("maintenance", "analyze", "--sql-dir", "{tmp}/{long}", says="too long"),
    # stdin is not a terminal: no confirmation can be had, so VACUUM FULL is refused
    case("maintenance", "vacuum", "--full", "-t", "devices", code=4, says="pass --yes"),
]
