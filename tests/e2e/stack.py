"""A real stack for browser tests and benchmarks: migrate, seed, daphne and the sweeper."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from config.devstack import DAPHNE_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "e2e-password-123"
USERS = ("alice", "bruno")
VERIFY_USERS = (
    "from allauth.account.models import EmailAddress as E\n"
    "from django.contrib.auth import get_user_model as U\n"
    f"for u in U().objects.filter(username__in={USERS!r}):\n"
    "    E.objects.update_or_create(user=u, email=u.email, "
    "defaults={'verified': True, 'primary': True})"
)


def sign_in(page, *, base: str, username: str, path: str) -> None:
    """Sign a browser page in through the site's login form and land on `path`."""
    page.goto(f"{base}/accounts/login/?next={path}")
    page.fill("#id_login", f"{username}@example.com")
    page.fill("#id_password", PASSWORD)
    page.click(".auth-form button[type=submit]")
    page.wait_for_url(f"**{path}")


def daphne_command(port: int, *options: str) -> list[str]:
    """The command that serves the product with daphne on a loopback port."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        *options,
        "config.asgi:application",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


@contextmanager
def running_stack(
    *,
    redis_url: str,
    hold_ttl: int = 300,
    web_processes: int = 1,
    database_url: str = "",
    extra_env: dict | None = None,
):
    """Serve the product on free ports with its own database (SQLite in a temporary directory
    unless `database_url` names an empty one); yields the base URLs."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": database_url or f"sqlite:///{tmp}/e2e.sqlite3",
            "MEDIA_ROOT": f"{tmp}/media",
            "REDIS_URL": redis_url,
            "HOLD_TTL_SECONDS": str(hold_ttl),
            "DEMO_STAFF_PASSWORD": PASSWORD,
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "HOLD_RATE_LIMIT": "1000",
            "RELEASE_RATE_LIMIT": "1000",
            # Benchmarks open thousands of WebSockets from this one address.
            "WEBSOCKET_MAX_PER_ADDRESS": "0",
            **(extra_env or {}),
        }
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        for name in USERS:
            _manage(
                env,
                "createsuperuser",
                "--noinput",
                "--username",
                name,
                "--email",
                f"{name}@example.com",
            )
        # As if each had clicked the link in the sign-up email: holding seats needs it.
        _manage(env, "shell", "-c", VERIFY_USERS)
        ports = [free_port() for _ in range(web_processes)]
        processes = [
            subprocess.Popen(
                daphne_command(port, *DAPHNE_OPTIONS),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for port in ports
        ]
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "sweep_holds", "--interval", "0.5"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for url in urls:
                _wait_healthy(url)
            yield urls
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)


def daphne_pids(urls: list[str]) -> list[int]:
    """The process ids of the daphnes serving these base URLs (for memory figures and py-spy)."""
    ports = {url.rsplit(":", 1)[1] for url in urls}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [arg.decode(errors="replace") for arg in argv]
        if "daphne" in args and any(port in args for port in ports):
            pids.append(int(entry.name))
    return pids


def _wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout} s")
