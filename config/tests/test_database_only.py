"""CI's PostgreSQL pass (TESTS_DATABASE_ONLY=1) leaves out only tests that cannot reach the
database: a test left out there is run on SQLite alone."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECT = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
NO_DATABASE = [
    "cinema/tests/test_money.py",
    # A running stack, imported: its processes get a database of their own.
    "bookings/tests/test_hoarding.py",
]
MAY_REACH_IT = [
    # A database marker on the module.
    "accounts/tests/test_emails.py",
    # A helper that starts `manage.py check`, imported from another test module.
    "config/tests/test_stripe_settings.py",
    # Processes started by the crash tests' helpers.
    "audit/tests/test_notifier_crashes.py",
]


def test_the_postgresql_pass_leaves_out_the_tests_that_reach_no_database():
    result = subprocess.run(
        [*COLLECT, *NO_DATABASE, *MAY_REACH_IT],
        cwd=ROOT,
        env={**os.environ, "TESTS_DATABASE_ONLY": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    kept = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    assert kept == set(MAY_REACH_IT)
    assert re.search(r"TESTS_DATABASE_ONLY: deselected [1-9]\d* tests", result.stdout)
