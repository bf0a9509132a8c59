"""pbl stats: tenant and --since echoes clipped, --ttl bounded."""

from tests.bad_input import case

CASES = [
    case("stats", "--tenant", "{long}", says="no tenant"),
    case("stats", "--tenant", "{tenant}", "--since", "{long}", "--no-cache", says="not a date"),
    case("stats", "--tenant", "{tenant}", "--ttl", "100000000000000000000", says="--ttl"),
    case("stats", "--tenant", "{tenant}", "--ttl", "2592001", says="--ttl"),
    case("stats", "--tenant", "{tenant}", "--ttl", "0", says="--ttl"),
]
CASES += [
    case("stats", "--tenant", "{tenant}", "--since", value, "--no-cache", says="out of range")
    for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-05:00")
]
