"""Domain errors and the exit codes they map to (the table in docs/cli.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the operation ran and failed (SQL error, verification failed)
    USAGE = 2  # bad option, bad configuration, missing file or directory
    CONNECT = 3  # cannot connect: unreachable, authentication, missing database
    REFUSED = 4  # refused for safety: drift, missing rollback, TLS required, ...
    BUSY = 5  # a lock could not be had in time; nothing changed, retry later
    STANDBY = 6  # the command writes and the target is a standby (read-only); nothing changed
    INTERRUPTED = 130


class PblError(Exception):
    """An error meant for the operator: one line, what went wrong and what to do."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class OperationFailed(PblError):
    exit_code = ExitCode.FAILED


class ConfigError(PblError):
    exit_code = ExitCode.USAGE


class ConnectError(PblError):
    exit_code = ExitCode.CONNECT


class RefusedError(PblError):
    exit_code = ExitCode.REFUSED


class BusyError(PblError):
    exit_code = ExitCode.BUSY


class StandbyError(PblError):
    exit_code = ExitCode.STANDBY


ECHO_LIMIT = 80


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """A user-given value as an error may echo it: at most `limit` characters (then "..."),
    with characters that cannot be printed (control codes, undecodable bytes) escaped."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8").translate(_CONTROLS)


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
