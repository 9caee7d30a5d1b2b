"""A real HTTP webhook receiver on 127.0.0.1 for tests of notices.

It records every request (path, headers, raw body, parsed JSON) and answers
200 with a configurable body; ``fail_next(n, status)`` makes the next ``n``
requests fail first.  Use it as a context manager, or through the
``webhook_receiver`` fixture (import it into a test module, or list this module
in ``pytest_plugins``)::

    with WebhookReceiver() as receiver:
        hook = {"url": receiver.url("/hook"), "provider": "slack"}
        ...
        assert [r.json for r in receiver.requests] == [...]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Behaviour:
    failures: list[tuple[int, bytes]] = field(default_factory=list)
    status: int = 200
    body: bytes = b"ok"
    content_type: str = "text/plain"
    delay: float = 0.0  # seconds between reading a request and answering it
    hang_ups: int = 0  # requests to read and then drop without an answer


class WebhookReceiver:
    """An HTTP server in a thread that records what it receives."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._behaviour = _Behaviour()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def delivered(self) -> list[Received]:
        """Requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def fail_next(self, count: int, status: int = 500, body: bytes = b"internal error") -> None:
        with self._lock:
            self._behaviour.failures += [(status, body)] * count

    def respond_with(self, status: int = 200, body: Any = b"ok") -> None:
        """What to answer once the queued failures are used up (JSON for dicts)."""
        with self._lock:
            if isinstance(body, dict | list):
                self._behaviour.body = json.dumps(body).encode()
                self._behaviour.content_type = "application/json"
            else:
                self._behaviour.body = body if isinstance(body, bytes) else str(body).encode()
                self._behaviour.content_type = "text/plain"
            self._behaviour.status = status

    def answer_after(self, seconds: float) -> None:
        """Read each request at once, answer it ``seconds`` later (a slow chat server)."""
        with self._lock:
            self._behaviour.delay = seconds

    def hang_up_next(self, count: int) -> None:
        """Read the next ``count`` requests, then close the connection without answering."""
        with self._lock:
            self._behaviour.hang_ups += count

    def _hang_up(self) -> bool:
        with self._lock:
            if self._behaviour.hang_ups:
                self._behaviour.hang_ups -= 1
                return True
            return False

    def _answer(self) -> tuple[int, bytes, str]:
        with self._lock:
            if self._behaviour.failures:
                status, body = self._behaviour.failures.pop(0)
                return status, body, "text/plain"
            return self._behaviour.status, self._behaviour.body, self._behaviour.content_type

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver._hang_up():
                    with receiver._lock:
                        receiver.requests.append(Received(self.path, dict(self.headers), body, 0))
                    self.close_connection = True
                    return
                status, answer, content_type = receiver._answer()
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body, status))
                    delay = receiver._behaviour.delay
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
