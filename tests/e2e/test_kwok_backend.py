"""The kwok backend (tests/kwokcluster): a real control plane whose pods follow kubesim's knobs.

One cluster for the module, one namespace per test.  Each knob must give the pod
statuses and events tests/e2e/test_kubesim_knobs.py checks on the simulator; the rest
is what only a real control plane has: the job controller, the garbage collector,
logs and exec through the API server to kwok.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from tests.backends import RealControlPlane, require_real_control_plane
from tests.kubesim.fixture import Cluster
from tests.kwokcluster import KwokCluster
from tests.kwokcluster.binaries import find_kubectl
from tests.kwokcluster.processes import under

# The real-control-plane backend itself: the knobs as kwok Stages, logs, exec, garbage
# collection, the harness.  Every other e2e test runs on it through the `cluster` fixture.
pytestmark = [pytest.mark.e2e, pytest.mark.backends("kwok")]
K = "kubesim.lain.dev/"
WAIT = 30.0  # generous: other tests share the CPU


def start_cluster(tmp_path_factory: pytest.TempPathFactory, label: str) -> KwokCluster:
    """Another cluster of this session's kind, for the tests of the harness itself."""
    require_real_control_plane()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    cluster = KwokCluster(tmp_path_factory.mktemp(f"kwok-{label}"), f"lain-{worker}-{label}-{uuid.uuid4().hex[:6]}")
    return cluster.start()


def pod_spec(name: str, annotations: dict[str, str], image: str = "nginx:1.25", restart: str = "Always") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
            "spec": {"restartPolicy": restart, "containers": [{"name": "main", "image": image}]}}


def deployment(name: str, annotations: dict[str, str] | None = None, replicas: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                                  "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}}}


def job(name: str, annotations: dict[str, str], backoff: int = 0) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff, "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox:1.36"}]}}}}


def get_pod(cluster: Cluster, name: str) -> dict:
    return json.loads(cluster.kubectl("get", "pod", name, "-o", "json").stdout)


def main_status(pod: dict | None) -> dict:
    return ((pod or {}).get("status", {}).get("containerStatuses") or [{}])[0]


def waiting_reason(pod: dict | None) -> str | None:
    return main_status(pod).get("state", {}).get("waiting", {}).get("reason")


def condition(pod: dict, type_: str) -> dict:
    return next(c for c in pod["status"].get("conditions") or [] if c["type"] == type_)


def events(cluster: Cluster, name: str) -> list[dict]:
    return cluster.sim.list("events", field_selector=f"involvedObject.name={name}")


def reasons(cluster: Cluster, name: str) -> list[str]:
    return [e["reason"] for e in events(cluster, name)]


def running_pod(cluster: Cluster, selector: str) -> dict:
    def ready() -> dict | None:
        for pod in cluster.sim.list("pods", selector=selector):
            if not pod["metadata"].get("deletionTimestamp") and condition_true(pod, "Ready"):
                return pod
        return None

    return cluster.sim.wait_for(ready, timeout=WAIT, message=f"a Ready pod {selector}")


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def condition_true(pod: dict, type_: str) -> bool:
    return any(c["type"] == type_ and c["status"] == "True" for c in pod.get("status", {}).get("conditions") or [])


# -- the knobs, as test_kubesim_knobs.py checks them on the simulator ------------------------------------

def test_pull_failure(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("badimage", {}, image="example.com/app:notfound"))

    def backing_off() -> dict | None:
        pod = cluster.sim.get("pods", "badimage")
        return pod if waiting_reason(pod) == "ImagePullBackOff" else None

    # (ErrImagePull and ImagePullBackOff alternate: look at the status that had the latter)
    waiting = main_status(cluster.sim.wait_for(backing_off, timeout=WAIT, message="ImagePullBackOff"))
    assert 'Back-off pulling image "example.com/app:notfound"' in waiting["state"]["waiting"]["message"]
    assert get_pod(cluster, "badimage")["status"]["phase"] == "Pending"
    cluster.sim.wait_for(lambda: {"Failed", "BackOff"} <= set(reasons(cluster, "badimage")), timeout=WAIT,
                      message="Failed and BackOff events")
    failed = [e for e in events(cluster, "badimage") if e["reason"] == "Failed"]
    assert any("not found" in e["message"] for e in failed)
    assert all(e["source"]["component"] == "kubelet" and e["involvedObject"]["fieldPath"] == "spec.containers{main}"
               for e in failed)
    # the container never started: no log to show (kwok's error text is its own)
    assert cluster.kubectl("logs", "badimage", check=False).returncode == 1

    cluster.sim.create(pod_spec("knobpull", {K + "pull": "fail"}))
    cluster.sim.wait_for(lambda: waiting_reason(cluster.sim.get("pods", "knobpull")) in ("ErrImagePull", "ImagePullBackOff"),
                      timeout=WAIT, message="pull failure by knob")
    message = main_status(cluster.sim.get("pods", "knobpull"))["state"]["waiting"].get("message", "")
    assert "nginx:1.25" in message


