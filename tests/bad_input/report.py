"""pbl report: --html checked before anything is collected or recorded."""

from tests.bad_input import case

CASES = [
    *(
        case("report", "--html", path, *record, says=says)
        for path, says in (
            ("{dir}", "is a directory"),
            ("{fifo}", "is a FIFO"),
            ("/dev/null", "character device"),
            ("{file}", "not a page pbl report wrote"),
            ("{missing}/r.html", "does not exist"),
            ("{file}/r.html", "is not a directory"),
            ("{tmp}/{long}.html", "too long"),
        )
        for record in ((), ("--no-record",))
    ),
    case("report", "--html", "{tmp}/r.html", "--top", "100000000000000000000", says="range"),
    case("report", "--html", "{tmp}/r.html", "--top", "0", says="range"),
]
