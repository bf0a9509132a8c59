"""A pg_auto_failover formation on loopback for the tests: a monitor and two nodes.

Debian's `postgresql-NN-auto-failover` (with `pg-auto-failover-cli`) gives `pg_autoctl`, built
for one major (15 here). Each part runs as `pg_autoctl run` in a process group of its own, as
the `postgres` user when the tests run as root (PostgreSQL refuses root).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.postgres import free_port


class NoAutoFailover(Exception):
    """pg_autoctl or the PostgreSQL it was built for is missing."""


@dataclass
class Formation:
    root: Path
    bindir: Path
    user: str | None
    monitor_port: int
    node_ports: list[int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def autoctl(self, *args: str, timeout: float = 120) -> str:
        """Run pg_autoctl to completion; its stdout."""
        done = subprocess.run(
            ["pg_autoctl", *args],
            env=self._env(),
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_autoctl {' '.join(args)}: {done.stderr[-800:]}")
        return done.stdout

    def start(self, name: str, *args: str) -> None:
        """pg_autoctl in the background (create ... --run, or run), its log in root/name.log."""
        with (self.root / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            self.processes.append(
                subprocess.Popen(
                    ["pg_autoctl", *args],
                    env=self._env(),
                    user=self.user,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def state(self) -> list[dict]:  # type: ignore[type-arg]
        out = self.autoctl("show", "state", "--pgdata", str(self.root / "monitor"), "--json")
        return json.loads(out) if out.strip() else []

    def wait_for(self, roles: dict[str, str], timeout: float = 180) -> list[dict]:  # type: ignore[type-arg]
        """Until every named node reports and is assigned its role (e.g. node_1: primary)."""
        deadline = time.monotonic() + timeout
        nodes: list[dict] = []  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            try:
                nodes = self.state()
            except RuntimeError:
                nodes = []
            seen = {
                n["nodename"]: n["current_group_state"]
                for n in nodes
                if n["current_group_state"] == n["assigned_group_state"]
            }
            if all(seen.get(name) == role for name, role in roles.items()):
                return nodes
            time.sleep(0.5)
        raise TimeoutError(f"formation never reached {roles}: {nodes} (logs in {self.root})")

    def url(self, dbname: str = "postgres") -> str:
        """The formation's multi-host URL (target_session_attrs=read-write) for dbname, as
        the nodes' superuser (trust on loopback)."""
        from psycopg.conninfo import make_conninfo

        out = self.autoctl(
            "show", "uri", "--pgdata", str(self.root / "monitor"), "--formation", "default"
        )
        uri = next(w for w in out.split() if w.startswith("postgres://"))
        superuser = self.user or pwd.getpwuid(os.getuid()).pw_name
        return make_conninfo(uri, user=superuser, dbname=dbname)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PATH"] = f"{self.bindir}:{env.get('PATH', '')}"
        env["PG_CONFIG"] = str(self.bindir / "pg_config")
        # pg_autoctl keeps its state under XDG directories: inside the formation, not in ~root
        env["HOME"] = str(self.root)
        env["XDG_CONFIG_HOME"] = str(self.root / "xdg-config")
        env["XDG_DATA_HOME"] = str(self.root / "xdg-data")
        return env


def _bindir() -> Path:
    if not shutil.which("pg_autoctl"):
        raise NoAutoFailover("pg_autoctl is not installed (Debian: postgresql-15-auto-failover)")
    out = subprocess.run(
        ["pg_autoctl", "--version"], capture_output=True, text=True, check=False
    ).stdout
    major = "?"
    for line in out.splitlines():  # "compiled with PostgreSQL 15.0 (Debian 15.0-2) on ..."
        if line.startswith("compiled with PostgreSQL"):
            major = line.split()[3].split(".")[0]
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (bindir / "pg_ctl").exists():
        raise NoAutoFailover(f"pg_autoctl is built for PostgreSQL {major}, not installed here")
    return bindir


@contextmanager
def formation() -> Iterator[Formation]:
    """A monitor and two nodes (node_1 primary, node_2 secondary), trust auth on loopback."""
    bindir = _bindir()
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="pbl-autofailover-"))
    root.chmod(0o755)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    f = Formation(root, bindir, user, free_port(), [free_port(), free_port()])
    common = ["--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"]
    try:
        f.autoctl(
            "create", "monitor", "--pgdata", str(root / "monitor"),
            "--pgport", str(f.monitor_port), *common,
        )  # fmt: skip
        f.start("monitor", "run", "--pgdata", str(root / "monitor"))
        monitor = f"postgres://autoctl_node@127.0.0.1:{f.monitor_port}/pg_auto_failover"
        for i, port in enumerate(f.node_ports, start=1):
            f.start(
                f"node{i}", "create", "postgres", "--pgdata", str(root / f"node{i}"),
                "--pgport", str(port), "--name", f"node_{i}", "--monitor", monitor,
                *common, "--run",
            )  # fmt: skip
            f.wait_for(
                {"node_1": "single"} if i == 1 else {"node_1": "primary", "node_2": "secondary"}
            )
        yield f
    finally:
        for name in ("node2", "node1", "monitor"):
            if (root / name).exists():
                subprocess.run(
                    ["pg_autoctl", "stop", "--pgdata", str(root / name), "--immediate"],
                    env=f._env(),
                    user=user,
                    capture_output=True,
                    check=False,
                    timeout=60,
                )
        for process in f.processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