def test_crash_loop_restart_count_rises(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("crasher", {K + "crash": "always", K + "oom": "true"}))
    cluster.sim.wait_for(lambda: main_status(cluster.sim.get("pods", "crasher")).get("restartCount", 0) >= 3,
                      timeout=WAIT, message="three restarts")
    pod = get_pod(cluster, "crasher")
    status = main_status(pod)
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert status["lastState"]["terminated"]["exitCode"] == 137
    assert pod["status"]["phase"] == "Running"
    cluster.sim.wait_for(lambda: waiting_reason(cluster.sim.get("pods", "crasher")) == "CrashLoopBackOff",
                      timeout=WAIT, message="CrashLoopBackOff")
    # one Event, its count following the restarts (written just after each status)
    backoff = cluster.sim.wait_for(lambda: next((e for e in events(cluster, "crasher")
                                              if e["reason"] == "BackOff" and e["count"] >= 3), None),
                                timeout=WAIT, message="the BackOff event")
    assert backoff["type"] == "Warning"
    assert backoff["message"].startswith("Back-off restarting failed container main in pod crasher_")
    assert "crasher" in cluster.kubectl("get", "pod", "crasher").stdout


def test_crash_once_then_ready(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("flaky", {K + "crash": "1"}))
    cluster.sim.wait_for(lambda: main_status(cluster.sim.get("pods", "flaky")).get("ready", False), timeout=WAIT,
                      message="ready after one crash")
    status = main_status(get_pod(cluster, "flaky"))
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"


