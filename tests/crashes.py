"""For the tests that kill a process at a step: a process of its own runs against a SQLite
database in the test's temporary folder and the test Redis, with the mock gateway's webhooks
kept for the test to send."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python *args` in the project's folder with `env`; raises on failure unless `check` is
    off (a killed process is the point)."""
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=check
    )


def crash_env(tmp_path: Path, redis_url: str, **extra: str) -> dict:
    """The environment of such processes, its database migrated."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/crash.sqlite3",
        "REDIS_URL": redis_url,
        "MOCK_GATEWAY_WEBHOOKS": "manual",
        **extra,
    }
    run(env, "manage.py", "migrate", "--noinput")
    return env
