"""Many small API reads through one ``kubectl proxy`` on a private Unix socket.

kubectl sends one request at a time under its client-side rate limit (5 per
second after a burst of 10), so ``kubectl logs -l`` over 100 pods takes 20 s,
and one kubectl per pod costs a process each.  ``kubectl proxy`` forwards
requests with the cluster's credentials (whatever the kubeconfig uses: client
certificates, tokens, exec plugins) without that limit, so reads can run side
by side in one kubectl process.

The socket lives in a fresh directory only the user can enter (``mkdtemp``
makes it 0700), never on a TCP port other local users could reach, and the
proxy ends with the :class:`KubectlProxy` context.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Protocol

from lain_cli import proc, tools
from lain_cli.errors import ClusterError, stderr_tail

START_TIMEOUT = 10.0
REQUEST_TIMEOUT = 10.0
_READY = "Starting to serve on"


class HasKubectlArgs(Protocol):
    def kubectl_args(self) -> list[str]: ...


class ApiReader(Protocol):
    """What reads through the proxy need (:class:`KubectlProxy`, or a fake in tests)."""

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, str]: ...


def proxy_argv(kubectl: str, cluster_args: list[str], socket_path: str) -> list[str]:
    return [kubectl, *cluster_args, "proxy", f"--unix-socket={socket_path}"]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)  # the proxy accepts Host: localhost
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class KubectlProxy:
    """``with KubectlProxy(cluster) as api: api.get(path, params)``; thread-safe."""

    def __init__(self, cluster: HasKubectlArgs, *, start_timeout: float = START_TIMEOUT,
                 request_timeout: float = REQUEST_TIMEOUT) -> None:
        self._cluster_args = list(cluster.kubectl_args())
        self._start_timeout = start_timeout
        self._request_timeout = request_timeout
        self._dir = ""
        self.socket_path = ""
        self._stream: proc.Stream | None = None
        self._ready = threading.Event()

    def __enter__(self) -> KubectlProxy:
        self.begin()
        try:
            if not self.wait_ready(self._start_timeout):
                raise self._start_failure()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(self) -> None:
        """Start kubectl without waiting for it to serve (:meth:`wait_ready` does)."""
        self._dir = tempfile.mkdtemp(prefix="lain-proxy-")
        self.socket_path = os.path.join(self._dir, "api.sock")
        stream = proc.stream(proxy_argv(tools.kubectl().path, self._cluster_args, self.socket_path),
                             merge_stderr=False)
        self._stream = stream

        def first_line() -> None:
            for line in stream.lines():
                if line.startswith(_READY):
                    self._ready.set()
                    break
            for _ in stream.lines():  # kubectl proxy says little more; never let its pipe fill
                pass

        threading.Thread(target=first_line, name="kubectl-proxy", daemon=True).start()

    def wait_ready(self, timeout: float) -> bool:
        """True once the proxy serves; False if it did not within ``timeout`` or ended."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if self._stream is None or self._stream.proc.poll() is not None or time.monotonic() >= deadline:
                return self._ready.is_set()
        return True

    def _start_failure(self) -> ClusterError:
        stream = self._stream
        ended = stream is None or stream.proc.poll() is not None
        return ClusterError(
            "kubectl proxy did not start" + ("" if ended else f" within {self._start_timeout:g}s"),
            details=stderr_tail("\n".join(stream.stderr_tail())) if stream is not None else [],
            hint="check the cluster with `lain version`",
        )

    def close(self) -> None:
        if self._stream is not None:
            with self._stream:
                pass  # terminates kubectl and closes its pipes
            self._stream = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = ""

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, str]:
        """(HTTP status, body) of a GET; raises OSError when the proxy cannot be reached."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body = self.request("GET", path + query)
        return status, body.decode("utf-8", errors="replace")

    def request(self, method: str, path: str, body: bytes | None = None, *,
                timeout: float | None = None) -> tuple[int, bytes]:
        """(HTTP status, body) of one request.  :class:`NotSent` when the proxy could
        not be reached (the request surely did not go out); any other OSError (a
        timeout) once it may have."""
        conn = _UnixConnection(self.socket_path, timeout or self._request_timeout)
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise NotSent(f"kubectl proxy not reachable: {exc}") from exc
            headers = {"Accept": "application/json, */*", "User-Agent": "lain"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


class NotSent(OSError):
    """The proxy could not be reached: the request did not go out."""


def pod_log_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/pods/{urllib.parse.quote(pod, safe='')}/log"


def api_error_message(status: int, body: str) -> str:
    """The ``message`` of a Kubernetes Status body, else the HTTP status."""
    import json

    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("message"):
        return str(doc["message"])[:300]
    return f"HTTP {status}"
