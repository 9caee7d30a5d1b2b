"""The simulator: store + controllers + knobs + logs + exec + admin API behind one aiohttp server.

Write paths that need API-server semantics (defaulting, patches, server-side apply) live
here so the HTTP handlers, the admin API and the Python API share them.  Everything runs
on one event loop; :class:`~tests.kubesim.fixture.SimClient` calls in from other threads.
"""

from __future__ import annotations

import asyncio
import copy
import random
import socket
from typing import Any

from aiohttp import web

from . import defaults, errors, patch
from .admin import AdminApi
from .controllers import ControllerManager
from .events import EventRecorder
from .exec import ExecHandler
from .gc import Delay, GarbageCollector, draw
from .knobs import KnobTable
from .logs import LogBook
from .resources import REGISTRY, ResourceType
from .server import build_app
from .store import Store

Obj = dict[str, Any]
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Real seconds, like a real cluster under light load; none of them is multiplied by time_scale.
DEFAULT_GC_DELAY = (0.5, 1.5)  # the garbage collector notices an owner's deletion
DEFAULT_CONTROLLER_LATENCY = (0.01, 0.05)  # a controller acts on a change
DEFAULT_POD_STOP_DELAY = (0.05, 0.25)  # containers take to exit after SIGTERM (grace: 30 s, scaled)
DEFAULT_WATCH_TIMEOUT = (1800.0, 3600.0)  # the API server ends watches (simulated seconds: scaled)
JITTER = 0.5  # kubelet steps take pod_start_delay x uniform(1 - JITTER, 1 + JITTER)


