"""The control plane's timing, as a real cluster has it: asynchronous garbage collection and
graceful pod termination, controllers that act a moment later and write status in steps,
Jobs' interim conditions, and watches that the server ends."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.kubesim.fixture import Cluster
from tests.kubesim.protobuf import PROTOBUF_CONTENT_TYPE
from tests.kubesim.store import WatchEvent
from tests.kubesim.test_protobuf import envelope, lfield

pytestmark = pytest.mark.backends("kubesim")
Obj = dict[str, Any]
K = "kubesim.lain.dev/"


class Recorder:
    """Every store event of some kinds, in order (appended on the simulator's loop)."""

    def __init__(self, cluster: Cluster, *kinds: str) -> None:
        self.events: list[tuple[str, str, Obj]] = []
        self._lock = threading.Lock()
        sim = cluster.sim.raw

        def listen(event: WatchEvent) -> None:
            if event.rt.kind in kinds:
                with self._lock:
                    self.events.append((event.type, event.rt.kind, event.obj))

        cluster.sim.call(lambda: sim.store.listeners.append(listen))

    def of(self, kind: str, name: str | None = None) -> list[tuple[str, Obj]]:
        with self._lock:
            return [(t, o) for t, k, o in self.events
                    if k == kind and (name is None or o["metadata"]["name"] == name)]


def deployment(name: str, replicas: int = 1, image: str = "nginx:1.25", strategy: Obj | None = None,
               annotations: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     **({"strategy": strategy} if strategy else {}),
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                                  "spec": {"containers": [{"name": "main", "image": image}]}}}}


