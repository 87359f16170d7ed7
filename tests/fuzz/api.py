"""Fuzz the JSON API with Schemathesis against its own schema, on a real server.

    .venv/bin/python tests/fuzz/api.py [--max-examples 25] [--seed 1]

Starts the product (tests/e2e/stack.py: migrate, the demo data, daphne, the hold sweeper) on a
fresh SQLite database and a Redis database of its own (REDIS_URL's, emptied first), makes two
personal API tokens as the back office would, and runs `schemathesis run` on
/api/v1/openapi.json once with each:
- a customer's (scope `customer`): the public and customer operations;
- a staff member's (every scope; a superuser, so every role's permission): the staff
  operations too.
Schemathesis's default checks apply to every response: no 5xx, each status and content type and
body as the schema says; its stateful phase follows the links it infers between operations.
Each run's summary is printed; exits non-zero when any run finds a failure.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402
import redis  # noqa: E402

django.setup()

from tests.e2e.stack import running_stack  # noqa: E402

MAKE_TOKENS = """
from api.auth import SCOPES, make_token
from django.contrib.auth import get_user_model
users = get_user_model().objects
print("TOKEN", make_token(user=users.get(username="bruno"), name="fuzz", scopes=["customer"])[1])
print("TOKEN", make_token(user=users.get(username="alice"), name="fuzz", scopes=list(SCOPES))[1])
"""


def fuzz(*, base: str, token: str, who: str, max_examples: int, seed: int) -> int:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        f"{base}/api/v1/openapi.json",
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "too_slow,filter_too_much",
    ]
    print(f"== schemathesis as {who} ==", flush=True)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    print(run.stdout)
    if run.stderr.strip():
        print(run.stderr[-2000:], file=sys.stderr)
    return run.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis.from_url(redis_url).flushdb()
    limits = {"API_RATE_LIMIT": "1000000", "HOLD_RATE_LIMIT": "1000000"}
    with running_stack(redis_url=redis_url, extra_env=limits) as stack:
        output = stack.manage("shell", "-c", MAKE_TOKENS).stdout.splitlines()
        customer, staff = [line.split()[1] for line in output if line.startswith("TOKEN ")]
        failed = 0
        for who, token in (("a customer", customer), ("staff", staff)):
            failed += bool(
                fuzz(
                    base=stack[0],
                    token=token,
                    who=who,
                    max_examples=args.max_examples,
                    seed=args.seed,
                )
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
