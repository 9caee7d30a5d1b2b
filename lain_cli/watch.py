"""Watching a release's objects through kubectl, at a cost independent of its size.

:class:`ReleaseWatch` runs one ``kubectl get <kind> -l <selector> --watch
--output-watch-events -o json`` process per kind (plus one for the namespace's
Events) and keeps the latest version of every object in a thread-safe cache.
Trackers and the status panel read snapshots from it and block on
:meth:`ReleaseWatch.wait_for_change`; nothing polls per object, so the number
of processes and API requests stays the same for 1 pod or 100.

kubectl prints each watch event as a pretty-printed JSON document whose
closing brace stands alone in column 0; we parse document by document.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lain_cli import proc, tools
from lain_cli.errors import ClusterError, CommandFailed, stderr_tail

DEFAULT_KINDS = ("deployments", "statefulsets", "replicasets", "jobs", "pods")
MAX_EVENTS = 500
# A watch that dies this soon after starting without delivering anything is an
# error (unreachable cluster, bad credentials), not a server-side timeout.
_FAST_FAILURE = 5.0
_RESTART_DELAY = 0.5


class HasKubectlArgs(Protocol):
    def kubectl_args(self) -> list[str]: ...


def watch_argv(kubectl: str, cluster_args: Sequence[str], kind: str, selector: str | None) -> list[str]:
    """The argv of one kubectl watch over ``kind`` (optionally label-selected)."""
    argv = [kubectl, *cluster_args, "get", kind]
    if selector:
        argv += ["-l", selector]
    return [*argv, "--watch", "--output-watch-events", "-o", "json"]


def iter_documents(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """Split kubectl's stream of pretty-printed JSON documents into dicts."""
    buffer: list[str] = []
    for line in lines:
        if not buffer and line.startswith("{") and line.endswith("}"):
            # kubectl 1.34/1.36 print each watch event compactly, on one line
            try:
                doc = json.loads(line)
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                yield doc
                continue
        buffer.append(line)
        if line == "}":
            text = "\n".join(buffer)
            buffer = []
            try:
                doc = json.loads(text)
            except ValueError:
                continue
            if isinstance(doc, dict):
                yield doc


def plural_of(kind: str) -> str:
    """``Deployment`` -> ``deployments``, ``Ingress`` -> ``ingresses`` (the built-in kinds lain watches)."""
    lower = kind.lower()
    return lower + "es" if lower.endswith("s") else lower + "s"


def object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}"


@dataclass
class WatchStats:
    processes_started: int = 0
    events_received: int = 0
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)


