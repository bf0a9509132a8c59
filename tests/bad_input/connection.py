"""Database URLs given with --database-url: malformed values are exit 2 (never an internal
error), unreachable ones exit 3; no password and no long value is echoed."""

from tests.bad_input import case

SECRET = "Sup3rS3cret"

URL = ("tables", "--database-url")

CASES = [
    case(
        *URL,
        f"postgresql://postgres:{SECRET}@nohost.invalid/x?connect_timeout=abc",
        says="malformed database URL: connect_timeout=abc",
    ),
    case(*URL, "postgresql://u@h/x?connect_timeout=1e999", says="connect_timeout"),
    case(*URL, "postgresql://postgres:pw@{long}/x", says="host"),
    case(*URL, "postgresql://u@a..b/x", says="not a valid host name"),
    case(*URL, "postgresql://u@h:{long}/x", says="malformed database URL"),
    case(*URL, "{long}://u@h/x", says="scheme"),
    case(*URL, "postgresql://u@/su\udcffrvey", says="UTF-8"),
    case(*URL, "postgresql://{long}:pw@127.0.0.1:1/x", code=3, says="cannot connect"),
]
