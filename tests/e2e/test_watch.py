"""ReleaseWatch against the simulator with the real kubectl: one process per kind, live updates."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from lain_cli import tools
from lain_cli.errors import ClusterError
from lain_cli.watch import ReleaseWatch

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class KubeconfigCluster:
    kubeconfig: Path
    namespace: str = "default"
    name: str = "test"

    def kubectl_args(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig), "--namespace", self.namespace]


def deployment(name: str, replicas: int, annotations: dict[str, str] | None = None) -> dict:
    labels = {"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/demo:1"}]},
            },
        },
    }


@pytest.fixture(autouse=True)
def use_pinned_kubectl(monkeypatch: pytest.MonkeyPatch) -> None:
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("LAIN_KUBECTL", str(root / ".venv" / "tools" / f"helm{major}" / "kubectl"))
    tools.get_tool.cache_clear()


def wait_until(watch: ReleaseWatch, predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        watch.wait_for_change(0.5)
    return predicate()


def test_watch_sees_pods_appear_change_and_go(cluster) -> None:  # type: ignore[no-untyped-def]
    target = KubeconfigCluster(cluster.kubeconfig, cluster.namespace)
    cluster.sim.create(deployment("web", 2))
    with ReleaseWatch(target, "app.kubernetes.io/instance=demo") as watch:
        assert wait_until(watch, lambda: len(watch.objects("pods")) == 2)
        assert [d["metadata"]["name"] for d in watch.objects("deployments")] == ["web"]
        assert len(watch.objects("replicasets")) == 1
        # A crash-looping pod created after the watch started shows up, restarts counting up.
        cluster.sim.create(deployment("worker", 1, {"kubesim.lain.dev/crash": "always"}))

        def worker_pod() -> dict:
            pods = [p for p in watch.objects("pods") if p["metadata"]["name"].startswith("worker-")]
            return pods[0] if pods else {}

        def restarted() -> bool:
            statuses = worker_pod().get("status", {}).get("containerStatuses") or []
            return bool(statuses) and statuses[0].get("restartCount", 0) >= 2

        assert wait_until(watch, restarted)
        pod = worker_pod()["metadata"]["name"]
        assert wait_until(
            watch, lambda: any(e.get("involvedObject", {}).get("name") == pod for e in watch.events())
        )
        # Scaling to 1 deletes a pod: the cache drops it.
        cluster.kubectl("scale", "deployment/web", "--replicas=1")
        assert wait_until(watch, lambda: len(watch.objects("pods")) == 2)
        # Constant cost: one initial LIST plus one watch per kind, whatever the pod count.
        assert watch.stats.processes_started == 1 + 5 + 1
        assert watch.error is None


def test_watch_reports_an_unreachable_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:9'}\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n"
    )
    with pytest.raises(ClusterError) as info:
        ReleaseWatch(KubeconfigCluster(kubeconfig), "app=x").start()
    assert info.value.message == "reading the release's objects: cannot reach cluster test"
    assert info.value.details == ["The connection to the server 127.0.0.1:9 was refused - did you specify the right host or port?"]
    assert info.value.hint == "check the network / VPN and the kubeconfig's server address"
