"""Files pbl writes whole or not at all: secrets and personal data (never readable by others),
and pages to share. The target must be a regular file or absent: renaming over a device, FIFO
or socket would replace it (as root, `/dev/null` itself)."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from pbl_db.errors import ConfigError, shown

# errors that mean "this path cannot be written here" (the user's to fix), not a failed write
_PATH_ERRORS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.ELOOP,
}


def special_kind(path: Path) -> str | None:
    """What is at path when it is neither absent nor a regular file ("a directory", "a FIFO"...),
    else None. Follows symlinks, as the write would."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_special(path: Path) -> None:
    try:
        kind = special_kind(path)
    except OSError as exc:
        raise _path_error(path, exc) from None
    if kind:
        raise ConfigError(
            f"{shown(path)} is {kind}, not a regular file: pbl does not write over it",
            "give the name of a regular file, or one that does not exist yet",
        )


def _path_error(path: Path, exc: OSError) -> ConfigError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return ConfigError(f"cannot write {shown(path)}: {reason.lower()}", "check the path")


def write_file(path: Path, text: str, *, mode: int = 0o600, replace: bool = True) -> None:
    """Write `text` atomically with `mode` from the first byte, whatever the umask: a temporary
    name in the same directory, fsync, then rename over `path`; nothing is left behind on
    failure. Refuses a target that is not a regular file, and (replace=False) one that exists."""
    _refuse_special(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
    except OSError as exc:
        if exc.errno in _PATH_ERRORS:
            raise _path_error(path, exc) from None
        raise
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        _refuse_special(path)  # again: it may have appeared while we wrote
        if not replace and os.path.lexists(path):
            raise ConfigError(f"{shown(path)} exists", "remove it or choose another name")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_private(path: Path, text: str, *, replace: bool = True) -> None:
    """Write `text` atomically with mode 0600 from the first byte (see write_file)."""
    write_file(path, text, mode=0o600, replace=replace)
