"""Taking over a release lain4 deployed: helm installs the app from a chart with lain4's
selectors, Service port 80 and object names (tests/data/lain4-chart), then `lain deploy`
upgrades that release in place.  Nothing is deleted or re-created, the Service selects a
ready pod at every moment of the rollout, and `lain status` ends GREEN."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deployapp import REGISTRY, App, make_app
from tests.ingress_standin import ingress_standin
from tests.polling import wait_until

pytestmark = pytest.mark.e2e

LAIN4_CHART = Path(__file__).resolve().parents[1] / "data" / "lain4-chart"
LAIN4_SELECTOR = {"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-web"}
LAIN4_INGRESS = "dummy-example-com-dummy-web"

VALUES = {
    "appname": "dummy",
    "deployments": {
        "web": {"replicaCount": 2, "containerPort": 5000, "command": ["python", "run.py"]},
        "worker": {"replicaCount": 1, "command": ["python", "worker.py"]},
    },
    "ingresses": [{"host": "dummy", "deployName": "web", "paths": ["/"]}],
}


def _ready(pod: dict[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class ServingSampler(threading.Thread):
    """Every few ms: the Service dummy-web, and how many ready pods its selector reaches."""

    def __init__(self, cluster: Any) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.samples: list[tuple[int, int | None, str | None]] = []  # (ready pods, port, service uid)
        self.images: set[str] = set()  # of the ready pods seen: the old release's, then lain's
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            service = self.cluster.sim.get("services", "dummy-web")
            if service is None:
                self.samples.append((0, None, None))
            else:
                selector = ",".join(f"{k}={v}" for k, v in sorted(service["spec"]["selector"].items()))
                ready = [p for p in self.cluster.sim.list("pods", selector=selector) if _ready(p)]
                self.images.update(p["spec"]["containers"][0]["image"] for p in ready)
                self.samples.append((len(ready), service["spec"]["ports"][0]["port"], service["metadata"]["uid"]))
            time.sleep(0.02)

    def stop(self) -> list[tuple[int, int | None, str | None]]:
        self._done.set()
        self.join(10)
        return self.samples


def install_lain4_release(app: App) -> None:
    """`helm install` of the lain4-shaped chart with the app's values, as lain4 left it."""
    lain4_values = app.root.parent / "lain4-values.yaml"
    lain4_values.write_text(yaml.safe_dump({**VALUES, "registry": REGISTRY, "imageTag": "lain4-release",
                                            "domain": "example.com"}))
    app.cluster.helm("install", "dummy", str(LAIN4_CHART), "--namespace", app.cluster.namespace,
                     "-f", str(lain4_values))
    wait_until(lambda: (app.cluster.sim.get("deployments", "dummy-web") or {}).get("status", {})
               .get("readyReplicas") == 2, timeout=60, message="lain4's dummy-web ready")


def uid(app: App, kind: str, name: str) -> str:
    obj = app.cluster.sim.get(kind, name)
    assert obj is not None, f"{kind} {name} is gone"
    return str(obj["metadata"]["uid"])


def test_lain_deploy_takes_over_a_lain4_release_in_place(tmp_path: Path, cluster: Any) -> None:
    with ingress_standin() as ingress:
        app = make_app(tmp_path, cluster)
        cluster_file = tmp_path / "clusters" / "sim.yaml"
        cluster_file.write_text(cluster_file.read_text() + f"ingressCheck: {{address: '{ingress}'}}\n")
        app.write(VALUES)
        install_lain4_release(app)
        before = {(kind, name): uid(app, kind, name) for kind, name in (
            ("deployments", "dummy-web"), ("deployments", "dummy-worker"), ("services", "dummy-web"),
            ("ingresses", LAIN4_INGRESS))}

        sampler = ServingSampler(cluster)
        sampler.start()
        try:
            result = app.lain("deploy", "--timeout", "120s", timeout=180, check=0)
        finally:
            samples = sampler.stop()

        err = result.stderr
        assert err.count("taking over lain4's release dummy in place") == 1, err
        assert "dummy-web, worker" not in err and "web, worker keep lain4's selectors" in err
        assert "verdict: GREEN" in result.stdout, result.stdout + err
        # nothing was deleted or re-created
        assert {key: uid(app, *key) for key in before} == before
        assert app.cluster.sim.get("ingresses", "dummy-dummy-web-dummy") is None
        # served throughout: the Service (same object, port 80) always reached a ready pod
        assert samples and min(ready for ready, _, _ in samples) >= 1, samples
        assert {port for _, port, _ in samples} == {80}
        assert {service_uid for _, _, service_uid in samples} == {before[("services", "dummy-web")]}
        assert sampler.images == {f"{REGISTRY}/dummy:lain4-release", f"{REGISTRY}/dummy:{app.head()}"}, \
            "the samples did not span the rollout"

        web = app.deployment("web")
        assert web["spec"]["selector"]["matchLabels"] == LAIN4_SELECTOR
        assert app.image("web") == f"{REGISTRY}/dummy:{app.head()}"
        pod_labels = web["spec"]["template"]["metadata"]["labels"]
        assert pod_labels["app.kubernetes.io/instance"] == "dummy-web"
        assert pod_labels["app.kubernetes.io/component"] == "web"
        service = app.cluster.sim.get("services", "dummy-web")
        assert service["spec"]["selector"] == LAIN4_SELECTOR
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 5000)]
        backend = app.cluster.sim.get("ingresses", LAIN4_INGRESS)["spec"]["rules"][0]["http"]["paths"][0]
        assert backend["backend"]["service"] == {"name": "dummy-web", "port": {"number": 80}}
        assert [h["status"] for h in app.history()] == ["superseded", "deployed"]
        # noted with the revision: the next deploy knows to read the live selectors again
        assert "lain4 selectors kept" in app.history()[-1]["description"]

        status = app.lain("status", "-s", check=0)
        assert "verdict: GREEN" in status.stdout, status.stdout + status.stderr
        assert "web" in status.stdout and "2/2 ready" in status.stdout

        # later deploys keep the lain4 layout, and lain's own commands find the pods
        app.write({**VALUES, "deployments": {**VALUES["deployments"],
                                             "web": {**VALUES["deployments"]["web"], "replicaCount": 3}}})
        again = app.lain("deploy", "--timeout", "120s", timeout=180, check=0)
        assert "web: 3/3 ready" in again.stderr, again.stderr
        assert uid(app, "deployments", "dummy-web") == before[("deployments", "dummy-web")]
        logs = app.lain("logs", "web", "--tail", "1", check=0)
        assert logs.stdout.count("[pod/dummy-web-") >= 1 or "dummy-web" in logs.stderr
