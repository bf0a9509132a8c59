"""pbl gdpr: the subject, --out and the key file checked before any personal data is read;
an email (personal data) is never echoed."""

from tests.bad_input import case

EMAIL = ("--email", "owner@example.com")
REASON = ("--reason", "ticket 1")

CASES = [
    *(
        case("gdpr", "export", *EMAIL, "--out", path, says=says)
        for path, says in (
            ("{dir}", "is a directory"),
            ("{fifo}", "is a FIFO"),
            ("/dev/null", "character device"),
            ("{file}", "personal data"),
            ("{missing}/x.json", "does not exist"),
            ("{file}/x.json", "is not a directory"),
            ("{tmp}/{long}.json", "too long"),
        )
    ),
    *(
        case("gdpr", *argv, "--email", email, says="not an email address")
        for argv in (("export",), ("erase", *REASON), ("erase", *REASON, "--dry-run"))
        for email in ("{long}@x.com", "a\x00b@x.com", "a\udcffb@x.com", "no-at-sign")
    ),
    *(
        case("gdpr", *argv, "--key-file", path, says=says)
        for argv in (("export", *EMAIL), ("erase", *EMAIL, *REASON, "--dry-run"))
        for path, says in (
            ("{dir}", "is a directory"),
            ("{missing}", "does not exist"),
            ("{fifo}", "not a regular file"),
            ("", "empty"),
        )
    ),
    case("gdpr", "export", *EMAIL, "--tenant", "{long}", says="no tenant"),
    case("gdpr", "erase", *EMAIL, *REASON, "--tenant", "{long}", "--dry-run", says="no tenant"),
]
