"""The real helm (3 or 4, per LAIN_TEST_HELM_MAJOR) against kubesim: the release lifecycle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kubesim.fixture import Cluster

# These test the simulator itself (what real helm and kubectl need from it).
pytestmark = [pytest.mark.e2e, pytest.mark.backends("kubesim")]
CHART = str(Path(__file__).resolve().parents[1] / "kubesim" / "testdata" / "chart")


def wait_flag(helm_major: int) -> str:
    # helm 4 takes a strategy; "watcher" is kstatus-based, event driven
    return "--wait=watcher" if helm_major >= 4 else "--wait"


def deployment_ready(cluster: Cluster, name: str, replicas: int, image: str) -> bool:
    dep = cluster.sim.get("deployments", name)
    if not dep:
        return False
    status = dep.get("status", {})
    return (dep["spec"]["template"]["spec"]["containers"][0]["image"] == image
            and status.get("updatedReplicas") == replicas and status.get("availableReplicas") == replicas
            and status.get("replicas") == replicas)


def test_install_upgrade_history_rollback_uninstall(cluster: Cluster) -> None:
    cluster.helm("install", "app", CHART)
    cluster.sim.wait_for(lambda: deployment_ready(cluster, "app-web", 1, "nginx:1.25"), message="install rollout")
    first_rs = {rs["metadata"]["name"] for rs in cluster.sim.list("replicasets")}
    assert len(first_rs) == 1
    svc = cluster.sim.get("services", "app-web")
    assert svc and svc["spec"]["clusterIP"].startswith("10.96.")

    cluster.helm("upgrade", "app", CHART, "--set", "replicas=2,image=nginx:1.26")
    cluster.sim.wait_for(lambda: deployment_ready(cluster, "app-web", 2, "nginx:1.26"), message="upgrade rollout")
    rss = {rs["metadata"]["name"]: rs for rs in cluster.sim.list("replicasets")}
    assert len(rss) == 2
    old = rss[first_rs.pop()]
    assert old["spec"]["replicas"] == 0
    cluster.sim.wait_for(lambda: len(cluster.sim.list("pods", selector="app.kubernetes.io/instance=app")) == 2,
                         message="old pods gone")

    history = json.loads(cluster.helm("history", "app", "-o", "json").stdout)
    assert [h["revision"] for h in history] == [1, 2]
    assert history[-1]["status"] == "deployed"

    cluster.helm("rollback", "app", "1")
    history = json.loads(cluster.helm("history", "app", "-o", "json").stdout)
    assert [h["revision"] for h in history] == [1, 2, 3]
    assert history[-1]["description"] == "Rollback to 1"
    cluster.sim.wait_for(lambda: deployment_ready(cluster, "app-web", 1, "nginx:1.25"), message="rollback")
    dep = cluster.sim.get("deployments", "app-web")
    assert dep["metadata"]["annotations"]["meta.helm.sh/release-name"] == "app"

    status = json.loads(cluster.helm("status", "app", "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    assert status["version"] == 3

    cluster.helm("uninstall", "app")
    assert cluster.sim.get("deployments", "app-web") is None
    assert cluster.sim.get("services", "app-web") is None
    assert cluster.sim.list("secrets", selector="owner=helm") == []
    # like a real cluster, the garbage collector removes the ReplicaSets and pods a little later
    assert cluster.sim.list("replicasets") or cluster.sim.list("pods")
    cluster.sim.wait_for(lambda: not cluster.sim.list("replicasets") and not cluster.sim.list("pods"),
                         message="ReplicaSets and pods garbage-collected")


def test_upgrade_install_wait_succeeds(cluster: Cluster, helm_major: int) -> None:
    proc = cluster.helm("upgrade", "--install", "app", CHART, wait_flag(helm_major), "--timeout", "30s",
                        "--set", "replicas=2")
    assert "STATUS: deployed" in proc.stdout
    dep = cluster.sim.get("deployments", "app-web")
    assert dep["status"]["readyReplicas"] == 2


def test_wait_times_out_on_never_ready_deployment(cluster: Cluster, helm_major: int) -> None:
    proc = cluster.helm("upgrade", "--install", "app", CHART, wait_flag(helm_major), "--timeout", "3s",
                        "--set", "neverReady=true", check=False)
    assert proc.returncode != 0
    assert "context deadline exceeded" in proc.stderr or "timed out" in proc.stderr
    history = json.loads(cluster.helm("history", "app", "-o", "json").stdout)
    assert history[-1]["status"] == "failed"
    pods = cluster.sim.list("pods", selector="app.kubernetes.io/instance=app")
    assert pods and pods[0]["status"]["phase"] == "Running"
    assert not pods[0]["status"]["containerStatuses"][0]["ready"]


def test_failing_pre_upgrade_hook_fails_the_upgrade(cluster: Cluster) -> None:
    cluster.helm("install", "app", CHART, "--set", "hook.enabled=true")
    job = cluster.sim.get("jobs", "app-migrate")
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])

    proc = cluster.helm("upgrade", "app", CHART, "--set", "hook.enabled=true,hook.exitCode=1,image=nginx:1.26",
                        "--timeout", "30s", check=False)
    assert proc.returncode != 0
    assert "app-migrate" in proc.stderr
    job = cluster.sim.get("jobs", "app-migrate")
    failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"]
    assert failed and failed[0]["reason"] == "BackoffLimitExceeded"
    dep = cluster.sim.get("deployments", "app-web")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"


def test_helm_test_hook_pod_phase(cluster: Cluster) -> None:
    cluster.helm("install", "app", CHART, "--set", "test.enabled=true")
    proc = cluster.helm("test", "app")
    assert "Phase:          Succeeded" in proc.stdout
    cluster.helm("upgrade", "app", CHART, "--set", "test.enabled=true,test.exitCode=2")
    proc = cluster.helm("test", "app", check=False)
    assert proc.returncode != 0
    assert "app-smoke" in proc.stderr
    pod = cluster.sim.get("pods", "app-smoke")
    assert pod["status"]["phase"] == "Failed"
