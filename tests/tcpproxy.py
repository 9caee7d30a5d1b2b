"""A TCP proxy on 127.0.0.1 in front of a test cluster's API server, to lose it on purpose.

``cut()`` drops every connection and stops listening (the cluster is gone:
connections are refused); ``black_hole()`` keeps accepting connections but never
answers (a cluster behind a dead VPN, or one that accepts and hangs).  A
kubeconfig whose server is :attr:`url` reaches the cluster through it::

    with TcpProxy(cluster.url) as proxy:
        point_kubeconfig_at(path, proxy.url)
        ...
        proxy.cut()
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

import yaml


class TcpProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.scheme = parts.scheme
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._mode = "forward"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(client)
                mode = self._mode
            if mode == "black-hole":
                continue  # held open, never answered
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._connections.append(server)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _drop_all(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def black_hole(self) -> None:
        """Drop every connection; accept new ones but never answer them."""
        with self._lock:
            self._mode = "black-hole"
        self._drop_all()

    def cut(self) -> None:
        """Drop every connection and stop listening: the cluster refuses connections."""
        self._closed.set()
        self._listener.close()
        self._drop_all()

    def close(self) -> None:
        self.cut()


def point_kubeconfig_at(path: str, url: str) -> None:
    """Rewrite every cluster's server in the kubeconfig at ``path`` to ``url``."""
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    for entry in config.get("clusters") or []:
        entry.setdefault("cluster", {})["server"] = url
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)
