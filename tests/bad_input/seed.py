"""pbl seed: demo counts, months and anchor; --specific; --sql-dir."""

from tests.bad_input import case

_HUGE = "100000000000000000000"
_SMALL = ("--tenants", "1", "--applications", "1", "--devices", "0", "--audit-logs", "1")

CASES = [
    case("seed", "demo", "--months", _HUGE, *_SMALL, says="--months"),
    case("seed", "demo", "--months", "100000", *_SMALL, "--random-seed", "7", says="--months"),
    case("seed", "demo", "--months", "0", *_SMALL, says="--months"),
    case("seed", "demo", "--anchor", "9999-12-31T00:00:00+00:00", *_SMALL, says="100 years"),
    case("seed", "demo", "--anchor", "0001-01-01T00:00:00+00:00", *_SMALL, says="100 years"),
    case("seed", "demo", "--anchor", "{long}", *_SMALL, says="not an ISO timestamp"),
    case("seed", "demo", "--anchor", "2026-11-01T00:00:00", *_SMALL, says="time zone"),
    *[
        case("seed", "demo", option, value, says=option)
        for option in ("--applications", "--devices", "--audit-logs")
        for value in (_HUGE, "10000001", "-1")
    ],
    case("seed", "demo", "--tenants", "10001", says="--tenants"),
    case("seed", "demo", "--random-seed", _HUGE, says="--random-seed"),
    case("seed", "--specific", "{long}", says="no seed named"),
    case("seed", "list", "--sql-dir", "{file}", says="is not a directory"),
    case("seed", "list", "--sql-dir", "{tmp}/{long}", says="too long"),
]
