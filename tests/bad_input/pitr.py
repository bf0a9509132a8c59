"""pbl pitr: --archive-dir, --dest for base backups and restores, --port, --target-time,
--backup. Nothing here reaches ALTER SYSTEM or pg_basebackup."""

from tests.bad_input import case

WHEN = "2026-11-26 14:05:00+00"
HUGE = "100000000000000000000"

CASES = [
    case("pitr", "enable", "--archive-dir", "/", says="root directory"),
    case("pitr", "enable", "--archive-dir", "//", says="root directory"),
    case("pitr", "enable", "--archive-dir", "/tmp/..", says="root directory"),
    case("pitr", "enable", "--archive-dir", "wal", says="relative"),
    case("pitr", "enable", "--archive-dir", "", says="relative"),
    case("pitr", "enable", "--archive-dir", "{file}", says="is not a directory"),
    case("pitr", "enable", "--archive-dir", "{file}/wal", says="is not a directory"),
    case("pitr", "enable", "--archive-dir", "{tmp}/{long}", says="name is too long"),
    case("pitr", "base-backup", "--dest", "{file}", says="is not a directory"),
    case("pitr", "base-backup", "--dest", "{file}/bb", says="is not a directory"),
    case("pitr", "base-backup", "--dest", "{tmp}/{long}", says="name is too long"),
]

AT = ("pitr", "restore", "--target-time")
RESTORE = (*AT, WHEN, "--data-dir", "{tmp}/restored")
CASES += [
    case(*RESTORE, "--dest", "{file}", says="is not a directory"),
    case(*RESTORE, "--dest", "{missing}", says="does not exist"),
    case(*RESTORE, "--dest", "{dir}", says="no base backup"),
    case(*RESTORE, "--dest", "{dir}", "--port", "-1", "--start", says="--port"),
    case(*RESTORE, "--dest", "{dir}", "--port", "0", "--start", says="--port"),
    case(*RESTORE, "--dest", "{dir}", "--port", HUGE, "--start", says="--port"),
    case(*RESTORE, "--dest", "{dir}", "--backup", "{long}", says="not a backup id"),
    case(*RESTORE, "--dest", "{dir}", "--archive-dir", "/", says="root directory"),
    case(*RESTORE, "--dest", "{dir}", "--archive-dir", "rel", says="relative"),
    case(*AT, WHEN, "--data-dir", "{file}", "--dest", "{dir}", says="is not a directory"),
    case(*AT, "{long}", "--data-dir", "{tmp}/r", "--dest", "{dir}", says="not a timestamp"),
]
