"""Workload controllers: Deployment -> ReplicaSet -> Pod, StatefulSet, Job, DaemonSet, PVC binding.

Event driven: store changes enqueue the affected object (and the controller owning a
changed pod), and one worker task reconciles them -- a jittered moment later
(``Simulator.controller_latency``), so like a real control plane every reaction, status
and ``observedGeneration`` bump arrives in its own write after the change that caused it.
Rollouts follow the real controllers: RollingUpdate scales the new ReplicaSet up within
``maxSurge`` and the old ones down within ``maxUnavailable`` as new pods become available;
Recreate scales the old ones to zero and waits until their pods are gone (terminating ones
included) before it creates the new ReplicaSet.  Terminating pods do not count as replicas.
Jobs track their pods with the ``batch.kubernetes.io/job-tracking`` finalizer and, like the
1.31+ job controller, first add ``FailureTarget`` / ``SuccessCriteriaMet`` (deleting any
active pods), and ``Failed`` / ``Complete`` only once no pod is terminating any more.
Status fields and conditions are the ones kubectl rollout status, helm's readiness checks
and kstatus read.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import math
import random
import time
from typing import TYPE_CHECKING, Any

from . import errors
from .gc import draw
from .kubelet import Kubelet
from .resources import REGISTRY, ResourceType
from .selectors import label_selector_object_matches
from .store import WatchEvent, is_terminal, now_rfc3339

if TYPE_CHECKING:
    from .sim import Simulator

Obj = dict[str, Any]
log = logging.getLogger(__name__)
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
REVISION = "deployment.kubernetes.io/revision"
JOB_FINALIZER = "batch.kubernetes.io/job-tracking"
OWNER_PLURALS = {"ReplicaSet": "replicasets", "Deployment": "deployments", "StatefulSet": "statefulsets",
                 "Job": "jobs", "DaemonSet": "daemonsets"}


def safe_hash(value: Any, length: int = 10) -> str:
    digest = int(hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        digest, index = divmod(digest, len(SAFE_ALPHABET))
        out.append(SAFE_ALPHABET[index])
    return "".join(out)


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(SAFE_ALPHABET) for _ in range(length))


def owner_ref(obj: Obj) -> Obj:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owned_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == owner["metadata"]["uid"]


def pod_ready(pod: Obj) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return pod_ready_condition(pod)


def pod_ready_condition(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def scaled_int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        amount = total * int(value[:-1]) / 100
        return math.ceil(amount) if round_up else math.floor(amount)
    return int(value or 0)


def _set_condition(conditions: list[Obj], type_: str, status: bool, reason: str, message: str,
                   update_time: bool = True) -> list[Obj]:
    now = now_rfc3339()
    out = [c for c in conditions if c.get("type") != type_]
    previous = next((c for c in conditions if c.get("type") == type_), None)
    cond = {"type": type_, "status": "True" if status else "False", "reason": reason, "message": message,
            "lastUpdateTime": now, "lastTransitionTime": now}
    if previous and previous.get("status") == cond["status"]:
        cond["lastTransitionTime"] = previous.get("lastTransitionTime", now)
        if previous.get("reason") == reason and previous.get("message") == message:
            cond["lastUpdateTime"] = previous.get("lastUpdateTime", now)
    out.append(cond)
    return out


def _condition_true(conditions: list[Obj], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def _compact(status: Obj) -> Obj:
    """Drop zero counters, as Go's omitempty does."""
    return {k: v for k, v in status.items() if v not in (0, None) or k in ("observedGeneration",)}


