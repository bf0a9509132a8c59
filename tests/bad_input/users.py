"""pbl users: lock --for, and create's checks before any password is read."""

from tests.bad_input import case

_BOTH = ((), ("--dry-run",))
_HUGE = "100000000000000000000"
_LOCK = ("users", "lock", "u1@example.com", "--tenant", "{tenant}", "--for")
_CREATE = ("users", "create", "--tenant", "{tenant}", "--email")

CASES = [
    *[
        case(*_LOCK, value, *dry, says="at most 3650 days")
        for value in (f"{_HUGE}h", "99999999d", "1" * 400)
        for dry in _BOTH
    ],
    *[case(*_LOCK, "{long}", *dry, says="bad --for") for dry in _BOTH],
    # no stdin at all: the error is about the option, not the missing password
    *[case(*_CREATE, "x@example.com", "--role", "{long}", *dry, says="role") for dry in _BOTH],
    *[case(*_CREATE, "not-an-email", *dry, says="not an email") for dry in _BOTH],
    *[case(*_CREATE, "{long}", *dry, says="not an email") for dry in _BOTH],
    *[
        case(*_CREATE, "x@example.com", "--first-name", "{long}", *dry, says="--first")
        for dry in _BOTH
    ],
    *[
        case(
            "users",
            "create",
            "--tenant",
            "{long}",
            "--email",
            "x@example.com",
            *dry,
            says="no tenant",
        )
        for dry in _BOTH
    ],
]
