"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that checks each delivery's
signature as a receiver should, answers as it is told, and can be taken down (its port then
refuses connections) and brought back on the same port."""

import json
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from payments.gateway import BadSignature
from payments.signing import verify
from webhooks.sending import SIGNATURE_HEADER


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self, *, secret: str):
        self.secret = secret
        self.answer = 200
        self.got: list[Received] = []
        self.port = free_port()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/"

    @property
    def accepted(self) -> list[dict]:
        """The payloads it took (answered 2xx), in the order they came."""
        return [each.payload for each in self.got if 200 <= each.answered < 300]

    def up(self, *, answer: int = 200) -> None:
        self.answer = answer
        if self.server is None:
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
            self.server.daemon_threads = True
            self.server.receiver = self
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify(
                payload=body,
                header=self.headers.get(SIGNATURE_HEADER, ""),
                secret=receiver.secret,
                tolerance_seconds=300,
            )
            answer = receiver.answer
        except BadSignature:
            answer = 400
        receiver.got.append(Received(headers=dict(self.headers), body=body, answered=answer))
        self.send_response(answer)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def hanging_address():
    """A URL whose server takes connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/"