def test_never_ready_then_fixed_by_knob(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("slow", {K + "ready": "never"}))
    cluster.sim.wait_for(lambda: "Unhealthy" in reasons(cluster, "slow"), timeout=WAIT, message="Unhealthy event")
    pod = get_pod(cluster, "slow")
    assert pod["status"]["phase"] == "Running"
    ready = condition(pod, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    cluster.sim.set_knobs(pod="slow", ready="always")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/slow", "--timeout=30s")


def test_ready_after(cluster: Cluster) -> None:
    started = time.monotonic()
    cluster.sim.create(pod_spec("later", {K + "ready-after": "1.5"}))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/later", "--timeout=30s")
    assert time.monotonic() - started >= 1.5
    pod = cluster.sim.get("pods", "later")
    running_since = main_status(pod)["state"]["running"]["startedAt"]
    ready_since = condition(pod, "Ready")["lastTransitionTime"]
    # (whole seconds: 1.5 s apart shows as 1 or 2)
    assert (parse_time(ready_since) - parse_time(running_since)).total_seconds() >= 1


def test_unschedulable(cluster: Cluster) -> None:
    cluster.sim.create(pod_spec("stuck", {K + "unschedulable": "true"}))
    cluster.sim.wait_for(lambda: "FailedScheduling" in reasons(cluster, "stuck"), timeout=WAIT, message="FailedScheduling")
    pod = get_pod(cluster, "stuck")
    cond = condition(pod, "PodScheduled")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    event = next(e for e in events(cluster, "stuck") if e["reason"] == "FailedScheduling")
    assert event["type"] == "Warning" and "0/1 nodes are available" in event["message"]


def test_default_pod_is_ready_quickly_and_deletes_quickly(cluster: Cluster) -> None:
    started = time.monotonic()
    cluster.sim.create(pod_spec("plain", {}))
    cluster.sim.wait_for(lambda: condition_true(cluster.sim.get("pods", "plain") or {}, "Ready"), timeout=WAIT,
                      message="Ready")
    assert time.monotonic() - started < 10
    # written just after the status, as the kubelet writes them
    cluster.sim.wait_for(lambda: {"Scheduled", "Pulled", "Created", "Started"} <= set(reasons(cluster, "plain")),
                      timeout=WAIT, message="the start events")
    started = time.monotonic()
    cluster.kubectl("delete", "pod", "plain", "--timeout=30s")
    assert cluster.sim.get("pods", "plain") is None
    assert time.monotonic() - started < 10


# -- what the real controllers add --------------------------------------------------------------------------

def test_job_with_backoff_limit_zero_fails_by_the_job_controller(cluster: Cluster) -> None:
    cluster.sim.create(job("fails", {K + "exit-code": "1", K + "duration": "0.3", K + "logs": "migrating\nboom"}))
    cluster.kubectl("wait", "--for=condition=Failed", "job/fails", "--timeout=60s")
    status = cluster.sim.get("jobs", "fails")["status"]
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert status["failed"] == 1
    pods = cluster.sim.list("pods", selector="job-name=fails")
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Failed"
    terminated = main_status(pods[0])["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    name = pods[0]["metadata"]["name"]
    cluster.sim.wait_for(lambda: "crash #1" in cluster.sim.logs(name), timeout=WAIT, message="the crash line")
    assert cluster.sim.logs(name).startswith("migrating\nboom\n")


def test_job_success_and_its_logs(cluster: Cluster) -> None:
    cluster.sim.create(job("works", {K + "duration": "0.1", K + "logs": "migrated 3 tables"}))
    cluster.kubectl("wait", "--for=condition=Complete", "job/works", "--timeout=60s")
    status = cluster.sim.get("jobs", "works")["status"]
    assert status["succeeded"] == 1 and status["completionTime"]
    assert cluster.kubectl("logs", "job/works").stdout == "migrated 3 tables\n"


def test_deleting_a_job_leaves_its_pod_to_the_garbage_collector(cluster: Cluster) -> None:
    cluster.sim.create(job("long", {K + "duration": "600"}))
    pod = running_pod(cluster, "job-name=long")
    uid = pod["metadata"]["uid"]
    seen: list[tuple[float, str, bool]] = []
    watch = subprocess.Popen([str(find_kubectl()), "get", "pods", "-l", "job-name=long", "--watch", "-o", "json",
                              "--output-watch-events"], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, KUBECONFIG=str(cluster.kubeconfig)))

    def read() -> None:
        assert watch.stdout is not None
        decoder, buffer = json.JSONDecoder(), ""
        for line in watch.stdout:
            buffer += line
            try:
                event, _ = decoder.raw_decode(buffer.strip())
            except ValueError:
                continue
            buffer = ""
            obj = event["object"]
            if obj["metadata"]["uid"] == uid:
                seen.append((time.monotonic(), event["type"], bool(obj["metadata"].get("deletionTimestamp"))))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        cluster.sim.wait_for(lambda: seen, timeout=WAIT, message="the watch to start")
        # taken before the call: on a busy machine the garbage collector's deletion can
        # reach the watch before the main thread runs again after the call returns
        deleted_job = time.monotonic()
        cluster.sim.delete("jobs", "long")
        assert cluster.sim.get("jobs", "long") is None
        cluster.sim.wait_for(lambda: any(kind == "DELETED" for _, kind, _ in seen), timeout=WAIT,
                          message="the garbage collector to delete the pod")
    finally:
        watch.terminate()
        watch.wait(10)
    # the Job's deletion did not take the pod with it: the garbage collector deleted it afterwards
    deletions = [at for at, kind, deleting in seen if deleting or kind == "DELETED"]
    assert deletions and min(deletions) >= deleted_job
    assert cluster.sim.list("pods", selector="job-name=long") == []


def test_deployment_rollout(cluster: Cluster) -> None:
    cluster.sim.create(deployment("web", replicas=3))
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    cluster.kubectl("set", "image", "deployment/web", "main=nginx:1.27")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    cluster.sim.wait_for(lambda: len(cluster.sim.list("pods", selector="app=web")) == 3, timeout=WAIT,
                      message="the old pods to go")
    images = {p["spec"]["containers"][0]["image"] for p in cluster.sim.list("pods", selector="app=web")}
    assert images == {"nginx:1.27"}


# -- logs and exec through the API server to kwok -------------------------------------------------------

def test_logs_previous_and_follow(cluster: Cluster) -> None:
    cluster.sim.create(deployment("crashy", {K + "crash": "always", K + "logs": "booting\nboom"}))

    def restarted() -> dict | None:
        for pod in cluster.sim.list("pods", selector="app=crashy"):
            if main_status(pod).get("restartCount", 0) >= 2:
                return pod
        return None

    pod = cluster.sim.wait_for(restarted, timeout=WAIT, message="two restarts")["metadata"]["name"]
    previous = cluster.kubectl("logs", pod, "--previous").stdout
    assert previous.startswith("booting\nboom\n")
    assert "crash #" in previous
    assert cluster.kubectl("logs", pod).stdout.startswith("booting\nboom\n")

    cluster.sim.create(deployment("chatty", {K + "logs": "first line"}))
    pod = running_pod(cluster, "app=chatty")["metadata"]["name"]
    assert cluster.kubectl("logs", pod).stdout == "first line\n"
    follower = subprocess.Popen([str(find_kubectl()), "logs", "-f", pod], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, KUBECONFIG=str(cluster.kubeconfig)))
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first line\n"
        time.sleep(0.2)
        cluster.sim.append_log(pod, "appended later")
        assert follower.stdout.readline() == "appended later\n"
    finally:
        follower.terminate()
        follower.wait(10)
    assert cluster.kubectl("logs", pod, "--tail=1").stdout == "appended later\n"
    assert cluster.sim.logs(pod) == "first line\nappended later\n"


