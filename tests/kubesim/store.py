"""Object storage: objects per resource, a global resourceVersion, watch history and fan-out.

All methods are synchronous and must be called on the simulator's event loop thread; the
server handlers, the controllers and the Python API (via ``call_soon_threadsafe``) do so.
Writes notify *listeners* (the controllers) synchronously and push events to watchers.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import errors
from .patch import record_update
from .resources import REGISTRY, ResourceType
from .selectors import Predicate

Obj = dict[str, Any]
HISTORY_LIMIT = 200_000


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WatchEvent:
    """One change: ``type`` ADDED/MODIFIED/DELETED, the new object and the previous one."""

    rv: int
    type: str
    rt: ResourceType
    obj: Obj
    old: Obj | None


@dataclass(eq=False)
class Watcher:
    """A watch subscription: events of one resource (and namespace) go to ``queue``."""

    rt: ResourceType
    namespace: str | None
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)

    def wants(self, event: WatchEvent) -> bool:
        if event.rt.store_key != self.rt.store_key:
            return False
        return self.namespace is None or event.obj["metadata"].get("namespace") == self.namespace


Listener = Callable[[WatchEvent], None]


def _content(obj: Obj) -> Obj:
    """The part of an object whose change bumps ``metadata.generation``."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """Every stored object, keyed by resource then (namespace, name)."""

    def __init__(self) -> None:
        self.rv = 1000
        self.objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self.history: deque[WatchEvent] = deque()
        self.compacted_rv = 0  # watches from before this resourceVersion get 410 Expired
        self.watchers: set[Watcher] = set()
        self.listeners: list[Listener] = []

    # -- reading -----------------------------------------------------------------------
    def _bucket(self, rt: ResourceType) -> dict[tuple[str, str], Obj]:
        return self.objects.setdefault(rt.store_key, {})

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        obj = self._bucket(rt).get((namespace or "", name))
        return copy.deepcopy(obj) if obj is not None else None

    def must_get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.get(rt, namespace, name)
        if obj is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return obj

    def list(self, rt: ResourceType, namespace: str | None = None, predicate: Predicate | None = None) -> list[Obj]:
        out = []
        for (ns, _name), obj in sorted(self._bucket(rt).items()):
            if namespace is not None and rt.namespaced and ns != namespace:
                continue
            if predicate is not None and not predicate(obj):
                continue
            out.append(copy.deepcopy(obj))
        return out

    # -- writing -----------------------------------------------------------------------
    def _emit(self, type_: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        event = WatchEvent(int(obj["metadata"]["resourceVersion"]), type_, rt, copy.deepcopy(obj), old)
        self.history.append(event)
        if len(self.history) > HISTORY_LIMIT:
            self.compact(HISTORY_LIMIT // 2)
        for watcher in list(self.watchers):
            if watcher.wants(event):
                watcher.queue.put_nowait(event)
        for listener in list(self.listeners):
            listener(event)

    def _check_namespace(self, rt: ResourceType, namespace: str) -> None:
        if rt.namespaced and namespace not in {ns for _, ns in self._bucket(REGISTRY.get("", "namespaces"))}:
            raise errors.not_found("", "namespaces", namespace)

    def create(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        dry_run: bool = False,
        manager: str | None = None,
        uid: str | None = None,
    ) -> Obj:
        """Store a new object, filling server-owned metadata; raises AlreadyExists.

        ``uid`` is for callers that had to know it in advance (Job selectors).
        """
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        if rt.namespaced:
            if not namespace:
                raise errors.bad_request("the namespace of the object is required")
            self._check_namespace(rt, namespace)
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise errors.invalid(rt.kind, rt.group, "", "metadata.name: Required value: name or generateName is required", "metadata.name")
            while True:
                meta["name"] = prefix + uuid.uuid4().hex[:5]
                if (namespace, meta["name"]) not in self._bucket(rt):
                    break
        name = meta["name"]
        if (namespace, name) in self._bucket(rt):
            raise errors.already_exists(rt.group, rt.plural, name)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta["uid"] = uid or str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta.pop("deletionTimestamp", None)
        if rt.has_status or rt.group in ("apps", "batch"):
            meta["generation"] = 1
        if manager and "managedFields" not in meta:
            obj = record_update(None, obj, manager)
            meta = obj["metadata"]
        if dry_run:
            meta["resourceVersion"] = str(self.rv)
            return obj
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        self._bucket(rt)[(namespace, name)] = obj
        self._emit("ADDED", rt, obj, None)
        return copy.deepcopy(obj)

    def update(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        check_rv: bool = True,
        dry_run: bool = False,
        subresource: str = "",
        manager: str | None = None,
        managed_fields_set: bool = False,
    ) -> Obj:
        """Replace an object.  ``subresource="status"`` changes only status; main writes keep status.

        With ``check_rv`` a stale ``metadata.resourceVersion`` is a 409 Conflict.  When the
        last finalizer of a deleting object goes, the object is removed.
        """
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        name = meta.get("name", "")
        live = self._bucket(rt).get((namespace, name))
        if live is None:
            raise errors.not_found(rt.group, rt.plural, name)
        if check_rv and meta.get("resourceVersion") and meta["resourceVersion"] != live["metadata"]["resourceVersion"]:
            raise errors.conflict(
                rt.group, rt.plural, name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        live_meta = live["metadata"]
        if subresource == "status":
            new = copy.deepcopy(live)
            new["status"] = obj.get("status", {})
        else:
            new = obj
            new["apiVersion"] = rt.api_version
            new["kind"] = rt.kind
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
                if key in live_meta:
                    meta[key] = live_meta[key]
                else:
                    meta.pop(key, None)
            if not managed_fields_set and "managedFields" not in meta and "managedFields" in live_meta:
                meta["managedFields"] = live_meta["managedFields"]
            if rt.has_status and subresource == "":
                if "status" in live:
                    new["status"] = live["status"]
                else:
                    new.pop("status", None)
            if "generation" in live_meta and _content(new) != _content(live):
                meta["generation"] = live_meta["generation"] + 1
        if manager and not managed_fields_set:
            new = record_update(live, new, manager)
        if new == live:
            return copy.deepcopy(live)
        if dry_run:
            return new
        self.rv += 1
        new["metadata"]["resourceVersion"] = str(self.rv)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self._remove(rt, new)
        self._bucket(rt)[(namespace, name)] = new
        self._emit("MODIFIED", rt, new, live)
        return copy.deepcopy(new)

    def _remove(self, rt: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        live = self._bucket(rt).pop(key, None)
        if live is None:
            return obj
        self.rv += 1
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self._emit("DELETED", rt, gone, live)
        if rt.kind == "Namespace" and rt.group == "":
            self._delete_namespace_contents(meta["name"])
        return gone

    def _delete_namespace_contents(self, namespace: str) -> None:
        for rt in REGISTRY.resources:
            if not rt.namespaced:
                continue
            for (ns, name) in list(self._bucket(rt)):
                if ns == namespace:
                    self._delete_now(rt, self._bucket(rt)[(ns, name)], "Background")

    def dependents(self, uid: str) -> list[tuple[ResourceType, Obj]]:
        """Objects with an ownerReference to ``uid``."""
        out = []
        for rt in REGISTRY.resources:
            for obj in self._bucket(rt).values():
                refs = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in refs):
                    out.append((rt, obj))
        return out

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        dry_run: bool = False,
        precondition_uid: str | None = None,
        precondition_rv: str | None = None,
    ) -> Obj:
        """Delete an object and garbage-collect its dependents (Background/Foreground), or orphan them."""
        live = self._bucket(rt).get((namespace or "" if rt.namespaced else "", name))
        if live is None:
            raise errors.not_found(rt.group, rt.plural, name)
        if precondition_uid and precondition_uid != live["metadata"]["uid"]:
            raise errors.conflict(rt.group, rt.plural, name, f"Precondition failed: UID in precondition: {precondition_uid}, UID in object meta: {live['metadata']['uid']}")
        if precondition_rv and precondition_rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.group, rt.plural, name, "the object has been modified; please apply your changes to the latest version and try again")
        if dry_run:
            return copy.deepcopy(live)
        return self._delete_now(rt, live, propagation or "Background")

    def _delete_now(self, rt: ResourceType, live: Obj, propagation: str) -> Obj:
        uid = live["metadata"]["uid"]
        if propagation == "Orphan":
            for dep_rt, dep in self.dependents(uid):
                dep = copy.deepcopy(dep)
                dep["metadata"]["ownerReferences"] = [
                    r for r in dep["metadata"]["ownerReferences"] if r.get("uid") != uid
                ]
                if not dep["metadata"]["ownerReferences"]:
                    del dep["metadata"]["ownerReferences"]
                self.update(dep_rt, dep, check_rv=False)
        else:
            for dep_rt, dep in self.dependents(uid):
                key = (dep["metadata"].get("namespace", ""), dep["metadata"]["name"])
                if key in self._bucket(dep_rt):
                    self._delete_now(dep_rt, dep, "Background")
        current = self._bucket(rt).get(
            (live["metadata"].get("namespace", "") if rt.namespaced else "", live["metadata"]["name"])
        )
        if current is None:
            return copy.deepcopy(live)
        finalizers = [f for f in current["metadata"].get("finalizers") or []
                      if f not in ("foregroundDeletion", "orphan")]
        if finalizers:
            marked = copy.deepcopy(current)
            marked["metadata"]["finalizers"] = finalizers
            marked["metadata"].setdefault("deletionTimestamp", now_rfc3339())
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            return self.update(rt, marked, check_rv=False)
        return self._remove(rt, current)

    # -- watching ----------------------------------------------------------------------
    def subscribe(self, rt: ResourceType, namespace: str | None) -> Watcher:
        watcher = Watcher(rt, namespace)
        self.watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)

    def events_since(self, rt: ResourceType, namespace: str | None, rv: int) -> list[WatchEvent]:
        """History events after ``rv``; raises 410 Expired when ``rv`` is older than the history."""
        if rv < self.compacted_rv:
            raise errors.expired(f"too old resource version: {rv} ({self.compacted_rv})")
        out = []
        for event in self.history:
            if event.rv > rv and event.rt.store_key == rt.store_key and (
                namespace is None or event.obj["metadata"].get("namespace") == namespace
            ):
                out.append(event)
        return out

    def compact(self, keep: int) -> None:
        """Forget all but the last ``keep`` events, like etcd compaction."""
        while len(self.history) > keep:
            self.compacted_rv = self.history.popleft().rv

    def close_watchers(self) -> None:
        for watcher in list(self.watchers):
            watcher.queue.put_nowait(None)