def job(name: str, annotations: dict[str, str], backoff: int = 0, deadline: int | None = None) -> Obj:
    spec: Obj = {"backoffLimit": backoff, "template": {
        "metadata": {"annotations": annotations},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox:1.36"}]}}}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def conditions(obj: Obj | None) -> dict[str, Obj]:
    return {c["type"]: c for c in ((obj or {}).get("status") or {}).get("conditions") or []
            if c.get("status") == "True"}


def ready(pod: Obj) -> bool:
    return "Ready" in conditions(pod)


def wait(cluster: Cluster, fn: Callable[[], Any], message: str, timeout: float = 10.0) -> Any:
    return cluster.sim.wait_for(fn, timeout=timeout, interval=0.01, message=message)


def http(cluster: Cluster, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, Any, Any]:
    req = urllib.request.Request(cluster.url + path, data=body, method=method,
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null"), reply.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def running_job_pod(cluster: Cluster, name: str) -> Obj:
    return wait(cluster, lambda: next((p for p in cluster.sim.list("pods", selector=f"job-name={name}")
                                       if p["status"].get("phase") == "Running"), None), f"{name}'s pod running")


# -- garbage collection ---------------------------------------------------------------
def test_background_deletion_leaves_the_pods_for_the_collector(cluster: Cluster) -> None:
    cluster.sim.create(job("migrate", {K + "duration": "60"}))
    pod = running_job_pod(cluster, "migrate")
    assert pod["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"]
    recorder = Recorder(cluster, "Pod", "Job")
    deleted_at = time.monotonic()
    cluster.sim.delete("jobs", "migrate")  # Background, as helm and kubectl send it
    assert cluster.sim.get("jobs", "migrate") is None
    # the previous Job's pod is still there, running, when a new Job of that name is created
    cluster.sim.create(job("migrate", {K + "duration": "0.05"}))
    names = {p["metadata"]["name"] for p in cluster.sim.list("pods", selector="job-name=migrate")}
    assert pod["metadata"]["name"] in names
    wait(cluster, lambda: cluster.sim.get("pods", pod["metadata"]["name"]) is None, "the old pod to go")
    gone_after = time.monotonic() - deleted_at
    assert 0.4 < gone_after < 5, gone_after
    seen = [(t, o["status"].get("phase"), bool(o["metadata"].get("deletionTimestamp")))
            for t, o in recorder.of("Pod", pod["metadata"]["name"])]
    # deleted by the collector, stopped by the kubelet (a terminal phase), then removed
    assert ("MODIFIED", "Running", True) in seen
    assert seen[-1][0] == "DELETED"
    assert any(phase == "Failed" and deleting for _t, phase, deleting in seen)
    final = recorder.of("Pod", pod["metadata"]["name"])[-1][1]
    terminated = final["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 143 and terminated["reason"] == "Error"


def test_deployment_pods_go_two_collector_hops_after_it(cluster: Cluster) -> None:
    cluster.sim.create(deployment("web", replicas=2))
    wait(cluster, lambda: len([p for p in cluster.sim.list("pods") if ready(p)]) == 2, "two ready pods")
    cluster.sim.delete("deployments", "web")
    assert cluster.sim.get("deployments", "web") is None
    assert len(cluster.sim.list("replicasets")) == 1 and len(cluster.sim.list("pods")) == 2
    wait(cluster, lambda: not cluster.sim.list("replicasets"), "the ReplicaSet collected")
    assert cluster.sim.list("pods")  # their turn comes one hop later
    wait(cluster, lambda: not cluster.sim.list("pods"), "the pods collected")


def test_foreground_deletion_keeps_the_owner_until_dependents_are_gone(cluster: Cluster) -> None:
    cluster.sim.create(deployment("web", replicas=2))
    wait(cluster, lambda: len([p for p in cluster.sim.list("pods") if ready(p)]) == 2, "two ready pods")
    recorder = Recorder(cluster, "Deployment", "ReplicaSet", "Pod")
    status, body, _headers = http(cluster, "DELETE", "/apis/apps/v1/namespaces/default/deployments/web",
                                  json.dumps({"propagationPolicy": "Foreground"}).encode())
    assert status == 200
    assert body["metadata"]["finalizers"] == ["foregroundDeletion"] and body["metadata"]["deletionTimestamp"]
    assert cluster.sim.get("deployments", "web") is not None
    wait(cluster, lambda: cluster.sim.get("deployments", "web") is None, "the deployment to go", timeout=15)
    order = [(t, k) for t, k, _o in recorder.events if t == "DELETED"]
    assert order[-1] == ("DELETED", "Deployment")
    assert ("DELETED", "ReplicaSet") in order and order.index(("DELETED", "ReplicaSet")) > order.index(("DELETED", "Pod"))
    rs_events = recorder.of("ReplicaSet")
    assert any("foregroundDeletion" in (o["metadata"].get("finalizers") or []) for _t, o in rs_events)


def test_foreground_deletion_with_a_protobuf_body(cluster: Cluster) -> None:
    cluster.sim.create(job("task", {K + "duration": "60"}))
    running_job_pod(cluster, "task")
    raw = envelope("meta.k8s.io/v1", "DeleteOptions", lfield(4, "Foreground"))
    status, body, _headers = http(cluster, "DELETE", "/apis/batch/v1/namespaces/default/jobs/task", raw,
                                  PROTOBUF_CONTENT_TYPE)
    assert status == 200 and "foregroundDeletion" in body["metadata"]["finalizers"]
    wait(cluster, lambda: cluster.sim.get("jobs", "task") is None, "the job to go", timeout=15)
    assert cluster.sim.list("pods") == []


def test_orphan_deletion_keeps_the_pods_running_without_an_owner(cluster: Cluster) -> None:
    cluster.sim.create(job("task", {K + "duration": "60"}))
    pod = running_job_pod(cluster, "task")
    status, body, headers = http(cluster, "DELETE", "/apis/batch/v1/namespaces/default/jobs/task?propagationPolicy=Orphan")
    assert status == 200 and body["metadata"]["finalizers"] == ["orphan"]
    assert headers.get("Warning") is None
    wait(cluster, lambda: cluster.sim.get("jobs", "task") is None, "the job to go")
    orphan = wait(cluster, lambda: (lambda p: p if p and not p["metadata"].get("finalizers") else None)(
        cluster.sim.get("pods", pod["metadata"]["name"])), "the tracking finalizer released")
    assert "ownerReferences" not in orphan["metadata"]
    time.sleep(1.6)  # longer than the collector's delay: nobody deletes it
    orphan = cluster.sim.get("pods", pod["metadata"]["name"])
    assert orphan is not None and orphan["status"]["phase"] == "Running" and not orphan["metadata"].get("deletionTimestamp")


def test_deleting_a_batch_v1_job_without_a_policy_orphans_its_pods_with_a_warning(cluster: Cluster) -> None:
    cluster.sim.create(job("task", {K + "duration": "60"}))
    running_job_pod(cluster, "task")
    status, body, headers = http(cluster, "DELETE", "/apis/batch/v1/namespaces/default/jobs/task")
    assert status == 200 and body["metadata"]["finalizers"] == ["orphan"]
    assert "child pods are preserved by default when jobs are deleted" in headers.get("Warning", "")


def test_delete_options_are_validated(cluster: Cluster) -> None:
    cluster.sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    status, body, _ = http(cluster, "DELETE", "/api/v1/namespaces/default/configmaps/c",
                           json.dumps({"propagationPolicy": "Sometimes"}).encode())
    assert status == 422 and 'Unsupported value: "Sometimes"' in body["message"]
    status, body, _ = http(cluster, "DELETE", "/api/v1/namespaces/default/configmaps/c",
                           json.dumps({"propagationPolicy": "Orphan", "orphanDependents": True}).encode())
    assert status == 422 and "cannot be both set" in body["message"]
    status, body, _ = http(cluster, "DELETE", "/api/v1/namespaces/default/configmaps/c",
                           json.dumps({"orphanDependents": False}).encode())
    assert status == 200


@pytest.mark.kubesim(gc_delay=0)
def test_gc_delay_option(cluster: Cluster) -> None:
    cluster.sim.create(job("quick", {K + "duration": "0.05"}))
    wait(cluster, lambda: "Complete" in conditions(cluster.sim.get("jobs", "quick")), "the job to complete")
    cluster.sim.delete("jobs", "quick")
    wait(cluster, lambda: not cluster.sim.list("pods"), "the finished pod collected at once", timeout=0.3)


def test_dangling_owner_references_are_collected(cluster: Cluster) -> None:
    cluster.sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "stray", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone",
                                              "uid": "00000000-0000-0000-0000-000000000000"}]}})
    assert cluster.sim.get("configmaps", "stray") is not None
    wait(cluster, lambda: cluster.sim.get("configmaps", "stray") is None, "the stray object collected")