def test_logs_per_container(cluster: Cluster) -> None:
    spec = pod_spec("multi", {K + "logs": "default line", K + "logs-sidecar": "sidecar line"})
    spec["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    cluster.sim.create(spec)
    cluster.kubectl("wait", "--for=condition=Ready", "pod/multi", "--timeout=30s")
    assert cluster.kubectl("logs", "multi", "-c", "main").stdout == "default line\n"
    assert cluster.kubectl("logs", "multi", "-c", "sidecar").stdout == "sidecar line\n"
    cluster.sim.append_log("multi", "appended", container="main")
    assert cluster.kubectl("logs", "multi", "-c", "main", "--timestamps").stdout.count("Z ") == 2
    missing = cluster.kubectl("logs", "multi", "-c", "nope", check=False)
    assert "container nope is not valid for pod multi" in missing.stderr  # the API server's own check
    plain = pod_spec("quiet", {})
    cluster.sim.create(plain)
    cluster.kubectl("wait", "--for=condition=Ready", "pod/quiet", "--timeout=30s")
    assert cluster.kubectl("logs", "quiet").stdout == "kubesim: container main started (image nginx:1.25)\n"


def test_exec_runs_on_the_host_with_the_container_env(cluster: Cluster) -> None:
    cluster.sim.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                     "stringData": {"url": "postgres://db"}})
    spec = pod_spec("shell", {})
    spec["spec"]["containers"][0]["env"] = [
        {"name": "GREETING", "value": "hello"},
        {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}]
    cluster.sim.create(spec)
    cluster.kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=30s")
    proc = cluster.kubectl("exec", "shell", "--", "sh", "-c", 'echo "$GREETING $DB_URL $HOSTNAME"')
    assert proc.stdout == "hello postgres://db shell\n"
    # stdin reaches the command, but kwok v0.8.0 never closes it: read a line, not to EOF
    proc = cluster.kubectl("exec", "-i", "shell", "--", "head", "-n", "1", input="from stdin\n")
    assert proc.stdout == "from stdin\n"
    proc = cluster.kubectl("exec", "shell", "--", "sh", "-c", "echo hi; exit 3", check=False)
    assert proc.stdout == "hi\n"
    # kwok v0.8.0 reports any failure as exit 1, naming the command's status
    assert proc.returncode == 1 and "exit status 3" in proc.stderr


# -- the harness itself ------------------------------------------------------------------------------------

def test_a_second_cluster_runs_alongside_and_stop_leaves_no_process(
        real_control_plane: RealControlPlane, tmp_path_factory: pytest.TempPathFactory) -> None:
    second = start_cluster(tmp_path_factory, "second")
    try:
        assert second.url != real_control_plane.url
        components = under(second.workdir)
        names = {p.name for p in components}
        assert {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"} <= names
        client = second.client()
        client.create(pod_spec("hello", {K + "logs": "hi"}))
        client.wait_for(lambda: condition_true(client.get("pods", "hello") or {}, "Ready"), timeout=WAIT,
                        message="a pod on the second cluster")
        assert client.logs("hello") == "hi\n"
    finally:
        second.stop()
    assert under(second.workdir) == []
    for proc in components:
        assert not Path(f"/proc/{proc.pid}").exists() or "Z" in Path(f"/proc/{proc.pid}/stat").read_text().split()[2]
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(second.workdir) not in ps
    first = subprocess.run([str(find_kubectl()), "--kubeconfig", str(real_control_plane.admin_kubeconfig), "get",
                            "namespace", "default"], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr  # the session's cluster is unaffected
