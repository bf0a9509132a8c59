"""pbl audit: user values in errors clipped; --period checked before anything else."""

from tests.bad_input import case

CASES = [
    case("audit", "verify", "--tenant", "{long}", says="no tenant"),
    case("audit", "verify", "--since", "{long}", says="not an ISO timestamp"),
    case("audit", "verify", "--since", "2026-01-01T00:00:00", says="needs a time zone"),
    case("audit", "seal", "--period", "{long}", "--dry-run", says="--period"),
    case("audit", "seal", "--period", "{long}", says="--period"),
    case("audit", "seal", "--until", "{long}", "--dry-run", says="not an ISO timestamp"),
    case("audit", "proof", "{long}", says="not an audit row id"),
    case("audit", "verify", "--jobs", "65", says="--jobs"),
]
