"""A local cluster on one machine: N `assist serve` replicas on one PostgreSQL database behind nginx.

The layout of docs/deploy.md and deploy/compose.yaml, on loopback ports instead of hosts: each replica is its
own process with its own data directory and the same ASSIST_DATABASE_URL; nginx (Debian's) balances them round
robin with no stickiness, from the same deploy/nginx.conf the compose file mounts. Used by the cluster test
(tests/cluster/) and by `benchmarks/bench_calls.py --replicas N`.

    with scratch_database(admin_url, "assist_cluster_x") as url, LocalCluster(work, url, replicas=2) as cluster:
        cluster.base_url         # the balancer
        cluster.replicas[1].kill()  # SIGKILL
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
NGINX_SITE = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str | None:
    """Debian's nginx, if installed (it lives in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assist_command() -> list[str]:
    """The `assist` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("assist")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from assist.cli import main; main()"]


@contextmanager
def scratch_database(admin_url: str, name: str) -> Iterator[str]:
    """A new, empty database `name` on the server of `admin_url`, dropped afterwards; yields its URL."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name must be letters, digits and _, got {name!r}")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()


def render_site(*, listen: str, upstreams: list[str], access_log: Path | str) -> str:
    """deploy/nginx.conf with its variables filled in, as the nginx image's templates would be."""
    servers = " ".join(f"server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
    values = {"ASSIST_LB_LISTEN": listen, "ASSIST_UPSTREAM_SERVERS": servers, "ASSIST_LB_ACCESS_LOG": str(access_log)}
    return string.Template(NGINX_SITE.read_text(encoding="utf-8")).safe_substitute(values)


def main_conf(work: Path, site: Path) -> str:
    """A minimal nginx.conf that runs in the foreground from `work` and includes the site."""
    tmp = work / "tmp"
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private temp dirs
    temps = "".join(
        f"    {kind}_temp_path {tmp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {work / 'nginx.pid'};\n"
        f"error_log {work / 'nginx-error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n{temps}    include {site};\n}}\n"
    )


def listens(pid: int, port: int) -> bool:
    """True when process `pid` holds the listening TCP socket on `port` (Linux /proc; True where it cannot tell).

    A free port is picked before the replica binds it, which it does only once its start-up is done; on a
    machine where other programs pick free ports too, something else may answer there meanwhile.
    """
    try:
        tables = Path("/proc/net/tcp").read_text() + Path("/proc/net/tcp6").read_text()
        entries = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return True
    fds = []
    for entry in entries:
        try:
            fds.append(os.readlink(entry))
        except OSError:  # closed meanwhile
            continue
    inodes = {
        f"socket:[{cols[9]}]"
        for line in tables.splitlines()[1:]
        if len(cols := line.split()) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port
    }
    return any(fd in inodes for fd in fds)


def wait_until(predicate, *, timeout_s: float, what: str, every_s: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is true; TimeoutError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} after {timeout_s:g} s")
        time.sleep(every_s)  # polling a condition, with a deadline


def answers(url: str, status: int = 200) -> bool:
    """True when GET `url` answers `status`."""
    try:
        return httpx.get(url, timeout=2.0).status_code == status
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class LogLine:
    """One request in the balancer's log: when it ended (epoch seconds), what, and the replicas it went to."""

    at: float
    method: str
    path: str
    status: int
    upstreams: list[str]  # more than one when a replica refused it and the next one answered


@dataclass
class Replica:
    """One `assist serve` process: its port, its own data directory and its log."""

    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    cpus: str | None = None  # taskset's CPU list, e.g. "0": the replica runs on those cores only

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    def start(self) -> None:
        """Start `assist serve` (migrations first, under the database's lock, then the server)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [*assist_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.cpus is not None:
            cmd = ["taskset", "-c", self.cpus, *cmd]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        """Wait for 200 on /readyz; RuntimeError with the log's tail if the process exits first."""

        def ready() -> bool:
            if not self.alive():
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"replica {self.name} exited ({self.proc and self.proc.returncode}):\n{tail}")
            return answers(f"{self.url}/readyz") and self.proc is not None and listens(self.proc.pid, self.port)

        wait_until(ready, timeout_s=timeout_s, what=f"{self.name} ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to its sockets, as when a host dies."""
        if self.proc is not None and self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class LocalCluster:
    """N replicas and nginx in `work`; start() brings them up, close() takes everything down.

    Args:
        work: a private directory for the replicas' data dirs, the logs and nginx's files.
        database_url: the one PostgreSQL database every replica uses.
        replicas: how many `assist serve` processes.
        env: extra environment of every replica (e.g. ASSIST_EMBEDDERS=hash).
        cpus: taskset's CPU list for every replica (None: any core).
    """

    work: Path
    database_url: str
    replicas_n: int = 2
    env: dict[str, str] = field(default_factory=dict)
    cpus: str | None = None
    ready_timeout_s: float = 300.0
    replicas: list[Replica] = field(default_factory=list)
    lb_port: int = 0
    nginx: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if self.replicas_n < 1:
            raise ValueError(f"replicas must be at least 1, got {self.replicas_n}")
        base = {k: v for k, v in os.environ.items() if not k.startswith("ASSIST_")}
        base.update({"PYTHONUNBUFFERED": "1", **self.env, "ASSIST_DATABASE_URL": self.database_url})
        self.replicas = [
            Replica(f"replica{i}", free_port(), self.work / f"replica{i}" / "data", {**base}, cpus=self.cpus)
            for i in range(self.replicas_n)
        ]
        for r in self.replicas:
            r.env["ASSIST_DATA_DIR"] = str(r.data_dir)

    @property
    def base_url(self) -> str:
        """The balancer."""
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def access_log(self) -> Path:
        return self.work / "nginx-access.log"

    def ingest(self, *paths: Path, timeout_s: float = 900.0) -> None:
        """`assist ingest PATHS` into the shared database (from a data dir of its own), before start()."""
        env = {**self.replicas[0].env, "ASSIST_DATA_DIR": str(self.work / "ingest-data")}
        done = subprocess.run(
            [*assist_command(), "ingest", *map(str, paths)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise RuntimeError(f"assist ingest failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def start(self, timeout_s: float = 300.0) -> None:
        """Start every replica together (they migrate and seed under the database's lock), then nginx."""
        for r in self.replicas:
            r.start()
        for r in self.replicas:
            r.wait_ready(timeout_s)
        self.start_balancer(timeout_s)

    def start_balancer(self, timeout_s: float = 60.0) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.work / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        self.lb_port = free_port()
        site = self.work / "assist-site.conf"
        site.write_text(
            render_site(
                listen=f"127.0.0.1:{self.lb_port}",
                upstreams=[r.address for r in self.replicas],
                access_log=self.access_log,
            )
        )
        conf = self.work / "nginx.conf"
        conf.write_text(main_conf(self.work, site))
        log = (self.work / "nginx.out").open("ab")
        self.nginx = subprocess.Popen([binary, "-p", str(self.work), "-c", str(conf)], stdout=log, stderr=log)

        def up() -> bool:
            if self.nginx is not None and self.nginx.poll() is not None:
                out = (self.work / "nginx.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nginx exited ({self.nginx.returncode}):\n{out}")
            return answers(f"{self.base_url}/healthz")

        wait_until(up, timeout_s=timeout_s, what="the balancer up")

    def upstream_log(self) -> list[LogLine]:
        """The balancer's log so far, one LogLine per request (written when the request ends)."""
        rows = []
        if self.access_log.exists():
            for line in self.access_log.read_text(errors="replace").splitlines():
                parts = line.split(" ")
                if len(parts) >= 6 and parts[3].isdigit():
                    upstreams = [u.strip(",") for u in parts[4:-1] if u not in (":", "-")]
                    rows.append(LogLine(float(parts[0]), parts[1], parts[2], int(parts[3]), upstreams))
        return rows

    def close(self) -> None:
        """Stop nginx and every replica still running."""
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=10)
        for r in self.replicas:
            r.stop()

    def __enter__(self) -> LocalCluster:
        try:
            self.start(self.ready_timeout_s)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
