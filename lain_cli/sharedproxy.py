"""One command's ``kubectl proxy``, started once it is worth a process.

A deploy starts it while helm runs (:mod:`lain_cli.deploy`); the writes on the
way out (:mod:`lain_cli.objectapi`) and the green light's reads then go through
it.  This module imports nothing heavy: the proxy's own module (http.client)
is loaded when it starts.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lain_cli.kubeproxy import HasKubectlArgs, KubectlProxy


class NotProxied(Exception):
    """A request that did not go through the proxy (it could not be reached, or the
    kind is not one lain sends itself): the caller runs kubectl instead."""


class SharedProxy:
    """``start()`` (in the background), ``serving()`` for whoever wants it then,
    ``close()``.  Thread-safe; once closed it stays closed."""

    def __init__(self, cluster: HasKubectlArgs, *, patience: float = 2.0) -> None:
        self._cluster = cluster
        self._patience = patience
        self._lock = threading.Lock()
        self._proxy: KubectlProxy | None = None
        self._starter: threading.Thread | None = None
        self._closed = False

    def start(self, *, delay: float = 0.0) -> None:
        """Start the proxy from a thread, after ``delay`` seconds (to leave the
        interpreter to what the caller starts meanwhile: importing the proxy's
        module and spawning kubectl take it for a few ms)."""
        with self._lock:
            if self._starter is not None or self._closed:
                return
            self._starter = threading.Thread(target=self._begin, args=(delay,), name="proxy-start", daemon=True)
            self._starter.start()

    def _begin(self, delay: float) -> None:
        if delay:
            time.sleep(delay)
        from lain_cli.errors import LainError
        from lain_cli.kubeproxy import KubectlProxy

        with self._lock:
            if self._closed:
                return
            proxy = KubectlProxy(self._cluster)
            try:
                proxy.begin()
            except (LainError, OSError):
                proxy.close()  # whoever asks runs kubectl instead
                return
            self._proxy = proxy

    def serving(self) -> KubectlProxy | None:
        """The proxy once it serves (waiting up to ``patience`` for one starting); None
        when it was never started, is closed or does not come up."""
        starter = self._starter
        if starter is None:
            return None
        deadline = time.monotonic() + self._patience
        starter.join(self._patience)
        with self._lock:
            proxy = None if self._closed else self._proxy
        if proxy is None:
            return None
        if not proxy.wait_ready(max(0.0, deadline - time.monotonic())):
            # it does not come up: nobody waits for it again, kubectl runs instead
            with self._lock:
                given_up, self._proxy = self._proxy, None
            if given_up is not None:
                given_up.close()
            return None
        return proxy

    def close(self) -> None:
        with self._lock:
            proxy, self._proxy, self._closed = self._proxy, None, True
            starter = self._starter
        if proxy is not None:
            proxy.close()
        if starter is not None and starter.is_alive():
            starter.join(5.0)  # it sees the closed flag before it starts anything
