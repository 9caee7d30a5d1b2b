"""Helpers for the status, logs and x end-to-end tests: an app directory with a
cluster file pointing at the simulator, the real ``lain`` binary, and workloads
created through the simulator's API with the labels the chart gives them."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
LAIN = str(Path(sys.prefix) / "bin" / "lain")
APP = "dummy"


def tool(name: str) -> str:
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    return str(REPO / ".venv" / "tools" / f"helm{major}" / name)


def labels(component: str, kind: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/instance": APP,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/component": component,
        "lain.dev/kind": kind,
    }


def selector_labels(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/instance": APP,
        "app.kubernetes.io/component": component,
    }


def container(name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": f"registry.example.com/{APP}:abc123"}
    if env:
        spec["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return spec


def deployment(proc: str, replicas: int = 1, knobs: dict[str, str] | None = None,
               init: list[str] = (), env: dict[str, str] | None = None) -> dict[str, Any]:
    annotations = {f"kubesim.lain.dev/{k}": v for k, v in (knobs or {}).items()}
    pod_spec: dict[str, Any] = {"containers": [container(proc, env)]}
    if init:
        pod_spec["initContainers"] = [container(name) for name in init]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{APP}-{proc}", "labels": labels(proc, "deployment")},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(proc)},
            "template": {
                "metadata": {"labels": labels(proc, "deployment"), "annotations": annotations},
                "spec": pod_spec,
            },
        },
    }


def job(name: str, knobs: dict[str, str] | None = None) -> dict[str, Any]:
    annotations = {f"kubesim.lain.dev/{k}": v for k, v in (knobs or {}).items()}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{APP}-{name}", "labels": labels(name, "job")},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels(name, "job"), "annotations": annotations},
                "spec": {"restartPolicy": "Never", "containers": [container(name)]},
            },
        },
    }


@dataclass
class LainApp:
    """An app checkout (git, chart/values.yaml) and a cluster file for the simulator."""

    root: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LAIN, "--cluster", "sim", *args], cwd=self.root, env=self.env, capture_output=True,
            text=True, timeout=timeout, input=input,
        )


def make_app(tmp_path: Path, cluster: Any, values: dict[str, Any],
             cluster_extra: dict[str, Any] | None = None) -> LainApp:
    root = tmp_path / "app"
    (root / "chart").mkdir(parents=True)
    (root / "chart" / "values.yaml").write_text(yaml.safe_dump({"appname": APP, **values}))
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    cluster_file = {"namespace": cluster.namespace, "kubeconfig": str(cluster.kubeconfig), "domain": "example.com",
                    **(cluster_extra or {})}
    (clusters / "sim.yaml").write_text(yaml.safe_dump(cluster_file))
    env = dict(os.environ, LAIN_CLUSTERS_DIR=str(clusters), LAIN_HELM=tool("helm"),
               LAIN_KUBECTL=tool("kubectl"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for argv in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "app"]):
        subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)
    return LainApp(root, env)


def pods_of(cluster: Any, component: str) -> list[dict[str, Any]]:
    return cluster.sim.list("pods", selector=f"app.kubernetes.io/instance={APP},"
                                             f"app.kubernetes.io/component={component}")


# Setting a scene up: the real control plane's controllers, starved by a busy machine
# (the suite runs two clusters side by side), may take many seconds to act.
SETUP_TIMEOUT = 60.0


def wait_pods(cluster: Any, component: str, count: int, predicate: Any, what: str,
              timeout: float = SETUP_TIMEOUT) -> list[dict[str, Any]]:
    def ready() -> list[dict[str, Any]] | None:
        pods = pods_of(cluster, component)
        return pods if len(pods) == count and all(predicate(p) for p in pods) else None

    return cluster.sim.wait_for(ready, timeout=timeout, message=what)


def wait_job(cluster: Any, component: str, condition: str, timeout: float = SETUP_TIMEOUT) -> dict[str, Any]:
    """The Job ``dummy-<component>`` once it has ``condition`` (Complete, Failed): on a real
    control plane that comes a moment after its pod finished (SuccessCriteriaMet or
    FailureTarget first)."""
    def done() -> dict[str, Any] | None:
        obj = cluster.sim.get("jobs", f"{APP}-{component}")
        conditions = ((obj or {}).get("status") or {}).get("conditions") or []
        return obj if any(c.get("type") == condition and c.get("status") == "True" for c in conditions) else None

    return cluster.sim.wait_for(done, timeout=timeout, message=f"Job {APP}-{component} {condition}")


def node_of(cluster: Any, component: str) -> str:
    """The node the component's pods run on (one node on every test backend)."""
    return str(pods_of(cluster, component)[0]["spec"]["nodeName"])


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def phase(value: str) -> Any:
    return lambda pod: (pod.get("status") or {}).get("phase") == value


def restarted(times: int) -> Any:
    return lambda pod: any(s.get("restartCount", 0) >= times
                           for s in (pod.get("status") or {}).get("containerStatuses") or [])
