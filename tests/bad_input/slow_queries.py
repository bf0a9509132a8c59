"""pbl slow-queries: log paths said for what they are, durations bounded, echoes clipped.

A FIFO is a legitimate --from-log (a log streamed in, `--from-log <(zcat ...)`), so it has no
refusal case here; a .gz that is not gzip and a log with absurd durations are in
tests/test_slow_queries.py (they need file contents)."""

from tests.bad_input import case

BIG = "100000000000000000000"

CASES = [
    case("slow-queries", "--from-log", "{dir}", says="is a directory"),
    case("slow-queries", "--from-log", "{missing}", says="does not exist"),
    case("slow-queries", "--from-log", "{file}", says="no statement durations"),
    case("slow-queries", "--from-log", "{file}", "--order-by", "{long}", says="--order-by"),
    case("slow-queries", "--from-log", "{file}", "--format", "{long}", says="--format"),
    case("slow-queries", "--from-log", "{file}", "--log-database", "{long}", says="databases"),
    case("slow-queries", "--order-by", "{long}", says="--order-by"),
    case("slow-queries", "--top", BIG, says="--top"),
    case("slow-queries", "--min-calls", BIG, says="--min-calls"),
    case("slow-queries", "snapshot", "delete", "{long}", says="snapshot"),
    case("slow-queries", "snapshot", "--label", "{long}", says="--label"),
    *[
        case("slow-queries", "enable", "--min-duration", value, *extra, says=says)
        for value, says in (
            (f"{BIG}h", "too long; at most 24 days"),
            ("9" * 400, "too long; at most 24 days"),
            ("25d", "is not a duration"),
            ("3000000s", "too long; at most 24 days"),
            ("{long}", "is not a duration"),
            ("-5ms", "is not a duration"),
        )
        for extra in ((), ("--dry-run",))
    ],
]
CASES += [
    case("slow-queries", "--since", "100000000000000000000", says="no snapshot"),
    case("slow-queries", "snapshot", "delete", "9223372036854775808", says="no snapshot"),
]
