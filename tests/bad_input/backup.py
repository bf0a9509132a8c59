"""pbl backup: --dest (a file, under a file, too long, missing for reading), backup ids,
--jobs, --compress, --for-major, --target-db, --key-file."""

from tests.bad_input import case

ID = "20261204T182608Z"
HUGE = "100000000000000000000"
IN_DIR = ("--dest", "{dir}")

CASES = [
    # --dest for create: must be a directory, or a path that can become one
    case("backup", "create", "--dest", "{file}", says="is not a directory"),
    case("backup", "create", "--dest", "{file}/sub", says="is not a directory"),
    case("backup", "create", "--dest", "{tmp}/{long}", says="name is too long"),
    case("backup", "create", "--dest", "{fifo}", says="is not a directory"),
    # numbers and compression, refused before pg_dump starts
    case("backup", "create", "--jobs", HUGE, says="--jobs"),
    case("backup", "create", "--jobs", "257", says="--jobs"),
    case("backup", "create", "--jobs", "-1", says="--jobs"),
    case("backup", "create", "--compress", f"gzip:{HUGE}", says="out of range"),
    case("backup", "create", "--compress", "gzip:-1", says="out of range"),
    case("backup", "create", "--compress", "gzip:0", says="out of range"),
    case("backup", "create", "--compress", "gzip:10", says="out of range"),
    case("backup", "create", "--compress", "zstd:20", says="out of range"),
    case("backup", "create", "--compress", "lz4:13", says="out of range"),
    case("backup", "create", "--compress", "gzip:abc", says="not a number"),
    case("backup", "create", "--compress", "none:3", says="takes no level"),
    case("backup", "create", "--compress", "{long}", says="unknown compression"),
    case("backup", "create", "--compress", "gzip:{long}", says="not a number"),
    case("backup", "create", "--format", "{long}", says="unknown format"),
    case("backup", "create", "--for-major", HUGE, says="--for-major"),
    case("backup", "create", "--for-major", "100", says="--for-major"),
    case("backup", "create", "--encrypt", "--key-file", "{missing}", says="does not exist"),
    case("backup", "create", "--encrypt", "--key-file", "{dir}", says="is a directory"),
    # --dest / PBL_BACKUP_DIR to read: a file or a missing directory is an error
    case("backup", "list", "--dest", "{file}", says="is not a directory"),
    case("backup", "list", "--dest", "{missing}", says="does not exist"),
    case("backup", "list", says="PBL_BACKUP_DIR", name="backup list PBL_BACKUP_DIR missing"),
    case("backup", "list", "--dest", "{tmp}/{long}", says="name is too long"),
    case("backup", "prune", "--dest", "{file}", says="is not a directory"),
    case("backup", "prune", "--dest", "{file}", "--dry-run", says="is not a directory"),
    case("backup", "prune", "--dest", "{missing}", "--dry-run", says="does not exist"),
    case("backup", "prune", "--keep-daily", HUGE, "--dry-run", says="--keep-daily"),
    case("backup", "verify", ID, "--dest", "{file}", says="is not a directory"),
    case("backup", "verify", ID, says="does not exist", name="backup verify, no backup dir"),
    # backup ids are checked before any path is built from them
    case("backup", "verify", "{long}", "--dest", "{dir}", says="not a backup id"),
    case("backup", "verify", "{long}", says="not a backup id"),
    case("backup", "verify", "../etc", "--dest", "{dir}", says="not a backup id"),
    case("backup", "verify", ID, "--dest", "{dir}", says="no backup"),
    # an explicit --key-file must be usable
    case("backup", "verify", ID, "--dest", "{dir}", "--key-file", "{missing}", says="--key-file"),
    case("backup", "verify", ID, "--dest", "{dir}", "--key-file", "{dir}", says="is a directory"),
    case("backup", "verify", ID, *IN_DIR, "--key-file", "{file}", code=4, says="chmod 600"),
]

RESTORE = ("backup", "restore")
for dry in ((), ("--dry-run",)):
    CASES += [
        case(*RESTORE, "{long}", "--target-db", "r1", *dry, says="not a backup id"),
        case(*RESTORE, ID, "--target-db", "{long}", "--dest", "{dir}", *dry, says="63 bytes"),
        case(*RESTORE, ID, "--target-db", "é" * 32, "--dest", "{dir}", *dry, says="63 bytes"),
        case(*RESTORE, ID, "--target-db", "a b", "--dest", "{dir}", *dry, says="not a valid"),
        case(*RESTORE, ID, "--target-db", "dbname=x", "--dest", "{dir}", *dry, says="not a valid"),
        case(*RESTORE, ID, "--target-db", "", "--dest", "{dir}", *dry, says="not a valid"),
        case(*RESTORE, ID, "--target-db", "template1", "--dest", "{dir}", *dry, says="template"),
        case(*RESTORE, ID, "--target-db", "r1", "--jobs", HUGE, *dry, says="--jobs"),
        case(*RESTORE, ID, "--target-db", "r1", "--jobs", "257", *dry, says="--jobs"),
        case(*RESTORE, ID, "--target-db", "r1", "--dest", "{file}", *dry, says="not a directory"),
        case(*RESTORE, ID, "--target-db", "r1", "--dest", "{missing}", *dry, says="not exist"),
        case(
            *RESTORE, ID, "--target-db", "r1", *IN_DIR, "--key-file", "{missing}", *dry, says="key"
        ),
        case(*RESTORE, ID, "--target-db", "r1", "--dest", "{dir}", *dry, says="no backup"),
    ]
