"""A real Redis Cluster of our own on loopback: `redis-server --cluster-enabled yes` nodes joined
with `redis-cli --cluster create`, nothing on disk, stopped on the way out."""

import secrets
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

# How long a master may be unreachable before its replica takes over (redis.conf's default is
# 15 s; a test wants the failover within seconds).
NODE_TIMEOUT_MS = 1000
NO_DISK = ("--save", "", "--appendonly", "no")


def free_port() -> int:
    """A free loopback port whose cluster bus port (10,000 higher, at most 65535) is free too."""
    while True:
        port = 20_000 + secrets.randbelow(30_000)
        try:
            for each in (port, port + 10_000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", each))
        except OSError:
            continue
        return port


@dataclass
class Node:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)

    def role(self) -> str:
        return self.client().execute_command("ROLE")[0]


@dataclass
class Cluster:
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """REDIS_CLUSTER_URL: every node as a seed, so a client starts with any one of them."""
        return ",".join(node.url for node in self.nodes)

    def masters(self) -> list[Node]:
        return [node for node in self.live() if node.role() == "master"]

    def live(self) -> list[Node]:
        return [node for node in self.nodes if node.process.poll() is None]

    def master_of(self, key: str) -> Node:
        client = self.live()[0].client()
        slot = client.execute_command("CLUSTER", "KEYSLOT", key)
        for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return next(node for node in self.nodes if node.port == int(master[1]))
        raise LookupError(f"no master serves slot {slot}")

    def moved_from(self, key: str, master: Node) -> bool:
        """Whether another master serves the key's slot now (mid-failover, for a moment, the
        slot is listed with none: not yet)."""
        try:
            return self.master_of(key) is not master
        except LookupError:
            return False

    def kill(self, node: Node) -> None:
        node.process.kill()
        node.process.wait()

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every live node says the cluster is ok and agrees on its masters."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                states = [n.client().cluster("info")["cluster_state"] for n in self.live()]
                if all(state == "ok" for state in states):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the cluster was not ok within {timeout} s")

    def flush(self) -> None:
        for node in self.masters():
            node.client().flushall()


@contextmanager
def redis_cluster(*, masters: int = 3, replicas: int = 1):
    """Start `masters` * (1 + `replicas`) nodes and create the cluster; yields the Cluster."""
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster()
        try:
            for _ in range(masters * (1 + replicas)):
                port = free_port()
                directory = Path(tmp) / str(port)
                directory.mkdir()
                command = [
                    *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                    *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                    *("--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--dir", str(directory)),
                    *NO_DISK,
                ]
                process = subprocess.Popen(
                    command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                cluster.nodes.append(Node(port, process))
            for node in cluster.nodes:
                _wait_ping(node)
            subprocess.run(
                [
                    *("redis-cli", "--cluster", "create"),
                    *(f"127.0.0.1:{node.port}" for node in cluster.nodes),
                    *("--cluster-replicas", str(replicas), "--cluster-yes"),
                ],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
            cluster.wait_ok()
            yield cluster
        finally:
            for node in cluster.nodes:
                if node.process.poll() is None:
                    node.process.kill()
                    node.process.wait()


@contextmanager
def redis_server():
    """One plain Redis of our own (the cache's or the channel layer's); yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [*("redis-server", "--port", str(port), "--bind", "127.0.0.1"), *NO_DISK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ping(Node(port, process))
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def _wait_ping(node: Node, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if node.client().ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {node.port} did not start")
