"""pbl partitions: --lock-timeout, the same rules as every timeout."""

from tests.bad_input import case

_BOTH = ((), ("--dry-run",))

CASES = [
    *[
        case("partitions", command, "--lock-timeout", value, *dry, says="bad --lock-timeout")
        for command in ("ensure", "repair")
        for value in ("100000000000000000000h", "3000000s", "-5s", "abc", "nan", "{long}")
        for dry in _BOTH
    ],
    *[
        case("partitions", "ensure", option, "-1", *dry, says=">= 0")
        for option in ("--months-ahead", "--months-back")
        for dry in _BOTH
    ],
]
