"""pbl replica create: everything is checked before "copying ..." and pg_basebackup."""

from tests.bad_input import case

CREATE = ("replica", "create", "--data-dir")

CASES = [
    case(*CREATE, "{tmp}/rx", "--wait", "nan", says="--wait"),
    case(*CREATE, "{tmp}/rx", "--wait", "inf", says="--wait"),
    case(*CREATE, "{tmp}/rx", "--wait", "0", says="--wait"),
    case(*CREATE, "{tmp}/rx", "--port", "0", says="--port"),
    case(*CREATE, "{tmp}/rx", "--port", "100000000000000000000", says="--port"),
    case(*CREATE, "{tmp}/rx", "--slot", "Bad-Slot", says="not a replication slot name"),
    case(*CREATE, "{tmp}/rx", "--slot", "{long}", says="not a replication slot name"),
    case(*CREATE, "{file}", says="is not a directory"),
    case(*CREATE, "{file}/sub", says="is not a directory"),
    case(*CREATE, "{tmp}/{long}", says="name is too long"),
    case(*CREATE, "{tmp}", code=4, says="not an empty directory"),
]
