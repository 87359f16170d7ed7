"""A real stack for browser tests and benchmarks: migrate, seed, the web server (WEB_SERVER,
config.servers) and the sweeper."""

import atexit
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing, contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path

from bookings.ticket_codes import new_key_text as ticket_key
from config.servers import SERVERS, server_name, web_command

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "e2e-password-123"
USERS = ("alice", "bruno", "carla")
# The demo and its users, made in one process: each manage.py start-up costs seconds.
SEED = (
    "from allauth.account.models import EmailAddress as E\n"
    "from django.contrib.auth import get_user_model as U\n"
    "run('seed_demo')\n"
    f"for name in {USERS!r}:\n"
    "    run('createsuperuser', interactive=False, username=name, email=f'{name}@example.com')\n"
    "    u = U().objects.get(username=name)\n"
    # As if each had clicked the link in the sign-up email: holding seats needs it.
    "    E.objects.update_or_create(user=u, email=u.email, "
    "defaults={'verified': True, 'primary': True})\n"
)


def _prepare(*, migrate: bool, production: bool) -> str:
    """The script that readies a stack's database (and its static files, in production)."""
    static = "run('collectstatic', interactive=False, verbosity=0)\n" if production else ""
    schema = "run('migrate', interactive=False, verbosity=0)\n" if migrate else ""
    return "from django.core.management import call_command as run\n" + static + schema + SEED


# One migrated SQLite database per test process, copied for each stack: the migrations take
# seconds and give the same schema every time; the demo is seeded afresh (its times are now's).
_SQLITE_TEMPLATE: list[Path] = []


def _migrated_sqlite(env: dict) -> Path:
    if not _SQLITE_TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="stack-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "migrated.sqlite3"
        migrate_env = {**env, "DATABASE_URL": f"sqlite:///{template}"}
        _manage(migrate_env, "migrate", "--noinput")
        _SQLITE_TEMPLATE.append(template)
    return _SQLITE_TEMPLATE[0]


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy, whatever the journal (WAL) still holds."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


def grand_showtime_path(base: str, *, from_day: int = 0) -> str:
    """A showtime in the Grand, whose seats the tests name (the film's first showtime of the
    day may be in a smaller hall, depending on the time the tests run): the first one on or after
    the film page's `from_day`th day (0, its first: today, unless today's shows are over). A later
    day's show starts more than REFUND_CUTOFF_HOURS from now, whatever the time of the run."""
    html = urllib.request.urlopen(f"{base}/movies/the-long-orbit/").read().decode()
    days = "".join(html.split('<div class="day">')[1 + from_day :])
    return re.search(r'href="(/showtimes/\d+/)"><strong>[^<]*</strong> <span>[^<]*Grand', days)[1]


def sign_in(page, *, base: str, username: str, path: str) -> None:
    """Sign a browser page in through the site's login form and land on `path`."""
    page.goto(f"{base}/accounts/login/?next={path}")
    page.fill("#id_login", f"{username}@example.com")
    page.fill("#id_password", PASSWORD)
    page.click(".auth-form button[type=submit]")
    page.wait_for_url(f"**{path}")


def sent_email(maildir: Path, *, subject: str = "", to: str = "", timeout: float = 20):
    """The first email written to `maildir` (EMAIL_URL file://, Django's file backend: one file
    per run of messages, each followed by a line of 79 dashes) whose subject has `subject` in it
    and that went to `to`, waiting for it up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        for path in sorted(maildir.iterdir()):
            for raw in path.read_bytes().split(b"-" * 79):
                if not raw.strip():
                    continue
                email: EmailMessage = message_from_bytes(raw.strip(), policy=email_policy)
                seen.append(email["subject"])
                if subject in (email["subject"] or "") and to in (email["to"] or ""):
                    return email
        time.sleep(0.3)
    raise AssertionError(f"no email about {subject!r} to {to!r}; saw {seen[-5:]}")


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


def _manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        text=True,
    )


def production_env(urls: list[str]) -> dict[str, str]:
    """DEBUG off and what production settings then require, for servers at `urls` over plain
    http on loopback: no TLS redirect or HSTS, the mock gateway named, a fresh secret key."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "TICKET_SIGNING_KEY": ticket_key(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The WebSocket origin check takes SITE_URL and these (never the Host with DEBUG off).
        "CSRF_TRUSTED_ORIGINS": ",".join(urls),
        "SITE_URL": urls[0],
        "PAYMENT_GATEWAY": "payments.mock.gateway.MockGateway",
        "PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
    }


