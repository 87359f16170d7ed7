"""A real localstripe process (a stateful Stripe-compatible server) for the Stripe provider's tests,
and what a buyer's browser and Stripe's webhook deliveries do around it.

localstripe runs from its own virtualenv (`make .venv-localstripe`: its pinned dependencies are
not ours) on a free port. Its webhooks go to an `Inbox` in the test process, so that a test can
post each delivery to our endpoint when it chooses: late, twice, or altered. Where localstripe is
not Stripe, the README's "Testing against localstripe" names the difference.
"""

import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
LOCALSTRIPE = ROOT / ".venv-localstripe" / "bin" / "localstripe"
SECRET_KEY = "sk_test_marquee"
PUBLISHABLE_KEY = "pk_test_marquee"
WEBHOOK_SECRET = "whsec_marquee_localstripe_tests"
GOOD_CARD = "4242424242424242"
# localstripe declines at charge time only these (Stripe's 4000 0000 0000 0002 pays there).
DECLINED_CARD = "4000000000000341"
THREE_D_SECURE_CARD = "4000002500003155"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Delivery:
    """One webhook as localstripe posted it: the exact body and headers to post on."""

    type: str
    body: bytes
    headers: dict[str, str]

    @property
    def intent_id(self) -> str:
        return json.loads(self.body)["data"]["object"]["id"]


@dataclass
class Inbox:
    """Where localstripe's webhooks land in a test; `wait` takes them out."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def put(self, delivery: Delivery) -> None:
        with self.arrived:
            self.deliveries.append(delivery)
            self.arrived.notify_all()

    def wait(self, event_type: str, *, intent_id: str = "", timeout: float = 15) -> Delivery:
        """The first delivery of `event_type` (for the intent), taken out of the inbox."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for delivery in self.deliveries:
                    if delivery.type == event_type and intent_id in ("", delivery.intent_id):
                        self.deliveries.remove(delivery)
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [d.type for d in self.deliveries]
                    raise AssertionError(f"no {event_type} webhook within {timeout}s; got {seen}")
                self.arrived.wait(left)

    def clear(self) -> None:
        with self.arrived:
            self.deliveries.clear()


@contextmanager
def inbox_server():
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name: value for name, value in self.headers.items()}
            inbox.put(Delivery(type=json.loads(body)["type"], body=body, headers=headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen

    def call(self, method: str, path: str, *, key: str = SECRET_KEY, **data) -> dict:
        """The API as a client of Stripe's calls it (form-encoded: in the query for a GET);
        the answer's JSON."""
        where = "params" if method == "GET" else "data"
        response = requests.request(
            method, f"{self.url}{path}", auth=(key, ""), timeout=10, **{where: _form(data)}
        )
        answer = response.json()
        if response.status_code >= 400:
            raise LocalStripeError(response.status_code, answer)
        return answer

    def send_webhooks_to(self, url: str, *, secret: str = WEBHOOK_SECRET) -> None:
        """Register our endpoint (the same id again replaces it)."""
        response = requests.post(
            f"{self.url}/_config/webhooks/marquee", data={"url": url, "secret": secret}, timeout=10
        )
        response.raise_for_status()

    def flush(self) -> None:
        requests.delete(f"{self.url}/_config/data", timeout=10).raise_for_status()

    def pay(self, intent_id: str, *, card: str = GOOD_CARD) -> dict:
        """What Stripe.js does on our checkout page when the buyer presses Pay: a PaymentMethod
        from the card, and the intent confirmed with it. (localstripe confirms an intent only
        with the secret key and takes the card separately; Stripe.js does it in one call with
        the publishable key and the client secret.)"""
        method = self.call(
            "POST",
            "/v1/payment_methods",
            type="card",
            card={"number": card, "exp_month": "12", "exp_year": "2039", "cvc": "123"},
        )
        self.call("POST", f"/v1/payment_intents/{intent_id}", payment_method=method["id"])
        try:
            return self.call("POST", f"/v1/payment_intents/{intent_id}/confirm")
        except LocalStripeError as declined:
            if declined.status != 402:
                raise
            return self.call("GET", f"/v1/payment_intents/{intent_id}")

    def authenticate(self, intent: dict, *, success: bool) -> dict:
        """The buyer completes (or fails) 3-D Secure, as localstripe's Stripe.js stand-in asks."""
        response = requests.post(
            f"{self.url}/v1/payment_intents/{intent['id']}/_authenticate"
            f"?success={'true' if success else 'false'}",
            json={"key": PUBLISHABLE_KEY, "client_secret": intent["client_secret"]},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()


class LocalStripeError(Exception):
    def __init__(self, status: int, answer: dict):
        super().__init__(f"localstripe answered {status}: {answer}")
        self.status = status


def _form(data: dict, prefix: str = "") -> dict[str, str]:
    """Nested values as Stripe's form encoding writes them: card[number]=..."""
    flat = {}
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            flat |= _form(value, name)
        else:
            flat[name] = str(value)
    return flat


@contextmanager
def localstripe_server(log: Path | None = None):
    """A localstripe process on a free port, ready; stopped (by its own id) afterwards. With
    `log`, its output (each request, each webhook delivered or failed) is written there."""
    if not LOCALSTRIPE.exists():
        raise RuntimeError(
            f"{LOCALSTRIPE} is missing: make .venv-localstripe (the Stripe provider's tests run "
            "against a real localstripe process)."
        )
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [str(LOCALSTRIPE), "--port", str(port), "--from-scratch"],
            cwd=workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        server = LocalStripe(url=f"http://127.0.0.1:{port}", process=process)
        try:
            _wait_ready(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if log:
                output.close()


def _wait_ready(server: LocalStripe, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {server.process.returncode}")
        try:
            if requests.get(f"{server.url}/js.stripe.com/v3/", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"localstripe did not answer on {server.url} within {timeout}s")
