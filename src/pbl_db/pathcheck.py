"""Path options checked before any work starts: one ConfigError (exit 2) naming the option, the
path and what is wrong with it, instead of an OSError halfway through."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pbl_db.errors import ConfigError, shown
from pbl_db.files import special_kind


def _what(path: Path) -> str | None:
    """What is at path when it is not a regular file or directory, else None."""
    try:
        kind = special_kind(path)
    except OSError:
        return None
    return None if kind == "a directory" else kind


def _stat_error(path: Path, option: str, exc: OSError) -> ConfigError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno == errno.ENAMETOOLONG:
        return ConfigError(f"{option} {shown(path)}: the name is too long", "use a shorter path")
    return ConfigError(f"{option} {shown(path)}: {reason.lower()}", "check the path")


def _writable_dir(path: Path, option: str) -> None:
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{option} {shown(path)}: directory is not writable by this user",
            "choose another directory or fix its permissions",
        )


def existing_dir(path: str | os.PathLike[str], option: str) -> Path:
    """A directory that must exist already (a repository to read, a data directory)."""
    target = Path(path).expanduser()
    try:
        if target.is_dir():
            return target
        exists = target.exists()
    except OSError as exc:
        raise _stat_error(target, option, exc) from None
    if exists:
        raise ConfigError(f"{option} {shown(target)} is not a directory", "give a directory")
    raise ConfigError(f"{option} {shown(target)} does not exist", "check the path")


def output_dir(path: str | os.PathLike[str], option: str, create: bool = True) -> Path:
    """A directory to write into: an existing writable directory, or (create=True) one that can
    be made below its nearest existing ancestor. Nothing is created here."""
    target = Path(path).expanduser()
    try:
        if target.is_dir():
            _writable_dir(target, option)
            return target
        if target.exists() or target.is_symlink():
            raise ConfigError(
                f"{option} {shown(target)} is not a directory",
                "give a directory, or a path that does not exist yet",
            )
        ancestor = target.absolute().parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
    except OSError as exc:
        raise _stat_error(target, option, exc) from None
    if not create:
        raise ConfigError(f"{option} {shown(target)} does not exist", "create it first")
    if not ancestor.is_dir():
        raise ConfigError(
            f"{option} {shown(target)}: {shown(ancestor)} is not a directory", "check the path"
        )
    _writable_dir(ancestor, option)
    return target


def output_file(path: str | os.PathLike[str], option: str, *, overwrite: bool = True) -> Path:
    """A file to write (replaced whole, by rename): its directory must exist and be writable;
    the path must not be a directory or a device, FIFO or socket (renaming over /dev/null would
    replace the device). An existing regular file is refused unless overwrite."""
    target = Path(path).expanduser()
    try:
        if target.is_dir():
            raise ConfigError(f"{option} {shown(target)} is a directory", "give a file name")
        special = _what(target)
        if special:
            raise ConfigError(
                f"{option} {shown(target)} is {special}, not a regular file",
                "give a regular file name",
            )
        if target.exists() and not overwrite:
            raise ConfigError(
                f"{option} {shown(target)} exists", "remove it, choose another name or pass --force"
            )
        parent = target.absolute().parent
        if not parent.is_dir():
            problem = "is not a directory" if parent.exists() else "(its directory) does not exist"
            raise ConfigError(
                f"{option} {shown(target)}: {shown(parent)} {problem}",
                "create the directory first or choose another path",
            )
    except OSError as exc:
        raise _stat_error(target, option, exc) from None
    if len(target.name.encode()) > 200:  # room for the temporary name beside it
        raise ConfigError(f"{option} {shown(target)}: the name is too long", "use a shorter name")
    _writable_dir(parent, option)
    return target


def input_file(path: str | os.PathLike[str], option: str) -> Path:
    """A file to read: it must exist, be a regular file (or a FIFO) and be readable."""
    target = Path(path).expanduser()
    try:
        if target.is_dir():
            raise ConfigError(f"{option} {shown(target)} is a directory", "give a file")
        if not target.exists():
            raise ConfigError(f"{option} {shown(target)} does not exist", "check the path")
        special = _what(target)
        if special and special != "a FIFO":
            raise ConfigError(f"{option} {shown(target)} is {special}", "give a regular file")
    except OSError as exc:
        raise _stat_error(target, option, exc) from None
    if not os.access(target, os.R_OK):
        raise ConfigError(f"{option} {shown(target)} is not readable", "fix its permissions")
    return target
