"""A real PostgreSQL cluster of our own on loopback: one etcd and three Patroni nodes (Debian's
`etcd-server` and `patroni`, PostgreSQL 15), synchronous replication, nothing kept afterwards.

PostgreSQL refuses to run as root, so when we are root every node runs as the `postgres` user,
in a temporary directory that user owns.

Synchronous mode with `synchronous_commit: on`: a commit returns once the synchronous standby
has flushed it to disk, and Patroni promotes only that standby, so every row a buyer was told
about survives the primary's death. `remote_apply` would only matter for reads on a standby
(we read from the primary alone); `remote_write` would lose commits if the standby's machine
died with the primary. Not strict: with one node left it takes writes alone rather than stop.
Here fsync is off (see `_config`): "on disk" then means in the page cache, which is all a test
that kills processes, never the machine, can tell apart; deploy/patroni/ keeps fsync on.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
import yaml

from tests.e2e.stack import free_port

BIN_DIR = "/usr/lib/postgresql/15/bin"
SCOPE = "marquee"
# Patroni's clock: the leader key lives `TTL` seconds unless renewed every `LOOP_WAIT`; a
# primary that vanishes is replaced after at most TTL + LOOP_WAIT. Patroni's defaults (30, 10)
# are for real networks; on loopback a test wants seconds. RETRY_TIMEOUT: loop_wait + 2 *
# retry_timeout must stay under the ttl, or a slow etcd demotes a healthy primary.
TTL = 8
LOOP_WAIT = 1
RETRY_TIMEOUT = 3


@dataclass
class PatroniNode:
    name: str
    port: int  # PostgreSQL
    api_port: int  # Patroni's REST API (8008 in production)
    data_dir: Path
    process: subprocess.Popen

    def role(self) -> str | None:
        """'primary', 'replica' or None when the node does not answer."""
        try:
            for role in ("primary", "replica"):
                url = f"http://127.0.0.1:{self.api_port}/{role}"
                if requests.get(url, timeout=1).status_code == 200:
                    return role
        except requests.RequestException:
            return None
        return None

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def alive(self) -> bool:
        return self.process.poll() is None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?connect_timeout=2"


@dataclass
class PatroniCluster:
    etcd: str  # its client URL
    nodes: list[PatroniNode] = field(default_factory=list)

    def hosts(self) -> str:
        """libpq's multi-host form: host=...,... port=...,..."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def url(self, database: str, *, user: str = "postgres") -> str:
        """A multi-host DATABASE_URL that finds the primary (libpq tries each in turn)."""
        hosts = ",".join("127.0.0.1" for _ in self.nodes)
        ports = ",".join(str(node.port) for node in self.nodes)
        return (
            f"postgresql://{user}@/{database}?host={hosts}&port={ports}"
            "&target_session_attrs=read-write"
        )

    def primary(self, timeout: float = 60) -> PatroniNode:
        """The node Patroni says is the primary, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.alive() and node.role() == "primary":
                    return node
            time.sleep(0.1)
        raise RuntimeError(f"no Patroni primary within {timeout} s")

    def replicas(self) -> list[PatroniNode]:
        return [node for node in self.nodes if node.alive() and node.role() == "replica"]

    def wait_replicas(self, count: int, timeout: float = 90) -> None:
        """Until `count` replicas stream from the primary, one of them synchronous."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.primary().dsn(), autocommit=True) as conn:
                    states = conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall()
                if len(states) >= count and ("sync",) in states:
                    return
            except psycopg.Error:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{count} replicas did not stream within {timeout} s")

    def kill(self, node: PatroniNode) -> None:
        """The node's machine dies: Patroni and PostgreSQL killed at once (SIGKILL), so that
        nobody shuts PostgreSQL down cleanly or gives up the leader key."""
        postmaster = node.postmaster_pid()
        node.process.kill()
        if postmaster:
            for pid in [postmaster, *_children(postmaster)]:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        node.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command may hold spaces and parentheses: the fields after its last ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _as_postgres() -> dict:
    """Popen's arguments to run a node as `postgres` when we are root (the process is then
    Patroni itself, not a `runuser` that a kill would leave its child behind)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _config(name: str, port: int, api_port: int, etcd: str, data_dir: Path, tmp: Path) -> dict:
    return {
        "scope": SCOPE,
        "name": name,
        "restapi": {"listen": f"127.0.0.1:{api_port}", "connect_address": f"127.0.0.1:{api_port}"},
        "etcd3": {"hosts": [etcd.removeprefix("http://")]},
        "bootstrap": {
            "dcs": {
                "ttl": TTL,
                "loop_wait": LOOP_WAIT,
                "retry_timeout": RETRY_TIMEOUT,
                "maximum_lag_on_failover": 1024 * 1024,
                "synchronous_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "parameters": {
                        "synchronous_commit": "on",
                        "wal_log_hints": "on",
                        "max_connections": 200,
                        # The test kills processes, never the machine: what PostgreSQL wrote is
                        # in the page cache either way, and fsync only slows every commit of
                        # the migrations and the rush on a shared disk.
                        "fsync": "off",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
            "pg_hba": [
                "local all all trust",
                "host replication replicator 127.0.0.1/32 trust",
                "host all all 127.0.0.1/32 trust",
            ],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{port}",
            "connect_address": f"127.0.0.1:{port}",
            "data_dir": str(data_dir),
            "bin_dir": BIN_DIR,
            "pgpass": str(tmp / f"{name}.pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": "postgres"},
                "replication": {"username": "replicator", "password": "replicator"},
                "rewind": {"username": "postgres", "password": "postgres"},
            },
            "parameters": {"unix_socket_directories": str(tmp)},
        },
    }


def available() -> str | None:
    """Why the cluster cannot run here, or None."""
    for tool in ("etcd", "patroni"):
        if not shutil.which(tool):
            return f"{tool} is not installed (.ci/run installs it)"
    if not Path(BIN_DIR, "postgres").exists():
        return f"PostgreSQL 15 is not in {BIN_DIR}"
    return None


@contextmanager
def patroni_cluster(*, nodes: int = 3, log_dir: str | None = None):
    """Start etcd and `nodes` Patroni nodes, wait for a primary and its streaming replicas;
    yields the PatroniCluster. Everything is killed and removed on the way out."""
    tmp = Path(tempfile.mkdtemp(prefix="patroni-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    processes: list[subprocess.Popen] = []
    cluster = None

    def output(name: str):
        if log_dir:
            return open(Path(log_dir) / f"{name}.log", "ab")
        return subprocess.DEVNULL

    try:
        client, peer = free_port(), free_port()
        etcd = subprocess.Popen(
            [
                shutil.which("etcd") or "etcd",
                *("--name", "etcd1", "--data-dir", str(tmp / "etcd")),
                *("--listen-client-urls", f"http://127.0.0.1:{client}"),
                *("--advertise-client-urls", f"http://127.0.0.1:{client}"),
                *("--listen-peer-urls", f"http://127.0.0.1:{peer}"),
                *("--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}"),
                *("--initial-cluster", f"etcd1=http://127.0.0.1:{peer}"),
            ],
            stdout=output("etcd"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(etcd)
        cluster = PatroniCluster(etcd=f"http://127.0.0.1:{client}")
        _wait_http(f"{cluster.etcd}/health", etcd)
        for number in range(1, nodes + 1):
            name = f"pg{number}"
            port, api_port = free_port(), free_port()
            data_dir = tmp / name
            config = tmp / f"{name}.yml"
            config.write_text(
                yaml.safe_dump(_config(name, port, api_port, cluster.etcd, data_dir, tmp))
            )
            if os.geteuid() == 0:
                shutil.chown(config, "postgres", "postgres")
            process = subprocess.Popen(
                [shutil.which("patroni") or "patroni", str(config)],
                stdout=output(name),
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "HOME": str(tmp)},
                # The postgres user may not enter the checkout (a 700 temporary clone in CI):
                # initdb then stops at "could not change directory" and no primary comes up.
                cwd=tmp,
                **_as_postgres(),
            )
            processes.append(process)
            cluster.nodes.append(PatroniNode(name, port, api_port, data_dir, process))
            if number == 1:
                # The first bootstraps the cluster (initdb); the others clone it.
                cluster.primary(timeout=90)
        cluster.wait_replicas(nodes - 1)
        yield cluster
    finally:
        if cluster:
            for node in cluster.nodes:
                if node.alive():
                    cluster.kill(node)
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")