class Stack(list):
    """The servers' base URLs; `manage(...)` runs a manage.py command on their database;
    `web[url]` is the web server's process serving `url`; `server` names the server."""

    def __init__(
        self, urls: list[str], env: dict, web: dict[str, subprocess.Popen], server: str = ""
    ):
        super().__init__(urls)
        self.env = env
        self.web = web
        self.server = server

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `manage.py *args` (raising on failure unless `check` is off); its output."""
        return _manage(self.env, *args, check=check)


@contextmanager
def running_stack(
    *,
    redis_url: str,
    hold_ttl: int = 300,
    web_processes: int = 1,
    database_url: str = "",
    extra_env: dict | None = None,
    production: bool = False,
    notifier: int = 0,
    waiting_room: bool = False,
    webhooks: bool = False,
    sweepers: int = 1,
    proxy_headers: bool = False,
    server: str = "",
):
    """Serve the product on free ports with its own database (SQLite in a temporary directory
    unless `database_url` names an empty one); yields the base URLs.

    `production` serves it as deployed: DEBUG off (`production_env`, which `extra_env` may
    override, e.g. with the SECRET_KEY a caller signs sessions with) and the static files
    collected by `collectstatic` into settings.STATIC_ROOT (`staticfiles/`, git-ignored).
    `notifier` runs that many notifiers too (give them an EMAIL_URL in `extra_env` to read their
    mail), `waiting_room` the waiting room's worker, `webhooks` the webhooks' worker; `sweepers`
    hold sweepers run (1). `server` (else WEB_SERVER, else daphne: config.servers) serves it;
    `proxy_headers` has it take the client from X-Forwarded-For/-Proto, as behind a balancer.
    The servers and the workers are stopped on the way out, whatever the exception. Their output
    is dropped, unless STACK_LOG_DIR names a directory to write each one's log in.
    """
    server = server_name({"WEB_SERVER": server} if server else None)
    with tempfile.TemporaryDirectory() as tmp:
        ports = [free_port() for _ in range(web_processes)]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
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
            **(production_env(urls) if production else {}),
            **(extra_env or {}),
        }
        if not database_url:
            _copy_sqlite(_migrated_sqlite(env), Path(tmp) / "e2e.sqlite3")
        _manage(env, "shell", "-c", _prepare(migrate=bool(database_url), production=production))
        processes: list[subprocess.Popen] = []
        try:
            for port in ports:
                command = web_command(
                    server, "127.0.0.1", port, proxy_headers=proxy_headers, environ=env
                )
                processes.append(_start(env, command))
            web = dict(zip(urls, processes, strict=True))
            for _ in range(sweepers):
                command = [sys.executable, "manage.py", "sweep_holds", "--interval", "0.5"]
                processes.append(_start(env, command))
            for _ in range(int(notifier)):
                processes.append(_start(env, [sys.executable, "manage.py", "run_notifier"]))
            if waiting_room:
                command = [sys.executable, "manage.py", "run_waiting_room", "--interval", "0.5"]
                processes.append(_start(env, command))
            if webhooks:
                command = [sys.executable, "manage.py", "run_webhooks", "--interval", "0.5"]
                processes.append(_start(env, command))
            for url, process in web.items():
                _wait_healthy(url, process)
            yield Stack(urls, env, web, server)
        finally:
            _stop(processes)


def _start(env: dict, command: list[str]) -> subprocess.Popen:
    log_dir = os.environ.get("STACK_LOG_DIR")
    if not log_dir:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    name = "-".join(arg.rsplit("/", 1)[-1] for arg in command[1:4] if not arg.startswith("-"))
    with open(Path(log_dir) / f"{name}-{time.monotonic_ns()}.log", "wb") as log:
        # The child keeps its own copy of the file descriptor.
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(processes: list[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM to each, then SIGKILL to whichever is still running after `grace` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def web_pids(urls: list[str]) -> list[int]:
    """The process ids of the web servers serving these base URLs (for CPU and memory figures
    and py-spy): the server's own process, or its worker where it has one (granian)."""
    ports = {url.rsplit(":", 1)[1] for url in urls}
    parents: dict[int, int] = {}
    servers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        args = [arg.decode(errors="replace") for arg in argv]
        if any(name in args for name in SERVERS) and any(port in args for port in ports):
            servers.append(int(entry.name))
    # A worker is forked with its server's command line: the processes that do the work are
    # those that no other matching process was forked from.
    return [pid for pid in servers if not any(parents[other] == pid for other in servers)]


# The older name: every server's processes are found alike.
daphne_pids = web_pids


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until the node answers /health with 200. Long: on a machine shared with other test runs
    three servers and their workers starting at once took more than 30 s; a node that exited
    fails at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout} s")
