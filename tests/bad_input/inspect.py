"""pbl activity cancel|terminate: a pid is an int4, checked before any SQL (dry run too); pbl tables
/ indexes: an unknown --schema is named."""

from tests.bad_input import case

BIG = "100000000000000000000"

CASES = [
    case(*argv, *extra, says="2147483647")
    for argv in (
        ("activity", "cancel", BIG),
        ("activity", "terminate", BIG),
        ("activity", "cancel", "2147483648"),
        ("activity", "terminate", "2147483648"),
        ("activity", "cancel", "0"),
    )
    for extra in ((), ("--dry-run",), ("--yes",))
]

CASES += [
    case(command, *option, says=says)
    for command in ("tables", "indexes")
    for option, says in (
        (("--schema", "nosuch"), "no schema 'nosuch'"),
        (("--schema", "{long}"), "no schema"),
        (("-n", "x'; select 1; --"), "no schema"),
    )
]
