"""The garbage collector: asynchronous cascading deletion, as kube-controller-manager does it.

The API server only marks an owner (Orphan and Foreground deletions add the ``orphan`` and
``foregroundDeletion`` finalizers) or removes it (Background); this controller notices a
moment later (``delay``, real seconds, drawn anew for every step) and then:

* Background -- once an owner is gone, deletes each dependent with no other live owner
  (with Background propagation itself, so a Deployment's pods go one step after its
  ReplicaSets); dependents that still have a live owner lose the dangling reference;
* Foreground -- deletes the owner's dependents (Foreground again for those that own
  objects themselves) and removes ``foregroundDeletion`` once no dependent with
  ``blockOwnerDeletion`` is left, so the owner disappears last;
* Orphan -- removes the owner's reference from its dependents, then the ``orphan``
  finalizer, so the dependents keep running on their own.

Objects created with an ownerReference to an owner that does not exist are collected too.
Pods deleted here terminate gracefully (the kubelet stops them), so they stay visible,
with a ``deletionTimestamp``, for a while after the collector deleted them.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from typing import TYPE_CHECKING, Any

from . import errors
from .resources import ResourceType
from .store import WatchEvent

if TYPE_CHECKING:
    from .sim import Simulator

Obj = dict[str, Any]
log = logging.getLogger(__name__)
Delay = float | tuple[float, float]


def draw(delay: Delay) -> float:
    """A delay: a fixed number of seconds or uniformly drawn from ``(low, high)``."""
    if isinstance(delay, tuple | list):
        low, high = delay
        return random.uniform(low, high)
    return float(delay)


class GarbageCollector:
    """Reacts to owner deletions after ``sim.gc_delay`` seconds; attached to the simulator's store."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store
        self.pending: set[tuple[str, str]] = set()
        self.timers: list[asyncio.TimerHandle] = []
        self.store.async_gc = True
        self.store.listeners.append(self.on_event)

    def stop(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    # -- noticing ----------------------------------------------------------------------
    def on_event(self, event: WatchEvent) -> None:
        meta = event.obj["metadata"]
        uid = meta.get("uid", "")
        refs = meta.get("ownerReferences") or []
        if event.type == "DELETED":
            if uid in self.store.owners:
                self._schedule("owner-gone", uid)
            self._recheck_foreground(ref.get("uid", "") for ref in refs)
            return
        if meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or []
            if "orphan" in finalizers:
                self._schedule("orphan", uid)
            if "foregroundDeletion" in finalizers:
                self._schedule("foreground", uid)
        if any(self.store.peek_uid(ref.get("uid", "")) is None for ref in refs):
            self._schedule("dangling", uid)
        if event.old is not None:
            kept = {ref.get("uid") for ref in refs}
            self._recheck_foreground(ref.get("uid", "") for ref in event.old["metadata"].get("ownerReferences") or []
                                     if ref.get("uid") not in kept)

    def _recheck_foreground(self, owner_uids: Any) -> None:
        """A dependent went away (or dropped its reference): its deleting owner may be done."""
        for owner_uid in owner_uids:
            owner = self.store.peek_uid(owner_uid)
            if owner is not None and "foregroundDeletion" in (owner[1]["metadata"].get("finalizers") or []):
                self._schedule("foreground", owner_uid)

    def _schedule(self, action: str, uid: str) -> None:
        key = (action, uid)
        if not uid or key in self.pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.pending.add(key)
        self.timers = [t for t in self.timers if not t.cancelled() and t.when() > loop.time()]
        self.timers.append(loop.call_later(draw(self.sim.gc_delay), self._run, action, uid))

    def _run(self, action: str, uid: str) -> None:
        self.pending.discard((action, uid))
        try:
            if action == "owner-gone":
                for rt, dep in [(rt, copy.deepcopy(d)) for rt, d in self.store.dependents(uid)]:
                    self._each(self._attempt_to_delete, rt, dep)
            elif action == "dangling":
                found = self.store.by_uid(uid)
                if found is not None:
                    self._attempt_to_delete(*found)
            elif action == "orphan":
                self._orphan(uid)
            elif action == "foreground":
                self._foreground(uid)
        except errors.ApiError as exc:
            # the object changed under us (a conflict, already gone): the next event retries
            log.debug("kubesim gc: %s %s: %s", action, uid, exc)
        except Exception:  # noqa: BLE001 - the collector must keep running
            log.exception("kubesim gc: %s %s failed", action, uid)

    @staticmethod
    def _each(fn: Any, rt: ResourceType, dep: Obj) -> None:
        """One dependent's failure (it changed or went meanwhile) must not stop the others."""
        try:
            fn(rt, dep)
        except errors.ApiError as exc:
            log.debug("kubesim gc: %s/%s: %s", rt.plural, dep["metadata"]["name"], exc)

    # -- acting ------------------------------------------------------------------------
    def _classify(self, dep: Obj) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """The dependent's owner references: (solid, dangling, waiting for dependents' deletion)."""
        solid, dangling, waiting = [], [], []
        for ref in dep["metadata"].get("ownerReferences") or []:
            found = self.store.peek_uid(ref.get("uid", ""))
            if found is None:
                dangling.append(ref)
                continue
            owner_meta = found[1]["metadata"]
            if owner_meta.get("deletionTimestamp") and "foregroundDeletion" in (owner_meta.get("finalizers") or []):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    def _attempt_to_delete(self, rt: ResourceType, dep: Obj) -> None:
        meta = dep["metadata"]
        if not meta.get("ownerReferences"):
            return
        if meta.get("deletionTimestamp") and "foregroundDeletion" not in (meta.get("finalizers") or []):
            return  # already on its way out
        solid, dangling, waiting = self._classify(dep)
        if solid:
            if dangling or waiting:
                gone = {ref.get("uid") for ref in dangling + waiting}
                self._drop_refs(rt, dep, gone)
            return
        if not dangling and not waiting:
            return
        finalizers = meta.get("finalizers") or []
        if waiting and self.store.dependents(meta["uid"]):
            policy = "Foreground"
        elif "orphan" in finalizers:
            policy = "Orphan"
        elif "foregroundDeletion" in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        self.store.delete(rt, meta.get("namespace"), meta["name"], propagation=policy,
                          precondition_uid=meta["uid"])

    def _drop_refs(self, rt: ResourceType, dep: Obj, uids: set[str | None]) -> None:
        fresh = self.store.by_uid(dep["metadata"]["uid"])
        if fresh is None:
            return
        obj = fresh[1]
        refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") not in uids]
        if refs:
            obj["metadata"]["ownerReferences"] = refs
        else:
            obj["metadata"].pop("ownerReferences", None)
        self.store.update(rt, obj)

    def _remove_finalizer(self, rt: ResourceType, owner: Obj, finalizer: str) -> None:
        owner["metadata"]["finalizers"] = [f for f in owner["metadata"].get("finalizers") or [] if f != finalizer]
        if not owner["metadata"]["finalizers"]:
            del owner["metadata"]["finalizers"]
        self.store.update(rt, owner)

    def _orphan(self, uid: str) -> None:
        found = self.store.by_uid(uid)
        if found is None or "orphan" not in (found[1]["metadata"].get("finalizers") or []):
            return
        rt, owner = found
        for dep_rt, dep in [(r, copy.deepcopy(d)) for r, d in self.store.dependents(uid)]:
            self._each(lambda r, d: self._drop_refs(r, d, {uid}), dep_rt, dep)
        fresh = self.store.by_uid(uid)
        if fresh is not None:
            self._remove_finalizer(rt, fresh[1], "orphan")

    def _foreground(self, uid: str) -> None:
        found = self.store.by_uid(uid)
        if found is None or "foregroundDeletion" not in (found[1]["metadata"].get("finalizers") or []):
            return
        rt, owner = found
        blocking = []
        for dep_rt, dep in [(r, copy.deepcopy(d)) for r, d in self.store.dependents(uid)]:
            ref = next(r for r in dep["metadata"]["ownerReferences"] if r.get("uid") == uid)
            if ref.get("blockOwnerDeletion"):
                blocking.append(dep)
            self._each(self._attempt_to_delete, dep_rt, dep)
        if not blocking:
            self._remove_finalizer(rt, owner, "foregroundDeletion")
