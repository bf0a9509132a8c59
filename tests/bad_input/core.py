"""Cases every command shares: the safety nets in pbl_db.cli (paths, text, echoes)."""

from tests.bad_input import case

CASES = [
    case("stats", "--tenant", "{long}", "--no-cache", says="no tenant"),
]
