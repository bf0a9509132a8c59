"""pbl local. Its one input is PBL_HOME, an environment variable these argv tables cannot set:
the PBL_HOME cases (a file, under a file) are in tests/test_embedded.py."""

from tests.bad_input import case

CASES = [
    case("local", "status", "--port", "1", says="no such option"),
]
