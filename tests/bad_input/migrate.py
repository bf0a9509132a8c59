"""pbl migrate: timeouts, --lock-wait, --count, --sql-dir, names and ids."""

from tests.bad_input import case

_TIMEOUTS = ("-5s", "abc", "100000000000000000000h", "3000000s", "nan", "{long}")
_BOTH = ((), ("--dry-run",))

CASES = [
    # timeouts are refused up front, in dry runs as in real runs
    *[
        case("migrate", option, value, *dry, says=f"bad {option}")
        for option in ("--lock-timeout", "--statement-timeout")
        for value in _TIMEOUTS
        for dry in _BOTH
    ],
    *[
        case("migrate", "rollback", "--lock-timeout", value, *dry, says="bad --lock-timeout")
        for value in ("abc", "-5s", "100000000000000000000h")
        for dry in _BOTH
    ],
    case("migrate", "rollback", "--statement-timeout", "-1", "--dry-run", says="bad --statement"),
    # --lock-wait: finite, 0 to a day
    *[
        case("migrate", "--lock-wait", value, *dry, says="--lock-wait")
        for value in ("nan", "inf", "-1", "1e300", "86401")
        for dry in _BOTH
    ],
    # --count: a bounded number, not above what is applied
    *[
        case("migrate", "rollback", "--count", "99999", *dry, says="migration(s) are applied")
        for dry in _BOTH
    ],
    *[
        case("migrate", "rollback", "--count", value, *dry, says="--count")
        for value in ("100000000000000000000", "{long}", "0", "-1", "²")
        for dry in _BOTH
    ],
    # ids are echoed truncated
    *[case("migrate", "--target", "{long}", *dry, says="unknown migration") for dry in _BOTH],
    *[
        case("migrate", "rollback", "--to", "{long}", *dry, says="unknown migration")
        for dry in _BOTH
    ],
    case("migrate", "accept", "{long}", says="not applied"),
    # --sql-dir
    case("migrate", "status", "--sql-dir", "{file}", says="is not a directory"),
    case("migrate", "status", "--sql-dir", "{missing}", says="does not exist"),
    case("migrate", "status", "--sql-dir", "{tmp}/{long}", says="too long"),
    case("migrate", "status", "--sql-dir", "{dir}", says="holds no migrations"),
    case("migrate", "--dry-run", "--sql-dir", "{file}", says="is not a directory"),
    case("migrate", "--sql-dir", "{dir}", says="holds no migrations"),
    case("migrate", "new", "add_x", "--sql-dir", "{file}", says="is not a directory"),
    case("migrate", "new", "add_x", "--sql-dir", "{missing}", says="does not exist"),
    case("migrate", "new", "add_x", "--sql-dir", "{tmp}/{long}", says="too long"),
    case("migrate", "new", "{long}", "--sql-dir", "{dir}", says="at most 100"),
    case("migrate", "new", "!!!", "--sql-dir", "{dir}", says="bad migration name"),
]
