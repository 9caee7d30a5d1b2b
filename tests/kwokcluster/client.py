""":class:`KwokClient`: tests/kubesim's ``SimClient`` API, over HTTPS to a real API server.

Same method names and parameters, returning the plain dicts the API returns; the
namespace parameters default to the client's own namespace (settable, so that each test
can have a namespace of a shared cluster).  Knobs are pod annotations here: ``set_knobs``
patches them and the Stages react.

``KwokClient(kubeconfig, namespace=...)`` works on any kubeconfig; ``append_log`` needs
the log folder a kwok cluster names in its kubeconfig, and ``set_knobs(selector=...)``
the log agent of a cluster started in this process (:func:`register`).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from tests.polling import wait_until

from . import knobs as knobs_mod
from .api import Api, ApiError, Resources
from .kubeconfig import read_kubeconfig
from .logfiles import LogStore

if TYPE_CHECKING:
    from .agent import KnobRules

T = TypeVar("T")
Obj = dict[str, Any]


class _Default:
    def __repr__(self) -> str:
        return "<the client's namespace>"


DEFAULT: Final[Any] = _Default()


@dataclass
class Connection:
    """What clients of one cluster share."""

    api: Api
    resources: Resources
    log_store: LogStore | None = None
    rules: KnobRules | None = None


@dataclass(frozen=True)
class _Local:
    log_store: LogStore
    rules: KnobRules


_local: dict[str, _Local] = {}
_local_lock = threading.Lock()


def register(server: str, log_store: LogStore, rules: KnobRules) -> None:
    """A cluster started in this process: clients made from its kubeconfig use its agent."""
    with _local_lock:
        _local[server.rstrip("/")] = _Local(log_store, rules)


def unregister(server: str) -> None:
    with _local_lock:
        _local.pop(server.rstrip("/"), None)


def connect(kubeconfig: str | os.PathLike[str]) -> tuple[Connection, str]:
    """A connection from a kubeconfig file, and its context's namespace."""
    conf = read_kubeconfig(Path(kubeconfig))
    api = Api(conf.credentials)
    with _local_lock:
        local = _local.get(conf.credentials.server)
    store = LogStore(conf.log_root) if conf.log_root else (local.log_store if local else None)
    return Connection(api, Resources(api), store, local.rules if local else None), conf.namespace


