"""`make run`: the whole product on one machine with one command.

Migrates, loads the demo data, then serves the site (with daphne, or the server WEB_SERVER names:
config.servers) and runs the workers. Without REDIS_URL it first starts an embedded
Redis-compatible server (fakeredis, Lua enabled) inside this process; that mode is for one
machine only. Links in emails lead to where it serves
(http://HOST:PORT) unless SITE_URL says otherwise. Ctrl-C stops everything it started.

While it serves, it writes its database, media, Redis and DEBUG to STACK_ENV_FILE, so that
`python -m config.devstack manage ARGS` (`make manage ARGS=...`) runs a manage.py command on the
same ones, even an embedded Redis on its random port.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from config.servers import DAPHNE_OPTIONS, server_name, web_command

__all__ = ["DAPHNE_OPTIONS", "main", "manage_beside_stack"]

log = logging.getLogger("devstack")


# Long-running workers started beside the web server: (name, manage.py arguments).
WORKERS: list[tuple[str, list[str]]] = [
    ("sweeper", ["sweep_holds"]),
    ("notifier", ["run_notifier"]),
    ("waiting room", ["run_waiting_room"]),
    ("webhooks", ["run_webhooks"]),
]


# What a manage.py command needs to act on the running stack; the stack's values beat the shell's,
# which may name another database or Redis. Git-ignored; removed when the stack stops.
STACK_ENV_FILE = Path(__file__).resolve().parent.parent / ".devstack.env"
STACK_ENV_NAMES = (
    "DEBUG",
    "DATABASE_URL",
    "MEDIA_ROOT",
    "REDIS_URL",
    "REDIS_CLUSTER_URL",
    "CHANNEL_REDIS_URLS",
    "SITE_URL",
)


def start_embedded_redis() -> tuple[str, object]:
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="embedded-redis", daemon=True).start()
    host, port = server.server_address[:2]
    return f"redis://{host}:{port}/0", server


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


# Served on every interface, the site is also on this machine's loopback: links need one address.
ALL_INTERFACES = {"0.0.0.0", "::"}  # noqa: S104


def process_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of every process `make run` starts: HOST and PORT say where the site is
    served, and SITE_URL (the origin of links in emails) defaults to that address."""
    env = dict(environ)
    env["HOST"] = env.get("HOST") or "127.0.0.1"
    env["PORT"] = env.get("PORT") or "8000"
    if not env.get("SITE_URL"):
        host = "127.0.0.1" if env["HOST"] in ALL_INTERFACES else env["HOST"]
        env["SITE_URL"] = f"http://{f'[{host}]' if ':' in host else host}:{env['PORT']}"
    return env


def write_stack_env(env: Mapping[str, str]) -> None:
    """Tell `manage` where this stack keeps its data (an unset name is written empty)."""
    lines = [f"{name}={env.get(name, '')}\n" for name in STACK_ENV_NAMES]
    # DATABASE_URL may carry a password.
    STACK_ENV_FILE.touch(mode=0o600)
    STACK_ENV_FILE.write_text("".join(lines))


def stack_env() -> dict[str, str] | None:
    """The running stack's names and values, or None when no stack runs in this checkout."""
    try:
        text = STACK_ENV_FILE.read_text()
    except FileNotFoundError:
        return None
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def manage_beside_stack(args: list[str]) -> int:
    """Run `manage.py *args` on the running stack's database and Redis; a clear refusal when no
    stack runs (unless REDIS_URL names a Redis) or its Redis no longer answers."""
    import redis

    stack = stack_env()
    if stack is None and not os.environ.get("REDIS_URL"):
        print(
            "`make run` is not running in this checkout (no .devstack.env): start it first, so "
            "the command uses its database and Redis, or set REDIS_URL to a Redis of your own.",
            file=sys.stderr,
        )
        return 1
    os.environ.update(stack or {})
    url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        where = "`make run`'s Redis (.devstack.env)" if stack else "REDIS_URL"
        print(f"{where} at {url} does not answer: {error}", file=sys.stderr)
        if stack:
            print("Is `make run` still running? Start it again.", file=sys.stderr)
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *args])
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s devstack: %(message)s")
    env = process_env(os.environ)
    try:
        server = server_name(env)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    embedded = None
    if not env.get("REDIS_URL"):
        env["REDIS_URL"], embedded = start_embedded_redis()
        log.warning(
            "REDIS_URL is not set: started an embedded Redis-compatible server (fakeredis) at %s. "
            "It keeps nothing and serves this machine only; set REDIS_URL to use a real Redis.",
            env["REDIS_URL"],
        )
    for step in (["migrate", "--noinput", "-v", "1"], ["seed_demo"], ["seed_demo_tickets"]):
        subprocess.run(manage(*step), env=env, check=True)

    host, port = env["HOST"], env["PORT"]
    commands = [("web", web_command(server, host, port, environ=env))]
    commands += [(name, manage(*args)) for name, args in WORKERS]
    children = []
    for name, command in commands:
        log.info("starting %s: %s", name, " ".join(command))
        children.append((name, subprocess.Popen(command, env=env)))
    log.info("serving on http://%s:%s/  (Ctrl-C stops everything)", host, port)
    log.info("links in emails start with %s (SITE_URL)", env["SITE_URL"])
    write_stack_env(env)
    log.info('beside it, `make manage ARGS="..."` runs a manage.py command on its data')

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    exit_code = 0
    try:
        while not stopping.is_set():
            for name, child in children:
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping everything", name, child.returncode)
                    exit_code = child.returncode or 1
                    stopping.set()
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # First: a command started while the stack stops would find its Redis gone mid-way.
        STACK_ENV_FILE.unlink(missing_ok=True)
        for _, child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for _, child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.shutdown()
        log.info("stopped")
    return exit_code


if __name__ == "__main__":
    if sys.argv[1:2] == ["manage"]:
        sys.exit(manage_beside_stack(sys.argv[2:]))
    sys.exit(main())
