"""The real kubectl against kubesim: get, apply (client and server side), rollout, logs, exec, secrets."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest
import yaml

from tests.kubesim.fixture import Cluster, find_binary

# These test the simulator itself (what real helm and kubectl need from it).
pytestmark = [pytest.mark.e2e, pytest.mark.backends("kubesim")]


def deployment(name: str, image: str = "nginx:1.25", replicas: int = 1, annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                "spec": {"containers": [{"name": "main", "image": image,
                                         "env": [{"name": "GREETING", "value": "hello"}]}]},
            },
        },
    }


def running_pod(cluster: Cluster, selector: str) -> dict:
    def find() -> dict | None:
        for pod in cluster.sim.list("pods", selector=selector):
            if any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])):
                return pod
        return None

    return cluster.sim.wait_for(find, message=f"a ready pod {selector}")


def test_get_json_and_list_kinds(cluster: Cluster) -> None:
    ns = json.loads(cluster.kubectl("get", "namespace", "default", "-o", "json").stdout)
    assert ns["kind"] == "Namespace" and ns["status"]["phase"] == "Active"
    pods = json.loads(cluster.kubectl("get", "pods", "-A", "-o", "json").stdout)
    assert pods["kind"] == "List" and pods["items"] == []
    missing = cluster.kubectl("get", "deployment", "nope", check=False)
    assert missing.returncode == 1
    assert 'deployments.apps "nope" not found' in missing.stderr


def test_apply_client_side_then_rollout_and_delete(cluster: Cluster) -> None:
    manifest = yaml.safe_dump(deployment("web", replicas=2))
    out = cluster.kubectl("apply", "-f", "-", input=manifest)
    assert "deployment.apps/web created" in out.stdout
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=20s")
    changed = yaml.safe_dump(deployment("web", image="nginx:1.26", replicas=3))
    out = cluster.kubectl("apply", "-f", "-", input=changed)
    assert "deployment.apps/web configured" in out.stdout
    status = cluster.kubectl("rollout", "status", "deployment/web", "--timeout=20s")
    assert 'deployment "web" successfully rolled out' in status.stdout
    dep = json.loads(cluster.kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert dep["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    # the rollout is done once the old pods are terminating; they may not be gone yet
    assert {p["spec"]["containers"][0]["image"] for p in pods
            if not p["metadata"].get("deletionTimestamp")} == {"nginx:1.26"}
    cluster.kubectl("delete", "deployment", "web")
    assert cluster.sim.get("deployments", "web") is None
    cluster.sim.wait_for(lambda: not cluster.sim.list("pods"), message="pods garbage-collected")


def test_apply_server_side(cluster: Cluster) -> None:
    manifest = yaml.safe_dump(deployment("api"))
    out = cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    assert "deployment.apps/api serverside-applied" in out.stdout
    changed = yaml.safe_dump(deployment("api", image="nginx:1.27", replicas=2))
    cluster.kubectl("apply", "--server-side", "-f", "-", input=changed)
    dep = cluster.sim.get("deployments", "api")
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert any(m["manager"] == "kubectl" and m["operation"] == "Apply" for m in dep["metadata"]["managedFields"])
    cluster.kubectl("rollout", "status", "deployment/api", "--timeout=20s")


def test_dry_run_server_does_not_store(cluster: Cluster) -> None:
    out = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(deployment("dry")))
    assert "(server dry run)" in out.stdout
    assert cluster.sim.get("deployments", "dry") is None


def test_secret_round_trip(cluster: Cluster) -> None:
    cluster.kubectl("create", "secret", "generic", "creds", "--from-literal=USER=admin",
                    "--from-literal=PASSWORD=s3cret")
    secret = json.loads(cluster.kubectl("get", "secret", "creds", "-o", "json").stdout)
    assert secret["type"] == "Opaque"
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"USER": "admin", "PASSWORD": "s3cret"}
    cluster.kubectl("delete", "secret", "creds")
    assert cluster.sim.get("secrets", "creds") is None


def test_exec_exit_code_env_and_stdin(cluster: Cluster) -> None:
    cluster.sim.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                        "stringData": {"url": "postgres://db"}})
    dep = deployment("shell")
    dep["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}})
    cluster.sim.create(dep)
    pod = running_pod(cluster, "app=shell")["metadata"]["name"]
    proc = cluster.kubectl("exec", pod, "--", "sh", "-c", "echo hi; exit 3", check=False)
    assert proc.returncode == 3
    assert proc.stdout == "hi\n"
    proc = cluster.kubectl("exec", pod, "--", "sh", "-c", 'echo "$GREETING $DB_URL"')
    assert proc.stdout == "hello postgres://db\n"
    proc = cluster.kubectl("exec", "-i", pod, "--", "cat", input="from stdin\n")
    assert proc.stdout == "from stdin\n"


def test_logs_previous_and_follow(cluster: Cluster) -> None:
    cluster.sim.create(deployment("crashy", annotations={"kubesim.lain.dev/crash": "always",
                                                          "kubesim.lain.dev/logs": "booting\nboom"}))

    def restarted() -> dict | None:
        for pod in cluster.sim.list("pods", selector="app=crashy"):
            if pod["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 2:
                return pod
        return None

    pod = cluster.sim.wait_for(restarted, message="two restarts")["metadata"]["name"]
    previous = cluster.kubectl("logs", pod, "--previous").stdout
    assert previous.startswith("booting\nboom\n")
    assert "crash #" in previous

    cluster.sim.create(deployment("chatty", annotations={"kubesim.lain.dev/logs": "first line"}))
    pod = running_pod(cluster, "app=chatty")["metadata"]["name"]
    assert cluster.kubectl("logs", pod).stdout == "first line\n"
    env = dict(__import__("os").environ, KUBECONFIG=str(cluster.kubeconfig))
    follower = subprocess.Popen([find_binary("kubectl"), "logs", "-f", pod], stdout=subprocess.PIPE,
                                text=True, env=env)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first line\n"
        time.sleep(0.2)
        cluster.sim.append_log(pod, "appended later")
        assert follower.stdout.readline() == "appended later\n"
    finally:
        follower.terminate()
        follower.wait(10)
    tail = cluster.kubectl("logs", pod, "--tail=1").stdout
    assert tail == "appended later\n"


def test_rollout_status_reports_progress_deadline(cluster: Cluster) -> None:
    dep = deployment("stalled", annotations={"kubesim.lain.dev/ready": "never"})
    dep["spec"]["progressDeadlineSeconds"] = 60  # x0.01 time scale: 0.6 s
    cluster.sim.create(dep)
    proc = cluster.kubectl("rollout", "status", "deployment/stalled", "--timeout=20s", check=False)
    assert proc.returncode == 1
    assert 'deployment "stalled" exceeded its progress deadline' in proc.stderr
    cond = {c["type"]: c for c in cluster.sim.get("deployments", "stalled")["status"]["conditions"]}
    assert cond["Progressing"]["reason"] == "ProgressDeadlineExceeded"
    assert cond["Available"]["status"] == "False"


def test_statefulset_and_scale_subresource(cluster: Cluster) -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(sts))
    cluster.kubectl("rollout", "status", "statefulset/db", "--timeout=20s")
    assert sorted(p["metadata"]["name"] for p in cluster.sim.list("pods", selector="app=db")) == ["db-0", "db-1"]
    cluster.kubectl("scale", "statefulset/db", "--replicas=3")
    cluster.kubectl("rollout", "status", "statefulset/db", "--timeout=20s")
    status = cluster.sim.get("statefulsets", "db")["status"]
    assert status["readyReplicas"] == 3 and status["currentRevision"] == status["updateRevision"]
    cluster.kubectl("set", "image", "statefulset/db", "db=postgres:17")
    cluster.kubectl("rollout", "status", "statefulset/db", "--timeout=20s")
    images = {p["spec"]["containers"][0]["image"] for p in cluster.sim.list("pods", selector="app=db")}
    assert images == {"postgres:17"}


def test_exec_with_tty(cluster: Cluster) -> None:
    import os

    import pexpect

    cluster.sim.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "term", "labels": {"app": "term"}},
                        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}})
    running_pod(cluster, "app=term")
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig))
    child = pexpect.spawn(find_binary("kubectl"), ["exec", "-it", "term", "--", "sh"], env=env,
                          encoding="utf-8", timeout=15, dimensions=(30, 100))
    child.sendline("stty size; echo marker-$((40+2))")
    child.expect("marker-42")
    assert "30 100" in child.before
    child.sendline("exit 5")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