class KwokClient:
    """Calls to one cluster, in :attr:`namespace` unless told otherwise."""

    def __init__(self, kubeconfig: str | os.PathLike[str] | None = None, namespace: str | None = None, *,
                 connection: Connection | None = None) -> None:
        if connection is None:
            if kubeconfig is None:
                raise ValueError("KwokClient needs a kubeconfig or a connection")
            connection, context_namespace = connect(kubeconfig)
            namespace = namespace or context_namespace
        self.connection = connection
        self.api = connection.api
        self.resources = connection.resources
        self.namespace = namespace or "default"

    @property
    def log_store(self) -> LogStore:
        if self.connection.log_store is None:
            raise ValueError("this cluster's container logs are not reachable from here (not a kwok cluster?)")
        return self.connection.log_store

    def in_namespace(self, namespace: str) -> KwokClient:
        """Another client for the same cluster, defaulting to ``namespace``."""
        return KwokClient(namespace=namespace, connection=self.connection)

    def _ns(self, namespace: Any) -> str:
        return self.namespace if namespace is DEFAULT else namespace

    # -- SimClient's API -----------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: str = DEFAULT) -> Obj | None:
        rt = self.resources.lookup(kind)
        try:
            return self.api.json("GET", rt.path(self._ns(namespace), name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None = DEFAULT, selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]:
        """Objects of ``kind`` (``namespace=None``: all namespaces)."""
        rt = self.resources.lookup(kind)
        params = {k: v for k, v in (("labelSelector", selector), ("fieldSelector", field_selector)) if v}
        listing = self.api.json("GET", rt.path(self._ns(namespace)), params=params)
        kind_name = rt.kind
        items = listing.get("items") or []
        for item in items:  # a list's items carry no kind; SimClient's objects do
            item.setdefault("apiVersion", rt.api_version)
            item.setdefault("kind", kind_name)
        return items

    def create(self, obj: Obj) -> Obj:
        rt = self.resources.for_object(obj)
        obj = copy.deepcopy(obj)
        namespace = None
        if rt.namespaced:
            namespace = obj.setdefault("metadata", {}).setdefault("namespace", self.namespace)
        return self.api.json("POST", rt.path(namespace), body=obj)

    def patch(self, kind: str, name: str, patch: Obj, namespace: str = DEFAULT,
              patch_type: str = "application/merge-patch+json", subresource: str = "") -> Obj:
        rt = self.resources.lookup(kind)
        params = {"fieldManager": "kwokcluster-test", "force": "true"} if "apply-patch" in patch_type else None
        return self.api.json("PATCH", rt.path(self._ns(namespace), name, subresource), body=patch,
                             content_type=patch_type, params=params)

    def delete(self, kind: str, name: str, namespace: str = DEFAULT, propagation: str = "Background",
               grace_period: int | None = None) -> Obj:
        """DELETE as kubectl does it (Background propagation unless told otherwise); the
        API's answer (the object, while finalizers or a grace period keep it, or a Status)."""
        rt = self.resources.lookup(kind)
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        return self.api.json("DELETE", rt.path(self._ns(namespace), name), body=options)

    def set_knobs(self, namespace: str | None = DEFAULT, *, pod: str | None = None,
                  selector: str | None = None, **knobs: Any) -> None:
        """Set knobs (``None`` removes one) on pod ``pod``, or on the pods matching
        ``selector`` now and those created later (the log agent adds them before the pod
        starts).  ``unschedulable`` only takes effect when a pod is created (it becomes a
        nodeSelector), so it is refused here."""
        if (pod is None) == (selector is None):
            raise ValueError("set_knobs needs pod= or selector=")
        if any(k.removeprefix(knobs_mod.PREFIX) == "unschedulable" for k in knobs):
            raise ValueError("unschedulable is a creation-time knob on kwok: set the annotation in the pod spec")
        annotations = knobs_mod.strings(knobs)
        body = {"metadata": {"annotations": annotations}}
        if pod is not None:
            self.patch("pods", pod, body, namespace=self._ns(namespace))
            return
        rules = self.connection.rules
        if rules is None:
            raise ValueError("set_knobs(selector=...) needs the log agent of a cluster started in this process")
        from .agent import KnobRule

        ns = None if namespace is None else self._ns(namespace)
        rules.add(KnobRule(namespace=ns, selector=str(selector), annotations=annotations))
        for item in self.list("pods", namespace=ns, selector=selector):
            meta = item["metadata"]
            try:
                self.patch("pods", meta["name"], body, namespace=meta["namespace"])
            except ApiError as exc:
                if exc.status != 404:
                    raise

    def append_log(self, pod: str, text: str, namespace: str = DEFAULT, container: str | None = None) -> None:
        """Append lines to the running instance's log; ``kubectl logs -f`` shows them."""
        obj = self.get("pods", pod, namespace)
        if obj is None:
            raise KeyError(f"pod {self._ns(namespace)}/{pod} not found")
        name = container or obj["spec"]["containers"][0]["name"]
        meta = obj["metadata"]
        self.log_store.append(self.log_store.current(meta["namespace"], meta["name"], meta["uid"], name), text)

    def logs(self, pod: str, namespace: str = DEFAULT, container: str | None = None,
             previous: bool = False) -> str:
        """The container's log, through the API server and kwok (as ``kubectl logs``);
        empty when there is none yet (a container not started, no previous instance), as
        SimClient's is."""
        if container is None:  # SimClient's default: the first container
            obj = self.get("pods", pod, namespace)
            if obj is None:
                raise KeyError(f"pod {self._ns(namespace)}/{pod} not found")
            container = obj["spec"]["containers"][0]["name"]
        params = {"container": container, **({"previous": "true"} if previous else {})}
        try:
            return self.api.text("GET", f"/api/v1/namespaces/{self._ns(namespace)}/pods/{pod}/log", params=params,
                                 accept="*/*")
        except ApiError as exc:
            if exc.status == 400:
                return ""
            raise

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
                 message: str = "condition") -> T:
        """Poll ``predicate`` until it returns something truthy."""
        return wait_until(predicate, timeout, interval, message)

    # -- conveniences --------------------------------------------------------------------
    def close(self) -> None:
        self.api.close()

    def create_namespace(self, name: str, wait: bool = True, timeout: float = 30.0) -> Obj:
        """Create a namespace and (``wait``) its ``default`` ServiceAccount, which pods need:
        the service account controller adds it a moment after the namespace."""
        created = self.api.json("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                                    "metadata": {"name": name}})
        if wait:
            self.wait_for(lambda: self.get("serviceaccounts", "default", name), timeout=timeout, interval=0.05,
                          message=f"the default ServiceAccount of namespace {name}")
        return created

    def delete_namespace(self, name: str) -> None:
        try:
            self.api.request("DELETE", f"/api/v1/namespaces/{name}")
        except ApiError as exc:
            if exc.status != 404:
                raise
