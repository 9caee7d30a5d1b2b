"""Free loopback ports for one cluster's components.

kwokctl's own allocator counts down from 32767 and only knows the clusters of its own
``KWOK_WORKDIR``, so two clusters started at once (pytest-xdist workers) would pick the
same ports.  We ask the kernel instead and pass every port explicitly.  A port can still
be taken between now and the moment a component binds it; the caller retries then.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Ports:
    etcd: int
    etcd_peer: int
    apiserver: int
    kwok: int
    controller_manager: int
    scheduler: int

    def all(self) -> list[int]:
        return [getattr(self, f.name) for f in fields(self)]


def free_ports() -> Ports:
    """Distinct ports nothing listens on right now (all sockets open at once)."""
    with ExitStack() as stack:
        numbers = []
        for _ in fields(Ports):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            numbers.append(sock.getsockname()[1])
    return Ports(*numbers)