class ControllerManager:
    """Runs the reconcilers and the kubelet."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store
        self.kubelet = Kubelet(sim)
        self.queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        self.pending: set[tuple[str, str, str]] = set()
        self.timers: list[asyncio.TimerHandle] = []
        self.progress: dict[str, tuple[Any, float]] = {}
        self.job_backoff_until: dict[str, float] = {}
        self.ready_since: dict[str, float] = {}
        self._worker: asyncio.Task[None] | None = None
        self.rt = {name: REGISTRY.get(group, name) for group, name in (
            ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
            ("apps", "daemonsets"), ("batch", "jobs"), ("", "pods"), ("", "persistentvolumeclaims"),
            ("", "services"), ("", "endpoints"))}
        self.store.listeners.append(self.on_event)

    # -- plumbing ----------------------------------------------------------------------
    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._work())
        for pod in self.store.list(self.rt["pods"]):
            self.kubelet.start_pod(pod)

    async def stop(self) -> None:
        for timer in self.timers:
            timer.cancel()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.kubelet.stop()

    def enqueue(self, plural: str, namespace: str, name: str) -> None:
        """Reconcile the object a controller latency from now (changes meanwhile coalesce)."""
        key = (plural, namespace, name)
        if key in self.pending:
            return
        self.pending.add(key)
        delay = draw(self.sim.controller_latency)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            delay = 0.0
        if delay <= 0:
            self.queue.put_nowait(key)
            return
        if len(self.timers) > 256:
            self.timers = [t for t in self.timers if not t.cancelled() and t.when() > loop.time()]
        self.timers.append(loop.call_later(delay, self.queue.put_nowait, key))

    def enqueue_later(self, delay: float, plural: str, namespace: str, name: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.timers = [t for t in self.timers if not t.cancelled() and t.when() > loop.time()]
        self.timers.append(loop.call_later(max(delay, 0.0), self.enqueue, plural, namespace, name))

    def on_event(self, event: WatchEvent) -> None:
        rt, obj = event.rt, event.obj
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if rt.group in ("apps", "batch") and rt.plural in self.rt:
            self.enqueue(rt.plural, ns, name)
        if rt.plural == "pods" and rt.group == "":
            self._on_pod_event(event)
        if rt.plural in ("persistentvolumeclaims", "services") and rt.group == "" and event.type == "ADDED":
            self.enqueue(rt.plural, ns, name)
        owner = controller_of(obj)
        if owner is not None:
            plural = OWNER_PLURALS.get(owner.get("kind", ""))
            if plural:
                self.enqueue(plural, ns, owner["name"])

    def _on_pod_event(self, event: WatchEvent) -> None:
        obj = event.obj
        meta = obj["metadata"]
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if event.type == "ADDED":
            self.kubelet.start_pod(obj)
        elif event.type == "DELETED":
            self.kubelet.stop_pod(meta["uid"])
            self.ready_since.pop(meta["uid"], None)
        elif meta.get("deletionTimestamp"):
            self.kubelet.terminate_pod(obj)
        owner = controller_of(obj)
        if owner is not None and owner.get("kind") == "ReplicaSet":
            # the deployment controller watches pods too (Recreate waits for old pods to go)
            found = self.store.peek_uid(owner.get("uid", ""))
            rs_owner = controller_of(found[1]) if found is not None else None
            if rs_owner is not None and rs_owner.get("kind") == "Deployment":
                self.enqueue("deployments", meta.get("namespace", ""), rs_owner["name"])
        if event.type != "DELETED" and JOB_FINALIZER in (meta.get("finalizers") or []):
            job_ref = owner if owner is not None and owner.get("kind") == "Job" else None
            if job_ref is None or self.store.peek_uid(job_ref.get("uid", "")) is None:
                self.enqueue("orphanpods", meta.get("namespace", ""), meta["name"])

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            self.pending.discard(key)
            plural, ns, name = key
            try:
                getattr(self, f"reconcile_{plural}")(ns, name)
            except Exception:  # noqa: BLE001 - one bad object must not stop the controllers
                log.exception("kubesim: reconcile %s %s/%s failed", plural, ns, name)
            await asyncio.sleep(0)

    def _owned(self, rt: ResourceType, owner: Obj, include_deleting: bool = False) -> list[Obj]:
        """Objects of ``rt`` that ``owner`` controls (by default without the ones being deleted)."""
        out = []
        for dep_rt, obj in self.store.dependents(owner["metadata"]["uid"]):
            if dep_rt.store_key != rt.store_key or not owned_by(obj, owner):
                continue
            if include_deleting or not obj["metadata"].get("deletionTimestamp"):
                out.append(copy.deepcopy(obj))
        out.sort(key=lambda o: o["metadata"]["name"])
        return out

    def _write_status(self, rt: ResourceType, obj: Obj, status: Obj) -> Obj:
        if obj.get("status") != status:
            obj["status"] = status
            return self.store.update(rt, obj, check_rv=False, subresource="status")
        return obj

    def _delete_pod(self, pod: Obj) -> Obj | None:
        """Delete a pod like a controller does (gracefully); None when it is already gone."""
        try:
            return self.store.delete(self.rt["pods"], pod["metadata"]["namespace"], pod["metadata"]["name"],
                                     precondition_uid=pod["metadata"]["uid"])
        except errors.ApiError:
            return None

    def _new_pod(self, owner: Obj, template: Obj, name: str, extra_labels: dict[str, str] | None = None,
                 finalizers: list[str] | None = None) -> Obj:
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        labels.update(extra_labels or {})
        pod = {
            "metadata": {"name": name, "namespace": owner["metadata"]["namespace"], "labels": labels,
                         "annotations": dict(meta.get("annotations") or {}),
                         "ownerReferences": [owner_ref(owner)]},
            "spec": json.loads(json.dumps(template.get("spec") or {})),
        }
        if finalizers:
            pod["metadata"]["finalizers"] = list(finalizers)
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        return self.sim.create(self.rt["pods"], pod)

    # -- ReplicaSet --------------------------------------------------------------------
    def reconcile_replicasets(self, ns: str, name: str) -> None:
        rt = self.rt["replicasets"]
        rs = self.store.get(rt, ns, name)
        if rs is None:
            return
        desired = rs["spec"].get("replicas", 1)
        # like FilterActivePods: terminating and finished pods are not replicas
        pods = [p for p in self._owned(self.rt["pods"], rs) if not is_terminal(p)]
        if len(pods) < desired and not rs["metadata"].get("deletionTimestamp"):
            for _ in range(desired - len(pods)):
                pods.append(self._new_pod(rs, rs["spec"]["template"], f"{name}-{random_suffix()}"))
        elif len(pods) > desired:
            # the real ranking: unscheduled, pending, not ready first; then the newest
            ranked = sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
            ranked.sort(key=lambda p: (bool(p["spec"].get("nodeName")),
                                       p.get("status", {}).get("phase") == "Running", pod_ready(p)))
            for pod in ranked[: len(pods) - desired]:
                self._delete_pod(pod)
                pods.remove(pod)
        ready = [p for p in pods if pod_ready(p)]
        available = self._available(rs, ready)
        status = _compact({
            "replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": len(ready),
            "availableReplicas": available, "observedGeneration": rs["metadata"].get("generation", 1),
        })
        status["replicas"] = len(pods)
        self._write_status(rt, rs, status)

    def _available(self, rs: Obj, ready: list[Obj]) -> int:
        """Ready pods that have been ready for ``minReadySeconds`` (scaled)."""
        min_ready = self.sim.scaled(rs["spec"].get("minReadySeconds", 0) or 0)
        now = time.monotonic()
        count, wait = 0, math.inf
        for pod in ready:
            since = self.ready_since.setdefault(pod["metadata"]["uid"], now)
            if now - since >= min_ready:
                count += 1
            else:
                wait = min(wait, min_ready - (now - since))
        if wait < math.inf:
            self.enqueue_later(wait + 0.01, "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        return count

    # -- Deployment --------------------------------------------------------------------
    def reconcile_deployments(self, ns: str, name: str) -> None:
        rt, rs_rt = self.rt["deployments"], self.rt["replicasets"]
        dep = self.store.get(rt, ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        spec = dep["spec"]
        desired = spec.get("replicas", 1)
        template = spec["template"]
        pod_hash = safe_hash(template)
        rss = self._owned(rs_rt, dep)
        new = next((r for r in rss if r["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None)
        olds = sorted((r for r in rss if r is not new), key=_revision)
        max_rev = max([_revision(r) for r in rss] + [0])
        if spec.get("paused"):
            return
        surge, unavailable = _fenceposts(spec, desired)
        if new is not None and _revision(new) < max_rev:
            new["metadata"].setdefault("annotations", {})[REVISION] = str(max_rev + 1)
            new = self.store.update(rs_rt, new, check_rv=False)
        if spec.get("strategy", {}).get("type") == "Recreate":
            scaled = False
            for old in olds:
                if old["spec"].get("replicas", 0):
                    self._scale_rs(old, 0, desired, surge)
                    scaled = True
            if not scaled and not self._old_pods_running(olds):
                if new is None:
                    new = self._create_rs(dep, pod_hash, max_rev + 1, desired, desired, surge)
                else:
                    self._scale_rs(new, desired, desired, surge)
        elif new is None:
            replicas = _new_rs_replicas(None, olds, desired, surge)
            new = self._create_rs(dep, pod_hash, max_rev + 1, replicas, desired, surge)
        elif not self._reconcile_new_rs(new, olds, desired, surge):
            self._reconcile_old_rss(new, olds, desired, unavailable, surge)
        if new is not None:
            revision = new["metadata"].get("annotations", {}).get(REVISION)
            if revision and dep["metadata"].get("annotations", {}).get(REVISION) != revision:
                # like the real controller: `kubectl rollout undo` patches this annotation back
                dep["metadata"].setdefault("annotations", {})[REVISION] = revision
                dep = self.store.update(rt, dep, check_rv=False)
        self._prune_history(dep, olds)
        self._deployment_status(dep, new, olds, desired, unavailable)

    def _create_rs(self, dep: Obj, pod_hash: str, revision: int, replicas: int, desired: int, surge: int) -> Obj:
        spec = dep["spec"]
        name, ns = dep["metadata"]["name"], dep["metadata"]["namespace"]
        tmpl = json.loads(json.dumps(spec["template"]))
        tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
        selector = json.loads(json.dumps(spec["selector"]))
        selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        return self.sim.create(self.rt["replicasets"], {
            "metadata": {
                "name": f"{name}-{pod_hash}", "namespace": ns,
                "labels": dict(tmpl["metadata"]["labels"]),
                "annotations": {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas": str(desired),
                                "deployment.kubernetes.io/max-replicas": str(desired + surge)},
                "ownerReferences": [owner_ref(dep)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": tmpl,
                     "minReadySeconds": spec.get("minReadySeconds", 0)},
        })

    def _old_pods_running(self, olds: list[Obj]) -> bool:
        """Pods of old ReplicaSets that have not finished, terminating ones included (Recreate)."""
        return any(not is_terminal(p) for rs in olds
                   for p in self._owned(self.rt["pods"], rs, include_deleting=True))

    def _reconcile_new_rs(self, new: Obj, olds: list[Obj], desired: int, surge: int) -> bool:
        """Scale the new ReplicaSet towards ``desired`` within maxSurge; True when it scaled."""
        current = new["spec"].get("replicas", 0)
        if current == desired:
            return False
        target = desired if current > desired else _new_rs_replicas(new, olds, desired, surge)
        if target == current:
            return False
        self._scale_rs(new, target, desired, surge)
        return True

    def _reconcile_old_rss(self, new: Obj, olds: list[Obj], desired: int, unavailable: int, surge: int) -> bool:
        """Scale old ReplicaSets down as far as maxUnavailable allows (unhealthy pods first)."""
        old_count = sum(r["spec"].get("replicas", 0) for r in olds)
        if old_count == 0:
            return False
        all_count = old_count + new["spec"].get("replicas", 0)
        min_available = desired - unavailable
        new_unavailable = new["spec"].get("replicas", 0) - new.get("status", {}).get("availableReplicas", 0)
        max_down = all_count - min_available - new_unavailable
        if max_down <= 0:
            return False
        cleaned = 0
        for old in olds:
            replicas = old["spec"].get("replicas", 0)
            unhealthy = replicas - old.get("status", {}).get("availableReplicas", 0)
            if cleaned >= max_down or replicas == 0 or unhealthy <= 0:
                continue
            down = min(max_down - cleaned, unhealthy)
            self._scale_rs(old, replicas - down, desired, surge)
            cleaned += down
        available = sum(r.get("status", {}).get("availableReplicas", 0) for r in [new, *olds])
        scaled = 0
        if available > min_available:
            total = available - min_available
            for old in olds:
                replicas = old["spec"].get("replicas", 0)
                if scaled >= total or replicas == 0:
                    continue
                down = min(replicas, total - scaled)
                self._scale_rs(old, replicas - down, desired, surge)
                scaled += down
        return cleaned + scaled > 0

    def _scale_rs(self, rs: Obj, replicas: int, desired: int, surge: int) -> None:
        if rs["spec"].get("replicas") != replicas:
            fresh = self.store.get(self.rt["replicasets"], rs["metadata"]["namespace"], rs["metadata"]["name"])
            if fresh is None:
                return
            fresh["spec"]["replicas"] = replicas
            annotations = fresh["metadata"].setdefault("annotations", {})
            annotations["deployment.kubernetes.io/desired-replicas"] = str(desired)
            annotations["deployment.kubernetes.io/max-replicas"] = str(desired + surge)
            self.store.update(self.rt["replicasets"], fresh, check_rv=False)
            rs["spec"]["replicas"] = replicas

    def _prune_history(self, dep: Obj, olds: list[Obj]) -> None:
        limit = dep["spec"].get("revisionHistoryLimit", 10)
        idle = [r for r in olds if r["spec"].get("replicas", 0) == 0 and not r.get("status", {}).get("replicas")]
        idle.sort(key=_revision)
        for rs in idle[: max(len(idle) - limit, 0)]:
            with contextlib.suppress(Exception):
                self.store.delete(self.rt["replicasets"], rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _deployment_status(self, dep: Obj, new: Obj | None, olds: list[Obj], desired: int,
                           max_unavailable: int) -> None:
        rs_rt = self.rt["replicasets"]
        ns = dep["metadata"]["namespace"]
        fresh_new = self.store.get(rs_rt, ns, new["metadata"]["name"]) if new is not None else None
        fresh_olds = [r for r in (self.store.get(rs_rt, ns, o["metadata"]["name"]) for o in olds) if r is not None]
        all_rs = ([fresh_new] if fresh_new is not None else []) + fresh_olds
        st = [r.get("status", {}) for r in all_rs]
        replicas = sum(s.get("replicas", 0) for s in st)
        ready = sum(s.get("readyReplicas", 0) for s in st)
        available = sum(s.get("availableReplicas", 0) for s in st)
        new_status = (fresh_new or {}).get("status", {})
        updated = new_status.get("replicas", 0)
        spec_total = sum(r["spec"].get("replicas", 0) for r in all_rs)
        if dep["spec"].get("strategy", {}).get("type") == "Recreate":
            max_unavailable = 0
        old_status = dep.get("status") or {}
        conditions = list(old_status.get("conditions") or [])
        if available >= desired - max_unavailable:
            conditions = _set_condition(conditions, "Available", True, "MinimumReplicasAvailable",
                                        "Deployment has minimum availability.")
        else:
            conditions = _set_condition(conditions, "Available", False, "MinimumReplicasUnavailable",
                                        "Deployment does not have minimum availability.")
        rs_name = fresh_new["metadata"]["name"] if fresh_new is not None else None
        subject = f'ReplicaSet "{rs_name}"' if rs_name else f'Deployment "{dep["metadata"]["name"]}"'
        complete = fresh_new is not None and updated == desired and replicas == desired \
            and available == desired and new_status.get("availableReplicas", 0) == desired
        uid = dep["metadata"]["uid"]
        signature = (rs_name, replicas, updated, ready, available)
        now = time.monotonic()
        mark = self.progress.get(uid)
        if mark is None or mark[0] != signature:
            mark = (signature, now)
            self.progress[uid] = mark
        deadline = dep["spec"].get("progressDeadlineSeconds")
        previous = next((c for c in old_status.get("conditions") or [] if c.get("type") == "Progressing"), None)
        if complete:
            conditions = _set_condition(conditions, "Progressing", True, "NewReplicaSetAvailable",
                                        f"{subject} has successfully progressed.")
        elif deadline is not None and (
            now - mark[1] >= self.sim.scaled(deadline)
            or (previous and previous.get("reason") == "ProgressDeadlineExceeded"
                and previous.get("message", "").startswith(subject))
        ):
            conditions = _set_condition(conditions, "Progressing", False, "ProgressDeadlineExceeded",
                                        f"{subject} has timed out progressing.")
        else:
            reason = "NewReplicaSetCreated" if previous is None and rs_name else "ReplicaSetUpdated"
            conditions = _set_condition(conditions, "Progressing", True, reason,
                                        f'Created new replica set "{rs_name}"' if reason == "NewReplicaSetCreated"
                                        else f"{subject} is progressing.")
            if deadline is not None:
                remaining = self.sim.scaled(deadline) - (now - mark[1])
                self.enqueue_later(remaining + 0.01, "deployments", ns, dep["metadata"]["name"])
        order = {"Available": 0, "Progressing": 1}
        conditions.sort(key=lambda c: order.get(c["type"], 2))
        status = _compact({
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": available, "unavailableReplicas": max(spec_total - available, 0),
        })
        status["conditions"] = conditions
        self._write_status(self.rt["deployments"], dep, status)

    # -- StatefulSet -------------------------------------------------------------------
    def reconcile_statefulsets(self, ns: str, name: str) -> None:
        rt, pods_rt = self.rt["statefulsets"], self.rt["pods"]
        sts = self.store.get(rt, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts["spec"]
        desired = spec.get("replicas", 1)
        revision = f"{name}-{safe_hash(spec['template'])}"
        parallel = spec.get("podManagementPolicy") == "Parallel"
        # a pod keeps its name: a terminating one must be gone before it is created again
        pods = {p["metadata"]["name"]: p for p in self._owned(pods_rt, sts, include_deleting=True)}
        terminating = {n for n, p in pods.items() if p["metadata"].get("deletionTimestamp")}

        def ordinal(pod_name: str) -> int:
            return int(pod_name.rsplit("-", 1)[-1])

        ordered_ok = True
        for i in range(desired):
            pod_name = f"{name}-{i}"
            if pod_name not in pods:
                if not (ordered_ok or parallel):
                    break
                for claim in spec.get("volumeClaimTemplates") or []:
                    self._ensure_claim(sts, claim, i)
                pods[pod_name] = self._new_pod(sts, spec["template"], pod_name, {
                    "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(i)})
                if not parallel:
                    ordered_ok = False
            elif pod_name in terminating or not pod_ready(pods[pod_name]):
                ordered_ok = False
        condemned = sorted((n for n in pods if ordinal(n) >= desired and n not in terminating),
                           key=ordinal, reverse=True)
        if condemned and (parallel or not terminating):
            for pod_name in condemned if parallel else condemned[:1]:
                deleted = self._delete_pod(pods[pod_name])
                if deleted is not None and deleted["metadata"].get("deletionTimestamp"):
                    pods[pod_name] = deleted
                    terminating.add(pod_name)
                else:
                    del pods[pod_name]
        in_range = [pods[f"{name}-{i}"] for i in range(desired) if f"{name}-{i}" in pods]
        stale = [p for p in in_range if p["metadata"].get("labels", {}).get("controller-revision-hash") != revision]
        if stale and not terminating and all(pod_ready(p) for p in in_range) and len(in_range) == desired:
            victim = max(stale, key=lambda p: ordinal(p["metadata"]["name"]))
            self._delete_pod(victim)
        old_status = sts.get("status") or {}
        current_revision = old_status.get("currentRevision") or revision
        live = [p for p in in_range if p["metadata"]["name"] not in terminating]
        updated = sum(1 for p in live if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision)
        ready = sum(1 for p in live if pod_ready(p))
        if updated == desired and ready == desired:
            current_revision = revision
        current = sum(1 for p in live
                      if p["metadata"].get("labels", {}).get("controller-revision-hash") == current_revision)
        status = _compact({
            "observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
            "readyReplicas": ready, "currentReplicas": current, "updatedReplicas": updated,
            "availableReplicas": ready,
        })
        status.update({"replicas": len(pods), "currentRevision": current_revision, "updateRevision": revision,
                       "collisionCount": 0})
        self._write_status(rt, sts, status)

    def _ensure_claim(self, sts: Obj, claim: Obj, index: int) -> None:
        pvc_rt = self.rt["persistentvolumeclaims"]
        ns = sts["metadata"]["namespace"]
        name = f"{claim['metadata']['name']}-{sts['metadata']['name']}-{index}"
        if self.store.get(pvc_rt, ns, name) is None:
            self.sim.create(pvc_rt, {"metadata": {"name": name, "namespace": ns,
                                                  "labels": dict(sts["spec"]["selector"].get("matchLabels") or {})},
                                     "spec": json.loads(json.dumps(claim.get("spec") or {}))})

    # -- DaemonSet ---------------------------------------------------------------------
    def reconcile_daemonsets(self, ns: str, name: str) -> None:
        rt, pods_rt = self.rt["daemonsets"], self.rt["pods"]
        ds = self.store.get(rt, ns, name)
        if ds is None:
            return
        revision = safe_hash(ds["spec"]["template"])
        pods = self._owned(pods_rt, ds)
        for pod in pods:
            if pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
                self.store.delete(pods_rt, ns, pod["metadata"]["name"])
        pods = [p for p in self._owned(pods_rt, ds)]
        if not pods:
            pods.append(self._new_pod(ds, ds["spec"]["template"], f"{name}-{random_suffix()}",
                                      {"controller-revision-hash": revision}))
        ready = sum(1 for p in pods if pod_ready(p))
        status = {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0,
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(pods),
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if not ready:
            status["numberUnavailable"] = 1
        self._write_status(rt, ds, status)

    # -- Job ---------------------------------------------------------------------------
    def reconcile_jobs(self, ns: str, name: str) -> None:
        rt = self.rt["jobs"]
        job = self.store.get(rt, ns, name)
        if job is None:
            return
        pods = self._owned(self.rt["pods"], job, include_deleting=True)
        status = dict(job.get("status") or {})
        conditions = list(status.get("conditions") or [])
        finished = _condition_true(conditions, "Complete") or _condition_true(conditions, "Failed")
        if finished or job["metadata"].get("deletionTimestamp"):
            for pod in pods:
                self._release(pod)
            return
        job, status = self._count_terminated(job, status, pods)
        spec = job["spec"]
        active = [p for p in pods if not is_terminal(p) and not p["metadata"].get("deletionTimestamp")]
        terminating = [p for p in pods if not is_terminal(p) and p["metadata"].get("deletionTimestamp")]
        succeeded, failed = status.get("succeeded", 0), status.get("failed", 0)
        restarts = sum(s.get("restartCount", 0) for p in active
                       for s in p.get("status", {}).get("containerStatuses") or [])
        uid = job["metadata"]["uid"]
        status.setdefault("startTime", now_rfc3339())
        completions = spec.get("completions", 1) or 1
        parallelism = spec.get("parallelism", 1)
        target = next((c for c in conditions if c.get("type") in ("FailureTarget", "SuccessCriteriaMet")
                       and c.get("status") == "True"), None)
        just_targeted = False
        if target is None:
            failure: tuple[str, str] | None = None
            deadline = spec.get("activeDeadlineSeconds")
            if failed + restarts > spec.get("backoffLimit", 6):
                failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
            elif deadline is not None:
                ends = self.job_backoff_until.setdefault(f"{uid}/deadline", time.monotonic() + self.sim.scaled(deadline))
                if ends <= time.monotonic():
                    failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
                else:
                    self.enqueue_later(ends - time.monotonic() + 0.01, "jobs", ns, name)
            if failure is not None:
                conditions = _set_condition(conditions, "FailureTarget", True, *failure)
            elif succeeded >= completions:
                conditions = _set_condition(conditions, "SuccessCriteriaMet", True, "CompletionsReached",
                                            "Reached expected number of succeeded pods")
            target = next((c for c in conditions if c.get("type") in ("FailureTarget", "SuccessCriteriaMet")), None)
            just_targeted = target is not None
        if target is not None:
            # the criteria are met: no more pods, and the active ones are stopped
            for pod in active:
                deleted = self._delete_pod(pod)
                if deleted is not None and deleted["metadata"].get("deletionTimestamp") and not is_terminal(deleted):
                    terminating.append(deleted)
            active = []
            if just_targeted or terminating:
                self.enqueue("jobs", ns, name)  # the terminal condition comes in a later write
            else:
                failed_job = target["type"] == "FailureTarget"
                final = "Failed" if failed_job else "Complete"
                conditions = _set_condition(conditions, final, True, target.get("reason", ""),
                                            target.get("message", ""))
                if failed_job:
                    self.sim.events.record(job, "Warning", target.get("reason", ""), target.get("message", ""),
                                           component="job-controller")
                else:
                    status["completionTime"] = now_rfc3339()
                    self.sim.events.record(job, "Normal", "Completed", "Job completed", component="job-controller")
        else:
            want = min(parallelism, completions - succeeded) - len(active)
            if want > 0 and not spec.get("suspend"):
                until = self.job_backoff_until.get(uid, 0.0)
                if failed and until == 0.0:
                    backoff = min(BACKOFF_BASE * 2 ** (failed - 1), 360.0)
                    until = time.monotonic() + self.sim.scaled(backoff)
                    self.job_backoff_until[uid] = until
                if until > time.monotonic():
                    self.enqueue_later(until - time.monotonic() + 0.01, "jobs", ns, name)
                else:
                    self.job_backoff_until.pop(uid, None)
                    for _ in range(want):
                        pod = self._new_pod(job, spec["template"], f"{name}-{random_suffix()}",
                                            finalizers=[JOB_FINALIZER])
                        self.sim.events.record(job, "Normal", "SuccessfulCreate",
                                               f"Created pod: {pod['metadata']['name']}", component="job-controller")
                        active.append(pod)
        ready = sum(1 for p in active if pod_ready(p))
        status.update({"active": len(active), "ready": ready, "terminating": len(terminating)})
        status.setdefault("uncountedTerminatedPods", {})
        status = {k: v for k, v in status.items() if v not in (0, None) or k in ("ready", "terminating")}
        if conditions:
            status["conditions"] = conditions
        self._write_status(rt, job, status)

    def _count_terminated(self, job: Obj, status: Obj, pods: list[Obj]) -> tuple[Obj, Obj]:
        """Finished pods still holding the tracking finalizer: record them, release them, count them.

        As the real controller does it, in two writes: first into
        ``status.uncountedTerminatedPods``, then (finalizers removed) into the counters.
        """
        done = [p for p in pods if is_terminal(p) and JOB_FINALIZER in (p["metadata"].get("finalizers") or [])]
        if not done:
            return job, status
        ok = [p["metadata"]["uid"] for p in done if p["status"]["phase"] == "Succeeded"]
        bad = [p["metadata"]["uid"] for p in done if p["status"]["phase"] == "Failed"]
        uncounted = {k: v for k, v in (("succeeded", ok), ("failed", bad)) if v}
        status = dict(status, uncountedTerminatedPods=uncounted)
        job = self._write_status(self.rt["jobs"], job, copy.deepcopy(status))
        for pod in done:
            self._release(pod)
        status["succeeded"] = status.get("succeeded", 0) + len(ok)
        status["failed"] = status.get("failed", 0) + len(bad)
        status["uncountedTerminatedPods"] = {}
        job = self._write_status(self.rt["jobs"], job, {k: v for k, v in status.items() if v not in (0, None)
                                                        or k in ("ready", "terminating", "uncountedTerminatedPods")})
        return job, status

    def _release(self, pod: Obj) -> None:
        """Remove the job-tracking finalizer (a deleted pod then disappears)."""
        meta = pod["metadata"]
        fresh = self.store.get(self.rt["pods"], meta.get("namespace"), meta["name"])
        if fresh is None or fresh["metadata"]["uid"] != meta["uid"]:
            return
        finalizers = fresh["metadata"].get("finalizers") or []
        if JOB_FINALIZER not in finalizers:
            return
        fresh["metadata"]["finalizers"] = [f for f in finalizers if f != JOB_FINALIZER]
        if not fresh["metadata"]["finalizers"]:
            del fresh["metadata"]["finalizers"]
        self.store.update(self.rt["pods"], fresh, check_rv=False)

    def reconcile_orphanpods(self, ns: str, name: str) -> None:
        """A pod with the tracking finalizer whose Job is gone: the job controller lets it go."""
        pod = self.store.get(self.rt["pods"], ns, name)
        if pod is None:
            return
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == "Job" and self.store.peek_uid(ref.get("uid", "")) is not None:
            return
        self._release(pod)

    # -- simple ones ---------------------------------------------------------------------
    def reconcile_persistentvolumeclaims(self, ns: str, name: str) -> None:
        rt = self.rt["persistentvolumeclaims"]
        pvc = self.store.get(rt, ns, name)
        if pvc is None or pvc.get("status", {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec", {})
        if not spec.get("volumeName"):
            pvc["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
            pvc = self.store.update(rt, pvc, check_rv=False)
        self._write_status(rt, pvc, {
            "phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "capacity": {"storage": (spec.get("resources", {}).get("requests") or {}).get("storage", "1Gi")},
        })

    def reconcile_services(self, ns: str, name: str) -> None:
        ep_rt = self.rt["endpoints"]
        svc = self.store.get(self.rt["services"], ns, name)
        if svc is None or self.store.get(ep_rt, ns, name) is not None:
            return
        with contextlib.suppress(Exception):
            self.sim.create(ep_rt, {"metadata": {"name": name, "namespace": ns,
                                                 "labels": dict(svc["metadata"].get("labels") or {}),
                                                 "ownerReferences": [owner_ref(svc) | {"controller": False}]},
                                    "subsets": []})


BACKOFF_BASE = 10.0


def _revision(rs: Obj) -> int:
    return int(rs["metadata"].get("annotations", {}).get(REVISION, "0"))


def _fenceposts(spec: Obj, desired: int) -> tuple[int, int]:
    """maxSurge (rounded up) and maxUnavailable (rounded down); never both zero."""
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_int_or_percent(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = scaled_int_or_percent(rolling.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _new_rs_replicas(new: Obj | None, olds: list[Obj], desired: int, surge: int) -> int:
    """How far the new ReplicaSet may grow now: all pods together stay within desired + maxSurge."""
    current = new["spec"].get("replicas", 0) if new is not None else 0
    total = current + sum(r["spec"].get("replicas", 0) for r in olds)
    if total >= desired + surge:
        return current
    return current + min(desired + surge - total, desired - current)


def selector_matches(selector: Obj | None, obj: Obj) -> bool:
    return label_selector_object_matches(selector, obj["metadata"].get("labels"))
