"""pbl retention: batch sizes, durations, timeouts, --thin and application ids."""

from tests.bad_input import case

_BOTH = ((), ("--dry-run",))
_HUGE = "100000000000000000000"

CASES = [
    *[
        case("retention", command, "--batch-size", value, *dry, says="--batch-size")
        for command in ("run", "backfill")
        for value in ("-5", "0", _HUGE, "1000001")
        for dry in _BOTH
    ],
    *[
        case("retention", "run", option, value, *dry, says="at most 3650 days")
        for option, value in (
            ("--grace", f"{_HUGE}d"),
            ("--grace", "99999999999d"),
            ("--grace", "1" * 400),
            ("--max-delay", f"{_HUGE}d"),
            ("--max-runtime", f"{_HUGE}h"),
        )
        for dry in _BOTH
    ],
    *[
        case("retention", "run", option, "{long}", *dry, says=f"bad {option}")
        for option in ("--grace", "--max-delay", "--max-runtime")
        for dry in _BOTH
    ],
    *[
        case("retention", "backfill", "--max-runtime", f"{_HUGE}h", *dry, says="at most")
        for dry in _BOTH
    ],
    *[
        case("retention", command, "--lock-timeout", value, *dry, says="bad --lock-timeout")
        for command in ("run", "backfill")
        for value in (f"{_HUGE}h", "3000000s", "{long}")
        for dry in _BOTH
    ],
    *[case("retention", "run", "--thin", "{long}", *dry, says="--thin") for dry in _BOTH],
    case("retention", "hold", "--application", "{long}", "--reason", "x", says="not a UUID"),
    case("retention", "release", "--application", "{long}", "--reason", "x", says="not a UUID"),
    # a lookup of what the user named that finds nothing is a usage error
    case("retention", "release", "--application", "{uuid}", "--reason", "x", says="no applic"),
    case("retention", "hold", "--application", "{uuid}", "--reason", "x", says="no application"),
]