class ReleaseWatch:
    """Watch ``kinds`` (label ``selector``) and, optionally, Events in the namespace.

    Use as a context manager.  ``objects(kind)`` returns a snapshot list;
    ``events()`` the most recent Events (oldest first); ``error`` is set to a
    :class:`ClusterError` when a watch cannot be kept running.
    """

    def __init__(
        self,
        cluster: HasKubectlArgs,
        selector: str | None,
        kinds: Sequence[str] = DEFAULT_KINDS,
        *,
        with_events: bool = True,
        list_timeout: float = 60.0,
    ) -> None:
        self._kubectl = tools.kubectl().path
        self._cluster_args = list(cluster.kubectl_args())
        name = str(getattr(cluster, "name", "") or "")
        self._name = name or "the cluster"
        self._cluster_name = f"cluster {name}" if name else "the cluster"
        self._selector = selector
        self._kinds = list(kinds)
        self._with_events = with_events
        self._list_timeout = list_timeout
        self._objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in self._kinds}
        self._events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self._cond = threading.Condition()
        self._generation = 0
        self._stop = threading.Event()
        self._streams: dict[str, proc.Stream] = {}
        self._threads: list[threading.Thread] = []
        self.error: ClusterError | None = None
        self.stats = WatchStats()

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> ReleaseWatch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """List everything once (a definite first snapshot, and a clear error for an
        unreachable cluster), then keep it current with one watch per kind."""
        self._initial_list()
        kinds = [*self._kinds, "events"] if self._with_events else list(self._kinds)
        for kind in kinds:
            thread = threading.Thread(target=self._run, args=(kind,), name=f"watch-{kind}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        streams = list(self._streams.values())
        for stream in streams:
            stream.terminate()  # all at once: they end side by side
        for stream in streams:
            stream.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._cond:
            self._cond.notify_all()

    # -- reading -----------------------------------------------------------
    def objects(self, kind: str) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._objects.get(kind, {}).values())

    def events(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._events)

    @property
    def generation(self) -> int:
        """Bumped on every change; compare to see whether anything happened."""
        return self._generation

    def wait_for_change(self, timeout: float, since: int | None = None) -> bool:
        """Block until the cache changes after generation ``since`` (default: now), or ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            start = self._generation if since is None else since
            while self._generation == start and not self._stop.is_set() and self.error is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._generation != start

    # -- internals ---------------------------------------------------------
    def _initial_list(self) -> None:
        argv = [self._kubectl, *self._cluster_args, "get", ",".join(self._kinds), "-o", "json"]
        if self._selector:
            argv[-2:-2] = ["-l", self._selector]
        try:
            result = proc.run(argv, timeout=self._list_timeout, check=False,
                              waiting_for=f"{self._cluster_name} to list the release's objects")
        except CommandFailed as exc:
            raise ClusterError(
                f"{self._cluster_name} did not answer within {self._list_timeout:g}s (listing the release's objects)",
                hint="check the network / VPN to the cluster (`lain version` tells whether it answers)",
            ) from exc
        self.stats.processes_started += 1
        if not result.ok:
            from lain_cli import kube

            raise kube.classify_failure(
                result.stderr, self._name, what="reading the release's objects",
                default_hint="check the cluster with `lain version`",
            )
        try:
            items = json.loads(result.stdout).get("items", [])
        except ValueError as exc:
            raise ClusterError(f"kubectl returned unreadable JSON: {exc}") from exc
        with self._cond:
            for obj in items:
                kind = plural_of(str(obj.get("kind", "")))
                if kind in self._objects:
                    self._objects[kind][object_key(obj)] = obj
            self._generation += 1

    def _run(self, kind: str) -> None:
        selector = None if kind == "events" else self._selector
        argv = watch_argv(self._kubectl, self._cluster_args, kind, selector)
        while not self._stop.is_set():
            started = time.monotonic()
            received = 0
            stream = proc.stream(argv, merge_stderr=False)
            self._streams[kind] = stream
            with self._cond:
                self.stats.processes_started += 1
            if self._stop.is_set():
                # stop() ran while this watch was starting and could not see it yet
                stream.stop()
                return
            try:
                for doc in iter_documents(stream.lines()):
                    received += 1
                    self._apply(kind, doc)
            finally:
                stream.stop()
            if self._stop.is_set():
                return
            code = stream.proc.returncode
            # Nothing received and kubectl failed (or gave up at once): the cluster is
            # unreachable or refuses us.  A server-side watch timeout ends with exit 0.
            if received == 0 and (code not in (0, None) or time.monotonic() - started < _FAST_FAILURE):
                tail = stream.stderr_tail()
                with self._cond:
                    self.error = ClusterError(
                        f"could not watch {kind}: kubectl exited {code}",
                        details=stderr_tail("\n".join(tail)),
                        hint="check the cluster with `lain version`",
                    )
                    self._generation += 1
                    self._cond.notify_all()
                return
            # The server ended the watch (timeout) or the connection dropped: start over.
            # kubectl relists on start, so the cache refills with current objects.
            with self._cond:
                self.stats.restarts += 1
                self._objects.get(kind, {}).clear()
            time.sleep(_RESTART_DELAY)

    def _apply(self, kind: str, doc: dict[str, Any]) -> None:
        event_type = doc.get("type")
        obj = doc.get("object")
        if not isinstance(obj, dict):
            return
        with self._cond:
            self.stats.events_received += 1
            if kind == "events":
                if event_type != "DELETED":
                    self._events.append(obj)
            elif event_type == "DELETED":
                self._objects[kind].pop(object_key(obj), None)
            elif event_type in ("ADDED", "MODIFIED"):
                self._objects[kind][object_key(obj)] = obj
            self._generation += 1
            self._cond.notify_all()
