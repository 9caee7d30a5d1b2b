"""Workload controllers: Deployment -> ReplicaSet -> Pod, StatefulSet, Job, DaemonSet, PVC binding.

Event driven: store changes enqueue the affected object (and the controller owning a
changed pod), and one worker task reconciles them.  Rollouts follow the real controllers
loosely: RollingUpdate creates the new ReplicaSet at full size and scales the old ones
down as new pods become available; Recreate empties the old ones first.  Status fields and
conditions are the ones kubectl rollout status, helm's readiness checks and kstatus read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import random
import time
from typing import TYPE_CHECKING, Any

from .kubelet import Kubelet
from .resources import REGISTRY, ResourceType
from .selectors import label_selector_object_matches
from .store import WatchEvent, now_rfc3339

if TYPE_CHECKING:
    from .sim import Simulator

Obj = dict[str, Any]
log = logging.getLogger(__name__)
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
REVISION = "deployment.kubernetes.io/revision"


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
        key = (plural, namespace, name)
        if key not in self.pending:
            self.pending.add(key)
            self.queue.put_nowait(key)

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
            if event.type == "ADDED":
                with contextlib.suppress(RuntimeError):
                    asyncio.get_running_loop()
                    self.kubelet.start_pod(obj)
            elif event.type == "DELETED":
                self.kubelet.stop_pod(meta["uid"])
        if rt.plural in ("persistentvolumeclaims", "services") and rt.group == "" and event.type == "ADDED":
            self.enqueue(rt.plural, ns, name)
        owner = controller_of(obj)
        if owner is not None:
            kind_to_plural = {"ReplicaSet": "replicasets", "Deployment": "deployments",
                              "StatefulSet": "statefulsets", "Job": "jobs", "DaemonSet": "daemonsets"}
            plural = kind_to_plural.get(owner.get("kind", ""))
            if plural:
                self.enqueue(plural, ns, owner["name"])

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

    def _owned(self, rt: ResourceType, owner: Obj) -> list[Obj]:
        ns = owner["metadata"].get("namespace")
        return [o for o in self.store.list(rt, ns) if owned_by(o, owner)
                and not o["metadata"].get("deletionTimestamp")]

    def _write_status(self, rt: ResourceType, obj: Obj, status: Obj) -> None:
        if obj.get("status") != status:
            obj["status"] = status
            self.store.update(rt, obj, check_rv=False, subresource="status")

    def _new_pod(self, owner: Obj, template: Obj, name: str, extra_labels: dict[str, str] | None = None) -> Obj:
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        labels.update(extra_labels or {})
        pod = {
            "metadata": {"name": name, "namespace": owner["metadata"]["namespace"], "labels": labels,
                         "annotations": dict(meta.get("annotations") or {}),
                         "ownerReferences": [owner_ref(owner)]},
            "spec": json.loads(json.dumps(template.get("spec") or {})),
        }
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        return self.sim.create(self.rt["pods"], pod)

    # -- ReplicaSet --------------------------------------------------------------------
    def reconcile_replicasets(self, ns: str, name: str) -> None:
        rt, pods_rt = self.rt["replicasets"], self.rt["pods"]
        rs = self.store.get(rt, ns, name)
        if rs is None:
            return
        desired = rs["spec"].get("replicas", 1)
        pods = [p for p in self._owned(pods_rt, rs)]
        if len(pods) < desired and not rs["metadata"].get("deletionTimestamp"):
            for _ in range(desired - len(pods)):
                pods.append(self._new_pod(rs, rs["spec"]["template"], f"{name}-{random_suffix()}"))
        elif len(pods) > desired:
            surplus = sorted(pods, key=lambda p: (pod_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in surplus[: len(pods) - desired]:
                self.store.delete(pods_rt, ns, pod["metadata"]["name"])
                pods.remove(pod)
        ready = sum(1 for p in pods if pod_ready(p))
        status = _compact({
            "replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1),
        })
        status["replicas"] = len(pods)
        self._write_status(rt, rs, status)

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
        olds = [r for r in rss if r is not new]
        max_rev = max([int(r["metadata"].get("annotations", {}).get(REVISION, "0")) for r in rss] + [0])
        recreate = spec.get("strategy", {}).get("type") == "Recreate"
        old_pods = sum(len(self._owned(self.rt["pods"], r)) for r in olds)
        if spec.get("paused"):
            return
        if new is None:
            tmpl = json.loads(json.dumps(template))
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            new = self.sim.create(rs_rt, {
                "metadata": {
                    "name": f"{name}-{pod_hash}", "namespace": ns,
                    "labels": dict(tmpl["metadata"]["labels"]),
                    "annotations": {REVISION: str(max_rev + 1), "deployment.kubernetes.io/desired-replicas": str(desired),
                                    "deployment.kubernetes.io/max-replicas": str(desired + 1)},
                    "ownerReferences": [owner_ref(dep)],
                },
                "spec": {"replicas": 0 if recreate and old_pods else desired, "selector": selector,
                         "template": tmpl, "minReadySeconds": spec.get("minReadySeconds", 0)},
            })
        elif int(new["metadata"].get("annotations", {}).get(REVISION, "0")) < max_rev:
            new["metadata"].setdefault("annotations", {})[REVISION] = str(max_rev + 1)
            new = self.store.update(rs_rt, new, check_rv=False)
        revision = new["metadata"].get("annotations", {}).get(REVISION)
        if revision and dep["metadata"].get("annotations", {}).get(REVISION) != revision:
            # like the real controller: `kubectl rollout undo` patches this annotation back
            dep["metadata"].setdefault("annotations", {})[REVISION] = revision
            dep = self.store.update(rt, dep, check_rv=False)
        new_available = new.get("status", {}).get("availableReplicas", 0)
        # scale the old ReplicaSets down, the new one up
        if recreate:
            for old in olds:
                self._scale_rs(old, 0)
            self._scale_rs(new, 0 if old_pods else desired)
        else:
            self._scale_rs(new, desired)
            budget = max(desired - new_available, 0)
            for old in sorted(olds, key=lambda r: r["metadata"]["creationTimestamp"], reverse=True):
                keep = min(old["spec"].get("replicas", 0), budget)
                budget -= keep
                self._scale_rs(old, keep)
        self._prune_history(dep, olds)
        self._deployment_status(dep, new, olds, desired)

    def _scale_rs(self, rs: Obj, replicas: int) -> None:
        if rs["spec"].get("replicas") != replicas:
            fresh = self.store.get(self.rt["replicasets"], rs["metadata"]["namespace"], rs["metadata"]["name"])
            if fresh is None:
                return
            fresh["spec"]["replicas"] = replicas
            fresh["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(replicas)
            self.store.update(self.rt["replicasets"], fresh, check_rv=False)
            rs["spec"]["replicas"] = replicas

    def _prune_history(self, dep: Obj, olds: list[Obj]) -> None:
        limit = dep["spec"].get("revisionHistoryLimit", 10)
        idle = [r for r in olds if r["spec"].get("replicas", 0) == 0 and not r.get("status", {}).get("replicas")]
        idle.sort(key=lambda r: int(r["metadata"].get("annotations", {}).get(REVISION, "0")))
        for rs in idle[: max(len(idle) - limit, 0)]:
            with contextlib.suppress(Exception):
                self.store.delete(self.rt["replicasets"], rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _deployment_status(self, dep: Obj, new: Obj, olds: list[Obj], desired: int) -> None:
        rs_rt = self.rt["replicasets"]
        ns = dep["metadata"]["namespace"]
        fresh = [self.store.get(rs_rt, ns, r["metadata"]["name"]) for r in [new, *olds]]
        all_rs = [r for r in fresh if r is not None]
        new_rs = all_rs[0] if all_rs and all_rs[0]["metadata"]["name"] == new["metadata"]["name"] else new
        st = [r.get("status", {}) for r in all_rs]
        replicas = sum(s.get("replicas", 0) for s in st)
        ready = sum(s.get("readyReplicas", 0) for s in st)
        available = sum(s.get("availableReplicas", 0) for s in st)
        updated = new_rs.get("status", {}).get("replicas", 0)
        spec_total = sum(r["spec"].get("replicas", 0) for r in all_rs)
        strategy = dep["spec"].get("strategy", {})
        max_unavailable = 0
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = scaled_int_or_percent(
                strategy.get("rollingUpdate", {}).get("maxUnavailable", "25%"), desired, False)
        old_status = dep.get("status") or {}
        conditions = list(old_status.get("conditions") or [])
        if available >= desired - max_unavailable:
            conditions = _set_condition(conditions, "Available", True, "MinimumReplicasAvailable",
                                        "Deployment has minimum availability.")
        else:
            conditions = _set_condition(conditions, "Available", False, "MinimumReplicasUnavailable",
                                        "Deployment does not have minimum availability.")
        rs_name = new_rs["metadata"]["name"]
        complete = updated == desired and replicas == desired and available == desired \
            and new_rs.get("status", {}).get("availableReplicas", 0) == desired
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
                                        f'ReplicaSet "{rs_name}" has successfully progressed.')
        elif deadline is not None and (
            now - mark[1] >= self.sim.scaled(deadline)
            or (previous and previous.get("reason") == "ProgressDeadlineExceeded"
                and previous.get("message", "").startswith(f'ReplicaSet "{rs_name}"'))
        ):
            conditions = _set_condition(conditions, "Progressing", False, "ProgressDeadlineExceeded",
                                        f'ReplicaSet "{rs_name}" has timed out progressing.')
        else:
            reason = "NewReplicaSetCreated" if previous is None else "ReplicaSetUpdated"
            conditions = _set_condition(conditions, "Progressing", True, reason,
                                        f'ReplicaSet "{rs_name}" is progressing.' if reason == "ReplicaSetUpdated"
                                        else f'Created new replica set "{rs_name}"')
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
        pods = {p["metadata"]["name"]: p for p in self._owned(pods_rt, sts)}
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
            elif not pod_ready(pods[pod_name]):
                ordered_ok = False
        for pod_name, _pod in sorted(pods.items(), key=lambda kv: -int(kv[0].rsplit("-", 1)[-1])):
            if int(pod_name.rsplit("-", 1)[-1]) >= desired:
                self.store.delete(pods_rt, ns, pod_name)
                del pods[pod_name]
                if not parallel:
                    break
        in_range = [pods[f"{name}-{i}"] for i in range(desired) if f"{name}-{i}" in pods]
        stale = [p for p in in_range if p["metadata"].get("labels", {}).get("controller-revision-hash") != revision]
        if stale and all(pod_ready(p) for p in in_range) and len(in_range) == desired:
            victim = max(stale, key=lambda p: int(p["metadata"]["name"].rsplit("-", 1)[-1]))
            self.store.delete(pods_rt, ns, victim["metadata"]["name"])
        old_status = sts.get("status") or {}
        current_revision = old_status.get("currentRevision") or revision
        updated = sum(1 for p in in_range if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision)
        ready = sum(1 for p in in_range if pod_ready(p))
        if updated == desired and ready == desired:
            current_revision = revision
        current = sum(1 for p in in_range
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
        rt, pods_rt = self.rt["jobs"], self.rt["pods"]
        job = self.store.get(rt, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        spec = job["spec"]
        status = dict(job.get("status") or {})
        conditions = list(status.get("conditions") or [])
        finished = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions)
        pods = self._owned(pods_rt, job)
        active = [p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        failed_pods = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
        restarts = sum(s.get("restartCount", 0) for p in active
                       for s in p.get("status", {}).get("containerStatuses") or [])
        failed = failed_pods + restarts
        if finished:
            for pod in active:
                self.store.delete(pods_rt, ns, pod["metadata"]["name"])
            return
        uid = job["metadata"]["uid"]
        now_iso = now_rfc3339()
        status.setdefault("startTime", now_iso)
        completions = spec.get("completions", 1) or 1
        parallelism = spec.get("parallelism", 1)
        deadline = spec.get("activeDeadlineSeconds")
        failure: tuple[str, str] | None = None
        if failed > spec.get("backoffLimit", 6):
            failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif deadline is not None:
            ends = self.job_backoff_until.setdefault(f"{uid}/deadline", time.monotonic() + self.sim.scaled(deadline))
            if ends <= time.monotonic():
                failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
            else:
                self.enqueue_later(ends - time.monotonic() + 0.01, "jobs", ns, name)
        if failure is not None:
            for pod in active:
                self.store.delete(pods_rt, ns, pod["metadata"]["name"])
            active = []
            conditions = _set_condition(conditions, "FailureTarget", True, *failure)
            conditions = _set_condition(conditions, "Failed", True, *failure)
            self.sim.events.record(job, "Warning", failure[0], failure[1], component="job-controller")
        elif succeeded >= completions:
            conditions = _set_condition(conditions, "SuccessCriteriaMet", True, "CompletionsReached",
                                        "Reached expected number of succeeded pods")
            conditions = _set_condition(conditions, "Complete", True, "CompletionsReached",
                                        "Reached expected number of succeeded pods")
            status["completionTime"] = now_iso
            self.sim.events.record(job, "Normal", "Completed", "Job completed", component="job-controller")
        else:
            want = min(parallelism, completions - succeeded) - len(active)
            if want > 0 and not spec.get("suspend"):
                until = self.job_backoff_until.get(uid, 0.0)
                if failed_pods and until == 0.0:
                    backoff = min(BACKOFF_BASE * 2 ** (failed_pods - 1), 360.0)
                    until = time.monotonic() + self.sim.scaled(backoff)
                    self.job_backoff_until[uid] = until
                if until > time.monotonic():
                    self.enqueue_later(until - time.monotonic() + 0.01, "jobs", ns, name)
                else:
                    self.job_backoff_until.pop(uid, None)
                    for _ in range(want):
                        pod = self._new_pod(job, spec["template"], f"{name}-{random_suffix()}")
                        self.sim.events.record(job, "Normal", "SuccessfulCreate",
                                               f"Created pod: {pod['metadata']['name']}", component="job-controller")
                        active.append(pod)
        ready = sum(1 for p in active if pod_ready(p))
        status.update({"active": len(active), "succeeded": succeeded, "failed": failed_pods, "ready": ready,
                       "terminating": 0, "uncountedTerminatedPods": {}})
        status = {k: v for k, v in status.items() if v not in (0, None) or k in ("ready", "terminating")}
        if conditions:
            status["conditions"] = conditions
        self._write_status(rt, job, status)

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


def selector_matches(selector: Obj | None, obj: Obj) -> bool:
    return label_selector_object_matches(selector, obj["metadata"].get("labels"))
