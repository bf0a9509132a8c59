"""pbl tune: --set values judged as the server would (dry run and real run alike), bounded
--cpus/--connections/--memory/--change/--limit, unknown names refused."""

from tests.bad_input import case

BIG = "100000000000000000000"
APPLY = ("tune", "apply", "--memory", "4GB", "--cpus", "2")


def _both(*argv: str, says: str) -> list:
    """The same refusal with and without --dry-run."""
    return [case(*argv, says=says), case(*argv, "--dry-run", says=says)]


CASES = [
    *_both(*APPLY, "--set", "work_mem=banana", "--only", "work_mem", says="work_mem takes"),
    *_both(*APPLY, "--set", "work_mem=-5MB", "--only", "work_mem", says="outside the allowed"),
    *_both(*APPLY, "--set", "work_mem=3TB", "--only", "work_mem", says="outside the allowed"),
    *_both(*APPLY, "--set", "work_mem=64XB", "--only", "work_mem", says="with a valid unit"),
    *_both(
        *APPLY, "--set", "shared_buffers=lots", "--only", "shared_buffers", says="shared_buffers"
    ),
    *_both(*APPLY, "--set", "jit=maybe", "--only", "jit", says="not a boolean"),
    *_both(*APPLY, "--set", "wal_level=bogus", "--only", "wal_level", says="use one of"),
    *_both(*APPLY, "--set", "random_page_cost=nan", "--only", "random_page_cost", says="a number"),
    *_both(*APPLY, "--set", "block_size=4096", "--only", "block_size", says="cannot be set"),
    *_both(*APPLY, "--set", "no_such_setting=1", says="not a setting of PostgreSQL"),
    *_both(*APPLY, "--set", "{long}=1", says="not a setting"),
    *_both(*APPLY, "--set", "work_mem={long}", "--only", "work_mem", says="work_mem"),
    *_both(*APPLY, "--only", "{long}", says="not among"),
    *_both("tune", "apply", "--memory", "4GB", "--cpus", BIG, says="--cpus"),
    *_both("tune", "apply", "--memory", "4GB", "--cpus", "1025", says="--cpus"),
    *_both("tune", "apply", "--memory", "4GB", "--connections", BIG, says="--connections"),
    *_both("tune", "apply", "--memory", "4GB", "--connections", "10001", says="--connections"),
    *_both("tune", "apply", "--memory", f"{BIG}GB", says="beyond 16TB"),
    *_both("tune", "apply", "--memory", "17TB", says="beyond 16TB"),
    *_both("tune", "apply", "--memory", "{long}", says="is not a size"),
    *_both("tune", "apply", "--memory", "9" * 400 + "GB", says="beyond 16TB"),
    case("tune", "show", "--memory", "4GB", "--set", "nosuch_setting=1", says="not a setting"),
    case("tune", "show", "--memory", "4GB", "--set", "{long}=1", says="not a setting"),
    case("tune", "show", "--memory", "4GB", "--set", "{long}", says="is not NAME=VALUE"),
    case("tune", "show", "--memory", "4GB", "--set", "work_mem=banana", says="work_mem takes"),
    case("tune", "show", "--memory", "{long}", says="is not a size"),
    *_both("tune", "revert", "--change", BIG, says="--change"),
    *_both("tune", "revert", "--change", "9223372036854775808", says="--change"),
    case("tune", "history", "--limit", BIG, says="--limit"),
    case("tune", "history", "--limit", "9223372036854775808", says="--limit"),
]
