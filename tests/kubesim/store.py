"""Object storage: objects per resource, a global resourceVersion, watch history and fan-out.

All methods are synchronous and must be called on the simulator's event loop thread; the
server handlers, the controllers and the Python API (via ``call_soon_threadsafe``) do so.
Writes notify *listeners* (the controllers, the garbage collector) synchronously and push
events to watchers.

Deletion follows the API server: an object with finalizers (including the ``orphan`` and
``foregroundDeletion`` finalizers that the Orphan and Foreground propagation policies add)
only gets a ``deletionTimestamp``, and a pod on a node gets a grace period for the kubelet
to stop it.  With a garbage collector attached (``async_gc``) dependents are left to it;
a bare Store (no simulator) cascades synchronously, which keeps it usable on its own.

The watch history is kept per resource type like the API server's watch cache: at least
``cache_size`` events, and everything younger than ``cache_seconds``; a watch from an older
resourceVersion gets 410 Expired.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import errors
from .patch import record_update
from .resources import REGISTRY, ResourceType
from .selectors import Predicate

Obj = dict[str, Any]
HISTORY_LIMIT = 100 * 1024  # the watch cache's upper bound, per resource type
DEFAULT_CACHE_SIZE = 100  # the watch cache's lower bound capacity, per resource type
DEFAULT_CACHE_SECONDS = 75.0  # the watch cache keeps at least this much history (eventFreshDuration)
GC_FINALIZERS = ("orphan", "foregroundDeletion")
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


def now_rfc3339(offset: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


@dataclass
class WatchEvent:
    """One change: ``type`` ADDED/MODIFIED/DELETED, the new object and the previous one."""

    rv: int
    type: str
    rt: ResourceType
    obj: Obj
    old: Obj | None
    at: float = field(default_factory=time.monotonic)


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

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE,
                 cache_seconds: float = DEFAULT_CACHE_SECONDS) -> None:
        self.rv = 1000
        self.objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self.history: dict[tuple[str, str], deque[WatchEvent]] = {}
        self.cache_size = cache_size
        self.cache_seconds = cache_seconds
        self.compacted_rv = 0  # watches from before this resourceVersion get 410 Expired
        self.type_floor: dict[tuple[str, str], int] = {}  # the same, per resource type
        self.watchers: set[Watcher] = set()
        self.listeners: list[Listener] = []
        self.uids: dict[str, tuple[ResourceType, tuple[str, str]]] = {}
        self.owners: dict[str, set[tuple[ResourceType, tuple[str, str]]]] = {}
        # set by the simulator: a garbage collector handles dependents, a kubelet stops pods
        self.async_gc = False
        self.graceful_pods = False

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

    def by_uid(self, uid: str) -> tuple[ResourceType, Obj] | None:
        """A copy of the object with ``uid`` (any resource), or None."""
        found = self.peek_uid(uid)
        return (found[0], copy.deepcopy(found[1])) if found is not None else None

    def peek_uid(self, uid: str) -> tuple[ResourceType, Obj] | None:
        """The stored object with ``uid`` itself: read it, never change it."""
        found = self.uids.get(uid)
        if found is None:
            return None
        rt, key = found
        obj = self._bucket(rt).get(key)
        return (rt, obj) if obj is not None else None

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
    def _index(self, rt: ResourceType, obj: Obj, present: bool) -> None:
        """Keep the uid and owner-uid indexes in step with the stored objects."""
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        if present:
            self.uids[meta["uid"]] = (rt, key)
        else:
            self.uids.pop(meta["uid"], None)
        for ref in meta.get("ownerReferences") or []:
            owner = ref.get("uid")
            if not owner:
                continue
            deps = self.owners.setdefault(owner, set())
            if present:
                deps.add((rt, key))
            else:
                deps.discard((rt, key))
                if not deps:
                    del self.owners[owner]

    def _reindex(self, rt: ResourceType, old: Obj | None, new: Obj | None) -> None:
        if old is not None:
            self._index(rt, old, False)
        if new is not None:
            self._index(rt, new, True)

    def _emit(self, type_: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        event = WatchEvent(int(obj["metadata"]["resourceVersion"]), type_, rt, copy.deepcopy(obj), old)
        self._remember(event)
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
        self._reindex(rt, None, obj)
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
        last finalizer of a deleting object goes and its grace period is over (0), the object
        is removed.  ``subresource="binding"`` (the scheduler) writes spec and status at once.
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
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "generation"):
                if key in live_meta:
                    meta[key] = live_meta[key]
                else:
                    meta.pop(key, None)
            if live_meta.get("deletionTimestamp"):
                added = [f for f in meta.get("finalizers") or [] if f not in (live_meta.get("finalizers") or [])]
                if added:
                    kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
                    raise errors.ApiError(
                        422, "Invalid",
                        f'{kind} "{name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be '
                        f"added if the object is being deleted, found new finalizers {json_list(added)}",
                        {"name": name, "kind": rt.plural})
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
        new_meta = new["metadata"]
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers") \
                and not new_meta.get("deletionGracePeriodSeconds"):
            return self._remove(rt, new)
        self._bucket(rt)[(namespace, name)] = new
        self._reindex(rt, live, new)
        self._emit("MODIFIED", rt, new, live)
        return copy.deepcopy(new)

    def _remove(self, rt: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        live = self._bucket(rt).pop(key, None)
        if live is None:
            return obj
        self._reindex(rt, live, None)
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
        """Objects with an ownerReference to ``uid`` (live references, not copies)."""
        out = []
        for rt, key in sorted(self.owners.get(uid, ()), key=lambda d: (d[0].store_key, d[1])):
            obj = self._bucket(rt).get(key)
            if obj is not None:
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
        grace_period: int | None = None,
    ) -> Obj:
        """Delete an object the way the API server does; returns what the DELETE call returns.

        ``propagation`` is Background (the default here), Foreground or Orphan.  Objects with
        finalizers, Foreground/Orphan deletions and pods that a kubelet has to stop only get a
        ``deletionTimestamp`` and stay until the finalizers are gone; pods on a node get
        ``grace_period`` (default ``terminationGracePeriodSeconds``), 0 removes them at once.
        """
        live = self._bucket(rt).get((namespace or "" if rt.namespaced else "", name))
        if live is None:
            raise errors.not_found(rt.group, rt.plural, name)
        if precondition_uid and precondition_uid != live["metadata"]["uid"]:
            raise errors.conflict(rt.group, rt.plural, name, f"Precondition failed: UID in precondition: {precondition_uid}, UID in object meta: {live['metadata']['uid']}")
        if precondition_rv and precondition_rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.group, rt.plural, name, "the object has been modified; please apply your changes to the latest version and try again")
        if dry_run:
            return copy.deepcopy(live)
        propagation = propagation or "Background"
        if not self.async_gc:
            return self._delete_now(rt, live, propagation)
        meta = live["metadata"]
        grace = self._grace_period(rt, live, grace_period)
        if meta.get("deletionTimestamp"):
            return self._delete_again(rt, live, propagation, grace)
        finalizers = [f for f in meta.get("finalizers") or [] if f not in GC_FINALIZERS]
        if propagation == "Orphan":
            finalizers.append("orphan")
        elif propagation == "Foreground":
            finalizers.append("foregroundDeletion")
        if not finalizers and not grace:
            return self._remove(rt, live)
        marked = copy.deepcopy(live)
        marked["metadata"]["finalizers"] = finalizers
        if not finalizers:
            del marked["metadata"]["finalizers"]
        marked["metadata"]["deletionTimestamp"] = now_rfc3339(grace)
        marked["metadata"]["deletionGracePeriodSeconds"] = grace
        return self._write_deleting(rt, live, marked)

    def _grace_period(self, rt: ResourceType, live: Obj, requested: int | None) -> int:
        """Seconds a pod gets to stop (0 for everything else, unscheduled and finished pods)."""
        if not (rt.kind == "Pod" and rt.group == "" and self.graceful_pods):
            return 0
        if not live.get("spec", {}).get("nodeName") or is_terminal(live):
            return 0
        if requested is None:
            requested = live["spec"].get("terminationGracePeriodSeconds", 30)
        return max(int(requested), 0)

    def _delete_again(self, rt: ResourceType, live: Obj, propagation: str, grace: int) -> Obj:
        """DELETE of an object already being deleted: a shorter grace period, or a new policy."""
        meta = live["metadata"]
        marked = copy.deepcopy(live)
        current = meta.get("deletionGracePeriodSeconds") or 0
        if grace < current:
            marked["metadata"]["deletionGracePeriodSeconds"] = grace
            marked["metadata"]["deletionTimestamp"] = now_rfc3339(grace)
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Orphan" and "orphan" not in finalizers and "foregroundDeletion" not in finalizers:
            finalizers.append("orphan")
        elif propagation == "Foreground" and "foregroundDeletion" not in finalizers and "orphan" not in finalizers:
            finalizers.append("foregroundDeletion")
        if finalizers:
            marked["metadata"]["finalizers"] = finalizers
        if marked == live:
            return copy.deepcopy(live)
        if not finalizers and not marked["metadata"].get("deletionGracePeriodSeconds"):
            return self._remove(rt, marked)
        return self._write_deleting(rt, live, marked)

    def _write_deleting(self, rt: ResourceType, live: Obj, marked: Obj) -> Obj:
        self.rv += 1
        marked["metadata"]["resourceVersion"] = str(self.rv)
        meta = marked["metadata"]
        key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        self._bucket(rt)[key] = marked
        self._reindex(rt, live, marked)
        self._emit("MODIFIED", rt, marked, live)
        return copy.deepcopy(marked)

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
        finalizers = [f for f in current["metadata"].get("finalizers") or [] if f not in GC_FINALIZERS]
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

    def _remember(self, event: WatchEvent) -> None:
        """Add to the resource type's history; forget what the watch cache would have dropped."""
        key = event.rt.store_key
        history = self.history.setdefault(key, deque())
        history.append(event)
        horizon = event.at - self.cache_seconds
        while len(history) > HISTORY_LIMIT or (len(history) > self.cache_size and history[0].at < horizon):
            self.type_floor[key] = history.popleft().rv

    def events_since(self, rt: ResourceType, namespace: str | None, rv: int) -> list[WatchEvent]:
        """History events after ``rv``; raises 410 Expired when ``rv`` is older than the history."""
        floor = max(self.compacted_rv, self.type_floor.get(rt.store_key, 0))
        if rv < floor:
            raise errors.expired(f"too old resource version: {rv} ({floor})")
        out = []
        for event in self.history.get(rt.store_key, ()):
            if event.rv > rv and (namespace is None or event.obj["metadata"].get("namespace") == namespace):
                out.append(event)
        return out

    def compact(self, keep: int) -> None:
        """Forget all but the last ``keep`` events of every resource type, like etcd compaction."""
        for key, history in self.history.items():
            while len(history) > keep:
                self.type_floor[key] = history.popleft().rv

    def close_watchers(self) -> None:
        for watcher in list(self.watchers):
            watcher.queue.put_nowait(None)


def json_list(items: list[str]) -> str:
    return "[]string{" + ", ".join(f'"{i}"' for i in items) + "}"