# -- graceful pod termination ---------------------------------------------------------
def pod(name: str, annotations: dict[str, str] | None = None, grace: int | None = None) -> Obj:
    spec: Obj = {"containers": [{"name": "main", "image": "nginx:1.25"}]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": spec}


@pytest.mark.kubesim(time_scale=0.1)
def test_a_deleted_pod_keeps_running_until_its_containers_stop(cluster: Cluster) -> None:
    cluster.sim.create(pod("web", {K + "stop-after": "2"}))  # within the grace period: 30 s x 0.1
    wait(cluster, lambda: ready(cluster.sim.get("pods", "web") or {}), "ready")
    started = time.monotonic()
    proc = cluster.kubectl("delete", "pod", "web", "--wait=false")
    assert 'pod "web" deleted' in proc.stdout
    terminating = cluster.sim.get("pods", "web")
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    assert terminating["status"]["phase"] == "Running" and ready(terminating)  # still serving
    assert "Terminating" in cluster.kubectl("get", "pod", "web").stdout
    wait(cluster, lambda: cluster.sim.get("pods", "web") is None, "the pod gone")
    assert time.monotonic() - started >= 1.9


@pytest.mark.kubesim(time_scale=0.02)
def test_a_pod_ignoring_sigterm_is_killed_after_its_grace_period(cluster: Cluster) -> None:
    cluster.sim.create(pod("stubborn", {K + "stop-after": "never"}, grace=30))  # 30 s x 0.02 = 0.6 s
    wait(cluster, lambda: ready(cluster.sim.get("pods", "stubborn") or {}), "ready")
    recorder = Recorder(cluster, "Pod")
    cluster.sim.delete("pods", "stubborn")
    wait(cluster, lambda: cluster.sim.get("pods", "stubborn") is None, "the pod gone")
    last = [o for t, o in recorder.of("Pod") if t == "MODIFIED"][-1]
    terminated = last["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 137
    assert last["status"]["phase"] == "Failed"


def test_force_deletion_removes_the_pod_at_once(cluster: Cluster) -> None:
    cluster.sim.create(pod("web", {K + "stop-after": "never"}))
    wait(cluster, lambda: ready(cluster.sim.get("pods", "web") or {}), "ready")
    cluster.kubectl("delete", "pod", "web", "--grace-period=0", "--force")
    assert cluster.sim.get("pods", "web") is None


# -- controllers: latency and status in steps ------------------------------------------
def test_status_follows_the_spec_change_in_a_later_write(cluster: Cluster) -> None:
    recorder = Recorder(cluster, "Deployment")
    created = cluster.sim.create(deployment("web"))
    assert "status" not in created or not created["status"].get("observedGeneration")
    wait(cluster, lambda: (cluster.sim.get("deployments", "web").get("status") or {}).get("availableReplicas") == 1,
         "available")
    patched = cluster.sim.patch("deployments", "web", {"spec": {"replicas": 3}})
    assert patched["metadata"]["generation"] == 2 and patched["status"]["observedGeneration"] == 1
    wait(cluster, lambda: (cluster.sim.get("deployments", "web").get("status") or {}).get("availableReplicas") == 3,
         "three available")
    steps = [(o["status"].get("observedGeneration"), o["status"].get("replicas", 0),
              o["status"].get("readyReplicas", 0), o["status"].get("availableReplicas", 0))
             for _t, o in recorder.of("Deployment") if o.get("status")]
    after = [s for s in steps if s[0] == 2]
    assert after[0][1:] != (3, 3, 3)  # observedGeneration is bumped before the pods are there
    assert len(set(after)) >= 3, after  # and the counts advance in several writes


def test_rolling_update_stays_within_max_surge_and_max_unavailable(cluster: Cluster) -> None:
    cluster.sim.create(deployment("web", replicas=4))
    wait(cluster, lambda: (cluster.sim.get("deployments", "web").get("status") or {}).get("availableReplicas") == 4,
         "four available")
    recorder = Recorder(cluster, "ReplicaSet")
    cluster.sim.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.26"}]}}}}, patch_type="application/strategic-merge-patch+json")

    def done() -> bool:
        st = cluster.sim.get("deployments", "web").get("status") or {}
        return st.get("observedGeneration") == 2 and st.get("updatedReplicas") == 4 \
            and st.get("availableReplicas") == 4 and st.get("replicas") == 4

    wait(cluster, done, "the rollout", timeout=20)
    sizes: dict[str, int] = {}
    peak = 0
    new_steps = []
    for _t, rs in recorder.of("ReplicaSet"):
        sizes[rs["metadata"]["name"]] = rs["spec"]["replicas"]
        peak = max(peak, sum(sizes.values()))
        if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26":
            new_steps.append(rs["spec"]["replicas"])
    assert peak == 5  # 4 + 25 % maxSurge
    # the new ReplicaSet grows in steps (how big each is depends on when pods become available)
    assert new_steps[0] == 1 and new_steps[-1] == 4 and new_steps == sorted(new_steps)
    assert len(set(new_steps)) >= 3, new_steps


def test_recreate_waits_for_the_old_pods_to_be_gone(cluster: Cluster) -> None:
    cluster.sim.create(deployment("web", replicas=2, strategy={"type": "Recreate"}))
    wait(cluster, lambda: len([p for p in cluster.sim.list("pods") if ready(p)]) == 2, "two ready pods")
    recorder = Recorder(cluster, "Pod")
    cluster.sim.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.26"}]}}}}, patch_type="application/strategic-merge-patch+json")
    wait(cluster, lambda: len([p for p in cluster.sim.list("pods") if ready(p)
                               and p["spec"]["containers"][0]["image"] == "nginx:1.26"]) == 2, "new pods ready")
    kinds = [(t, o["spec"]["containers"][0]["image"]) for t, o in recorder.of("Pod") if t in ("ADDED", "DELETED")]
    first_new = kinds.index(("ADDED", "nginx:1.26"))
    assert kinds[:first_new].count(("DELETED", "nginx:1.25")) == 2


def test_pod_start_is_several_writes(cluster: Cluster) -> None:
    recorder = Recorder(cluster, "Pod")
    cluster.sim.create(pod("web"))
    wait(cluster, lambda: ready(cluster.sim.get("pods", "web") or {}), "ready")
    stages = []
    for _t, o in recorder.of("Pod", "web"):
        st = o.get("status", {})
        waiting = ((st.get("containerStatuses") or [{}])[0].get("state") or {}).get("waiting", {}).get("reason")
        stage = (bool(o["spec"].get("nodeName")), st.get("phase"), waiting, bool(st.get("podIP")), ready(o))
        if not stages or stages[-1] != stage:
            stages.append(stage)
    assert stages[0] == (False, "Pending", None, False, False)
    assert (True, "Pending", None, False, False) in stages  # bound by the scheduler
    assert (True, "Pending", "ContainerCreating", False, False) in stages
    assert (True, "Pending", "ContainerCreating", True, False) in stages  # sandbox, pod IP
    assert (True, "Running", None, True, False) in stages
    assert stages[-1] == (True, "Running", None, True, True)


# -- Jobs: interim conditions ---------------------------------------------------------
def condition_writes(recorder: Recorder, name: str) -> list[list[str]]:
    out: list[list[str]] = []
    for _t, o in recorder.of("Job", name):
        types = sorted(conditions(o))
        if not out or out[-1] != types:
            out.append(types)
    return out


def test_failed_job_gets_failure_target_first(cluster: Cluster) -> None:
    recorder = Recorder(cluster, "Job")
    cluster.sim.create(job("fails", {K + "exit-code": "1", K + "duration": "0.05"}))
    wait(cluster, lambda: "Failed" in conditions(cluster.sim.get("jobs", "fails")), "Failed")
    writes = condition_writes(recorder, "fails")
    assert writes[-2:] == [["FailureTarget"], ["Failed", "FailureTarget"]]
    final = cluster.sim.get("jobs", "fails")
    assert conditions(final)["FailureTarget"]["reason"] == conditions(final)["Failed"]["reason"] == "BackoffLimitExceeded"
    assert final["status"]["failed"] == 1 and final["status"]["terminating"] == 0
    assert "completionTime" not in final["status"]
    # the pod was counted through uncountedTerminatedPods before the counter moved
    assert any(((o.get("status") or {}).get("uncountedTerminatedPods") or {}).get("failed")
               for _t, o in recorder.of("Job"))


def test_succeeded_job_gets_success_criteria_met_first(cluster: Cluster) -> None:
    recorder = Recorder(cluster, "Job")
    cluster.sim.create(job("works", {K + "duration": "0.05"}))
    out = cluster.kubectl("wait", "--for=condition=Complete", "job/works", "--timeout=20s")
    assert "condition met" in out.stdout
    writes = condition_writes(recorder, "works")
    assert writes[-2:] == [["SuccessCriteriaMet"], ["Complete", "SuccessCriteriaMet"]]
    status = cluster.sim.get("jobs", "works")["status"]
    assert status["succeeded"] == 1 and status["completionTime"]
    assert conditions(cluster.sim.get("jobs", "works"))["Complete"]["reason"] == "CompletionsReached"
    pod = cluster.sim.list("pods", selector="job-name=works")[0]
    assert "finalizers" not in pod["metadata"]


def test_deadline_exceeded_waits_for_the_pod_to_terminate(cluster: Cluster) -> None:
    recorder = Recorder(cluster, "Job")
    # 60 s x 0.01 = 0.6 s; the pod takes a second to stop after SIGTERM
    cluster.sim.create(job("slow", {K + "duration": "60", K + "stop-after": "1"}, deadline=60))
    wait(cluster, lambda: "FailureTarget" in conditions(cluster.sim.get("jobs", "slow")), "FailureTarget")
    interim = cluster.sim.get("jobs", "slow")
    assert "Failed" not in conditions(interim)
    assert conditions(interim)["FailureTarget"]["reason"] == "DeadlineExceeded"
    wait(cluster, lambda: (cluster.sim.get("jobs", "slow")["status"].get("terminating") == 1), "terminating: 1")
    wait(cluster, lambda: "Failed" in conditions(cluster.sim.get("jobs", "slow")), "Failed")
    final = cluster.sim.get("jobs", "slow")["status"]
    assert final["terminating"] == 0 and final["failed"] == 1 and final.get("active", 0) == 0
    terminating = [o["status"]["terminating"] for _t, o in recorder.of("Job", "slow") if o.get("status")]
    assert 1 in terminating


# -- watches --------------------------------------------------------------------------
def watch_duration(cluster: Cluster, query: str) -> tuple[float, list[Obj]]:
    started = time.monotonic()
    url = f"{cluster.url}/api/v1/namespaces/default/configmaps?watch=1&{query}"
    with urllib.request.urlopen(url, timeout=30) as reply:
        events = [json.loads(line) for line in reply.read().splitlines() if line.strip()]
    return time.monotonic() - started, events


def test_watch_ends_after_timeout_seconds(cluster: Cluster) -> None:
    took, _ = watch_duration(cluster, "timeoutSeconds=1")
    assert 0.9 < took < 2.5


@pytest.mark.kubesim(watch_timeout=0.5)
def test_watch_timeout_option_ends_watches_early(cluster: Cluster) -> None:
    took, _ = watch_duration(cluster, "")
    assert 0.4 < took < 1.5
    took, _ = watch_duration(cluster, "timeoutSeconds=300")  # a reflector's request
    assert 0.4 < took < 1.5


def test_the_default_watch_timeout_is_the_api_servers_scaled(cluster: Cluster) -> None:
    durations = [cluster.sim.call(lambda: cluster.sim.raw.watch_duration(None)) for _ in range(20)]
    assert all(18 <= d <= 36 for d in durations)  # 30-60 min x 0.01
    assert cluster.sim.call(lambda: cluster.sim.raw.watch_duration(5.0)) == 5.0


@pytest.mark.kubesim(watch_cache_size=2, watch_cache_seconds=0)
def test_watch_from_a_resource_version_the_cache_dropped_is_410(cluster: Cluster) -> None:
    first = cluster.sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c0"}})
    for i in range(1, 5):
        cluster.sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
    _, events = watch_duration(cluster, f"timeoutSeconds=1&resourceVersion={first['metadata']['resourceVersion']}")
    assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
    assert "too old resource version" in events[0]["object"]["message"]
    recent = cluster.sim.get("configmaps", "c3")["metadata"]["resourceVersion"]
    _, events = watch_duration(cluster, f"timeoutSeconds=1&resourceVersion={recent}")
    assert [e["object"]["metadata"]["name"] for e in events] == ["c4"]


def test_admin_api_changes_the_timings(cluster: Cluster) -> None:
    status, body, _ = http(cluster, "POST", "/kubesim/timing",
                           json.dumps({"gc_delay": [0, 0], "watch_timeout": 0.3}).encode())
    assert status == 200 and body["gc_delay"] == [0.0, 0.0] and body["watch_timeout"] == 0.3
    took, _ = watch_duration(cluster, "")
    assert took < 1.0
    cluster.sim.create(deployment("web"))
    wait(cluster, lambda: cluster.sim.list("pods"), "a pod")
    cluster.sim.delete("deployments", "web")
    wait(cluster, lambda: not cluster.sim.list("replicasets"), "the ReplicaSet collected at once", timeout=0.3)
