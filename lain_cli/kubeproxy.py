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

    def __enter__(self) -> KubectlProxy:
        self._dir = tempfile.mkdtemp(prefix="lain-proxy-")
        self.socket_path = os.path.join(self._dir, "api.sock")
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        stream = proc.stream(proxy_argv(tools.kubectl().path, self._cluster_args, self.socket_path),
                             merge_stderr=False)
        self._stream = stream
        ready = threading.Event()

        def first_line() -> None:
            for line in stream.lines():
                if line.startswith(_READY):
                    ready.set()
                    return

        reader = threading.Thread(target=first_line, name="kubectl-proxy", daemon=True)
        reader.start()
        reader.join(self._start_timeout)
        if not ready.is_set():
            stream.stop()
            raise ClusterError(
                "kubectl proxy did not start" + ("" if stream.proc.poll() is not None
                                                 else f" within {self._start_timeout:g}s"),
                details=stderr_tail("\n".join(stream.stderr_tail())),
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
        conn = _UnixConnection(self.socket_path, self._request_timeout)
        try:
            conn.request("GET", path + query, headers={"Accept": "*/*", "User-Agent": "lain"})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", errors="replace")
            return resp.status, body
        finally:
            conn.close()


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
