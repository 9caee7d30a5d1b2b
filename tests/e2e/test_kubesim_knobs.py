"""kubesim's knobs, seen through the real kubectl: every failure lain must detect."""

from __future__ import annotations

import json

import pytest

from tests.kubesim.fixture import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.backends("kubesim")]
K = "kubesim.lain.dev/"


def pod_spec(name: str, annotations: dict[str, str], image: str = "nginx:1.25", restart: str = "Always") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
            "spec": {"restartPolicy": restart, "containers": [{"name": "main", "image": image}]}}


def get_pod(cluster: Cluster, name: str) -> dict:
    return json.loads(cluster.kubectl("get", "pod", name, "-o", "json").stdout)


def waiting_reason(pod: dict | None) -> str | None:
    statuses = (pod or {}).get("status", {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("waiting", {}).get("reason")


def reasons(cluster: Cluster, name: str) -> list[str]:
    events = json.loads(cluster.kubectl("get", "events", "--field-selector",
                                        f"involvedObject.name={name}", "-o", "json").stdout)["items"]
    return [e["reason"] for e in events]


def test_pull_failure(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("badimage", {}, image="example.com/app:notfound"))
    cluster.sim.wait_for(lambda: waiting_reason(cluster.sim.get("pods", "badimage")) == "ImagePullBackOff",
                         message="ImagePullBackOff")
    pod = get_pod(cluster, "badimage")
    assert pod["status"]["phase"] == "Pending"
    assert "Failed" in reasons(cluster, "badimage")
    logs = cluster.kubectl("logs", "badimage", check=False)
    assert logs.returncode == 1
    assert 'container "main" in pod "badimage" is waiting to start: trying and failing to pull image' in logs.stderr

    cluster.sim.create(pod_spec("knobpull", {K + "pull": "fail"}))
    cluster.sim.wait_for(lambda: waiting_reason(cluster.sim.get("pods", "knobpull")) in ("ErrImagePull", "ImagePullBackOff"),
                         message="pull failure by knob")
    message = cluster.sim.get("pods", "knobpull")["status"]["containerStatuses"][0]["state"]["waiting"].get("message", "")
    assert 'nginx:1.25' in message


def test_crash_loop_restart_count_rises(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("crasher", {K + "crash": "always", K + "oom": "true"}))
    cluster.sim.wait_for(lambda: (cluster.sim.get("pods", "crasher")["status"].get("containerStatuses") or [{}])[0]
                         .get("restartCount", 0) >= 3, message="three restarts")
    pod = get_pod(cluster, "crasher")
    status = pod["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert pod["status"]["phase"] == "Running"
    assert "BackOff" in reasons(cluster, "crasher")
    table = cluster.kubectl("get", "pod", "crasher").stdout
    assert "crasher" in table


def test_crash_once_then_ready(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("flaky", {K + "crash": "1"}))

    def ready() -> bool:
        pod = cluster.sim.get("pods", "flaky")
        statuses = pod["status"].get("containerStatuses") or [{}]
        return statuses[0].get("ready", False)

    cluster.sim.wait_for(ready, message="ready after one crash")
    status = get_pod(cluster, "flaky")["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"


def test_never_ready_then_fixed_by_admin_knob(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("slow", {K + "ready": "never"}))
    cluster.sim.wait_for(lambda: "Unhealthy" in reasons(cluster, "slow"), message="Unhealthy event")
    pod = get_pod(cluster, "slow")
    assert pod["status"]["phase"] == "Running"
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    cluster.sim.set_knobs(pod="slow", ready="always")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/slow", "--timeout=10s")


def test_unschedulable(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("stuck", {K + "unschedulable": "true"}))
    cluster.sim.wait_for(lambda: "FailedScheduling" in reasons(cluster, "stuck"), message="FailedScheduling")
    cond = get_pod(cluster, "stuck")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")


def job(name: str, annotations: dict[str, str], backoff: int = 1) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff, "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox:1.36"}]}}}}


def test_job_failure_and_success(cluster: Cluster) -> None:
    cluster.sim.create(job("fails", {K + "exit-code": "1", K + "duration": "0.05"}, backoff=1))
    out = cluster.kubectl("wait", "--for=condition=Failed", "job/fails", "--timeout=20s")
    assert "condition met" in out.stdout
    status = json.loads(cluster.kubectl("get", "job", "fails", "-o", "json").stdout)["status"]
    assert status["failed"] == 2
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    pods = cluster.sim.list("pods", selector="job-name=fails")
    assert len(pods) == 2 and all(p["status"]["phase"] == "Failed" for p in pods)

    cluster.sim.create(job("works", {K + "duration": "0.1", K + "logs": "migrated 3 tables"}))
    cluster.kubectl("wait", "--for=condition=Complete", "job/works", "--timeout=20s")
    status = cluster.sim.get("jobs", "works")["status"]
    assert status["succeeded"] == 1 and status["completionTime"]
    assert cluster.kubectl("logs", "job/works").stdout == "migrated 3 tables\n"


def test_logs_knob_per_container_and_admin_api(cluster: Cluster) -> None:
    import urllib.request

    spec = pod_spec("multi", {K + "logs": "default line", K + "logs-sidecar": "sidecar line"})
    spec["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    cluster.sim.create(spec)
    cluster.kubectl("wait", "--for=condition=Ready", "pod/multi", "--timeout=10s")
    assert cluster.kubectl("logs", "multi", "-c", "main").stdout == "default line\n"
    assert cluster.kubectl("logs", "multi", "-c", "sidecar").stdout == "sidecar line\n"
    body = json.dumps({"namespace": "default", "pod": "multi", "container": "main", "text": "via admin"}).encode()
    request = urllib.request.Request(cluster.url + "/kubesim/logs", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    assert cluster.kubectl("logs", "multi", "-c", "main", "--timestamps").stdout.count("Z ") == 2
    missing = cluster.kubectl("logs", "multi", "-c", "nope", check=False)
    assert "container nope is not valid for pod multi" in missing.stderr