class Simulator:
    """One simulated cluster.

    ``time_scale`` multiplies simulated durations (backoffs, deadlines, grace periods, the
    API server's default watch timeout).  The latencies are real seconds, each a number or a
    ``(low, high)`` range drawn from uniformly each time:

    * ``pod_start_delay`` -- between the steps of a pod's start (jittered +-50 %);
    * ``gc_delay`` -- before the garbage collector acts on a deletion (per hop: a
      Deployment's pods go two hops after it);
    * ``controller_latency`` -- before a controller reconciles a changed object;
    * ``pod_stop_delay`` -- containers take to exit once their pod is deleted;
    * ``watch_timeout`` -- when set, watches end after this long even if the client asked
      for a longer ``timeoutSeconds`` (default: the API server's random 30-60 min, scaled);
    * ``watch_cache_size`` / ``watch_cache_seconds`` -- the history kept per resource type
      (at least that many events, and all from the last that many seconds); watches from an
      older resourceVersion get 410 Expired.
    """

    def __init__(self, *, time_scale: float = 1.0, pod_start_delay: float = 0.02,
                 gc_delay: Delay = DEFAULT_GC_DELAY, controller_latency: Delay = DEFAULT_CONTROLLER_LATENCY,
                 pod_stop_delay: Delay = DEFAULT_POD_STOP_DELAY, watch_timeout: Delay | None = None,
                 watch_cache_size: int = 100, watch_cache_seconds: float = 75.0) -> None:
        self.time_scale = time_scale
        self.pod_start_delay = pod_start_delay
        self.gc_delay = gc_delay
        self.controller_latency = controller_latency
        self.pod_stop_delay = pod_stop_delay
        self.watch_timeout = watch_timeout
        self.store = Store(cache_size=watch_cache_size, cache_seconds=watch_cache_seconds)
        self.store.graceful_pods = True
        self.gc = GarbageCollector(self)
        self.stopping = asyncio.Event()
        self.knobs = KnobTable()
        self.events = EventRecorder(self.store)
        self.logs = LogBook(self)
        self.exec = ExecHandler(self)
        self.admin = AdminApi(self)
        self.controllers = ControllerManager(self)
        self.url = ""
        self._runner: web.AppRunner | None = None
        ns_rt = REGISTRY.get("", "namespaces")
        for name in DEFAULT_NAMESPACES:
            self.create(ns_rt, {"metadata": {"name": name}})
        self.create(REGISTRY.get("", "nodes"), node_object())

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    @staticmethod
    def jittered(seconds: float) -> float:
        return seconds * random.uniform(1 - JITTER, 1 + JITTER)

    @staticmethod
    def jittered_delay(delay: Delay) -> float:
        return draw(delay)

    def watch_duration(self, requested: float | None) -> float:
        """How long a watch runs: the client's ``timeoutSeconds`` (0 or None: the server's default)."""
        forced = draw(self.watch_timeout) if self.watch_timeout is not None else None
        if requested:
            return min(requested, forced) if forced is not None else requested
        return forced if forced is not None else self.scaled(draw(DEFAULT_WATCH_TIMEOUT))

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); returns the base URL."""
        self.controllers.start()
        app = build_app(self)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        """End watches, follows and exec sessions, stop controllers and the server."""
        self.stopping.set()
        self.gc.stop()
        self.store.close_watchers()
        self.logs.wake_all()
        await self.exec.close_all()
        await self.controllers.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- writes with API-server semantics ------------------------------------------------
    def create(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False, manager: str | None = None) -> Obj:
        prepared = defaults.prepare(rt, obj, None)
        uid = prepared["metadata"].get("uid") if rt.kind == "Job" else None
        return self.store.create(rt, prepared, dry_run=dry_run, manager=manager, uid=uid)

    def replace(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False, subresource: str = "",
                manager: str | None = None) -> Obj:
        meta = obj.get("metadata", {})
        live = self.store.must_get(rt, meta.get("namespace"), meta.get("name", ""))
        if subresource != "status":
            obj = defaults.prepare(rt, obj, live)
        return self.store.update(rt, obj, dry_run=dry_run, subresource=subresource, manager=manager)

    def apply_patch_body(self, obj: Obj, media: str, body: Any, gvk: tuple[str, str, str]) -> Obj:
        """Apply a JSON, merge or strategic merge patch body to ``obj``."""
        try:
            if media == "application/json-patch+json":
                if not isinstance(body, list):
                    raise errors.bad_request("json patch must be a list of operations")
                return patch.apply_json_patch(obj, body)
            if media == "application/merge-patch+json":
                return patch.apply_merge_patch(obj, body)
            if media == "application/strategic-merge-patch+json":
                return patch.apply_strategic_merge_patch(obj, body, gvk)
        except patch.PatchError as exc:
            raise errors.ApiError(422, "Invalid", str(exc)) from None
        raise errors.unsupported_media_type(media)

    def patch(self, rt: ResourceType, namespace: str | None, name: str, media: str, body: Any, *,
              dry_run: bool = False, force: bool = False, manager: str = "unknown",
              subresource: str = "") -> tuple[Obj, bool]:
        """PATCH any type; returns (object, created).  Apply patches create missing objects."""
        gvk = (rt.group, rt.version, rt.kind)
        live = self.store.get(rt, namespace, name)
        if media.startswith("application/apply-patch"):
            return self._apply(rt, namespace, name, live, body, gvk, dry_run, force, manager, subresource)
        if live is None:
            raise errors.not_found(rt.group, rt.plural, name)
        if body is None:
            raise errors.bad_request("the body of the patch is empty")
        patched = self.apply_patch_body(copy.deepcopy(live), media, body, gvk)
        patched.setdefault("metadata", {})
        if patched["metadata"].get("name") != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        if subresource != "status":
            patched = defaults.prepare(rt, patched, live)
        return self.store.update(rt, patched, dry_run=dry_run, subresource=subresource, manager=manager), False

    def _apply(self, rt: ResourceType, namespace: str | None, name: str, live: Obj | None, body: Any,
               gvk: tuple[str, str, str], dry_run: bool, force: bool, manager: str,
               subresource: str) -> tuple[Obj, bool]:
        if not isinstance(body, dict):
            raise errors.bad_request("apply patch body must be an object")
        body.setdefault("metadata", {})
        if body["metadata"].get("name", name) != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        body["metadata"]["name"] = name
        if rt.namespaced:
            body["metadata"]["namespace"] = namespace
        try:
            result = patch.apply_server_side(live, body, manager, force, gvk)
        except patch.ApplyConflict as exc:
            causes = []
            for conflict in exc.conflicts:
                who, _, field = conflict.rpartition(": ")
                causes.append({"reason": "FieldManagerConflict", "message": who or conflict, "field": field})
            raise errors.ApiError(409, "Conflict", str(exc),
                                  {"name": name, "group": rt.group, "kind": rt.plural, "causes": causes}) from None
        except patch.PatchError as exc:
            raise errors.ApiError(422, "Invalid", str(exc)) from None
        if live is None:
            if subresource:
                raise errors.not_found(rt.group, rt.plural, name)
            prepared = defaults.prepare(rt, result, None)
            uid = prepared["metadata"].get("uid") if rt.kind == "Job" else None
            return self.store.create(rt, prepared, dry_run=dry_run, uid=uid), True
        if subresource != "status":
            result = defaults.prepare(rt, result, live)
        return self.store.update(rt, result, dry_run=dry_run, subresource=subresource,
                                 managed_fields_set=True), False

    # -- knobs and logs (the Python API; the admin HTTP API calls these too) -------------
    def set_knobs(self, namespace: str | None, *, pod: str | None = None,
                  selector: str | None = None, **knobs: Any) -> None:
        """Set knobs for one pod (by name) or for pods matching a label selector, then wake pods."""
        if pod is not None:
            self.knobs.set_for_pod(namespace or "default", pod, knobs)
        elif selector is not None:
            self.knobs.set_for_selector(namespace, selector, knobs)
        else:
            raise ValueError("give pod= or selector=")
        self.kick()

    def append_log(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        """Append lines to the running instance of a container (``-f`` followers see them)."""
        obj = self.store.must_get(REGISTRY.get("", "pods"), namespace, pod)
        name = container or obj["spec"]["containers"][0]["name"]
        self.logs.append(obj["metadata"]["uid"], name, text)

    def kick(self) -> None:
        """Re-read knobs in every pod and reconcile every workload."""
        self.controllers.kubelet.kick_all()
        for plural in ("deployments", "replicasets", "statefulsets", "jobs", "daemonsets"):
            rt = self.controllers.rt[plural]
            for obj in self.store.list(rt):
                self.controllers.enqueue(plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def node_object() -> Obj:
    """The single node pods are scheduled on."""
    return {
        "metadata": {"name": "kubesim-node-1", "labels": {"kubernetes.io/hostname": "kubesim-node-1",
                                                          "kubernetes.io/os": "linux"}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                          {"type": "Hostname", "address": "kubesim-node-1"}],
            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.34.1", "containerRuntimeVersion": "kubesim://1.0",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    }

