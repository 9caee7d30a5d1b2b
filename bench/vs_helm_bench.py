"""lain deploy side by side with plain helm, on the same rendered chart and cluster.

For each test backend (the simulator, and the real control plane once ``make k8s``
has built it): the manifests ``lain template`` renders for a two-proc app are put in
a plain chart, and each round the same change (a new pod annotation) is released
twice, in turn first:

* ``helm upgrade --install --wait`` of that chart (helm 4: ``--wait=watcher``) into
  a namespace of its own: what a team gets from helm alone;
* ``lain deploy`` of the app: helm, the rollout tracked, the verdict recorded, the
  green light.

Targets (design.md §10): on the simulator lain's extra time over helm's under 300 ms
(the green light included); on the real control plane a healthy rollout at most
1.2x helm's.  Then a crash-looping proc: helm waits its whole ``--timeout``, lain
must fail within 10 s, naming the proc.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import isolated_env, ms, ratio, table

ROUNDS = 5
EXTRA_TARGET = 0.300  # on the simulator
RATIO_TARGET = 1.2  # on the real control plane
CRASH_TARGET = 10.0
HELM_CRASH_TIMEOUT = 20
REF_NAMESPACE = "helmref"
CRASH_LOG = "Traceback: KeyError 'DATABASE_URL'"


def app_values(round_: int, crash: bool = False) -> dict[str, Any]:
    worker: dict[str, Any] = {"replicaCount": 1, "command": ["python", "worker.py"],
                              "podAnnotations": {"bench/round": str(round_)}}
    if crash:
        worker["podAnnotations"].update({"kubesim.lain.dev/crash": "always", "kubesim.lain.dev/logs": CRASH_LOG})
    return {
        "appname": "dummy",
        "deployments": {
            "web": {"replicaCount": 2, "containerPort": 5000, "podAnnotations": {"bench/round": str(round_)}},
            "worker": worker,
        },
    }


class SideBySide:
    """One app, deployed by lain into the cluster's namespace, and its rendered chart,
    installed by helm into :data:`REF_NAMESPACE`."""

    def __init__(self, workdir: Path, cluster: Any) -> None:
        from tests.e2e.deployapp import make_app, tool

        self.cluster = cluster
        self.app = make_app(workdir, cluster)
        self.app.env.update({k: v for k, v in isolated_env().items() if k.startswith(("HELM_", "KUBECACHE", "XDG_"))})
        self.helm = tool("helm")
        self.major = int(os.environ.get("LAIN_TEST_HELM_MAJOR", "3"))
        self.chart = workdir / "refchart"
        (self.chart / "templates").mkdir(parents=True)
        (self.chart / "Chart.yaml").write_text(yaml.safe_dump(
            {"apiVersion": "v2", "name": "dummy", "version": "0.1.0", "type": "application"}))

    def change(self, values: dict[str, Any]) -> None:
        """Commit ``values`` for lain and render them into the reference chart."""
        self.app.write(values)
        rendered = self.app.lain("template", check=0).stdout
        (self.chart / "templates" / "app.yaml").write_text(rendered)

    def helm_upgrade(self, timeout: int) -> tuple[float, int]:
        wait = "--wait=watcher" if self.major >= 4 else "--wait"
        argv = [self.helm, "upgrade", "--install", "dummy", str(self.chart), "--kubeconfig", str(self.cluster.kubeconfig),
                "--namespace", REF_NAMESPACE, "--create-namespace", wait, "--timeout", f"{timeout}s"]
        started = time.perf_counter()
        result = subprocess.run(argv, env=self.app.env, capture_output=True, text=True, timeout=timeout + 60)
        return time.perf_counter() - started, result.returncode

    def lain_deploy(self, timeout: int) -> tuple[float, subprocess.CompletedProcess[str]]:
        started = time.perf_counter()
        result = self.app.lain("deploy", "--timeout", f"{timeout}s", "--no-panel", timeout=timeout + 60)
        return time.perf_counter() - started, result


def healthy_rounds(side: SideBySide) -> list[tuple[float, float]]:
    side.change(app_values(0))
    side.helm_upgrade(120)  # first installs: not timed
    side.app.lain("deploy", "--timeout", "120s", timeout=180, check=0)
    pairs = []
    for number in range(1, ROUNDS + 1):
        side.change(app_values(number))
        if number % 2:
            helm_time, code = side.helm_upgrade(120)
            lain_time, result = side.lain_deploy(120)
        else:
            lain_time, result = side.lain_deploy(120)
            helm_time, code = side.helm_upgrade(120)
        if code != 0 or result.returncode != 0:
            raise SystemExit(f"round {number}: helm exit {code}, lain exit {result.returncode}\n{result.stderr[-2000:]}")
        pairs.append((helm_time, lain_time))
    return pairs


def crash_loop(side: SideBySide) -> tuple[float, int, float, int, bool]:
    side.change(app_values(ROUNDS + 1, crash=True))
    helm_time, helm_code = side.helm_upgrade(HELM_CRASH_TIMEOUT)
    lain_time, result = side.lain_deploy(HELM_CRASH_TIMEOUT * 3)
    named = "dummy-worker" in result.stderr and "CrashLoopBackOff" in result.stderr
    return helm_time, helm_code, lain_time, result.returncode, named


def run_backend(name: str) -> None:
    from bench.soak_bench import backend_cluster

    workdir = Path(tempfile.mkdtemp(prefix=f"lain-bench-vs-helm-{name}-"))
    with backend_cluster(name, workdir) as cluster:
        if name == "kwok":
            cluster.sim.create_namespace(REF_NAMESPACE)
        side = SideBySide(workdir, cluster)
        pairs = healthy_rounds(side)
        rows = [(str(i + 1), ms(h), ms(lt), ms(lt - h), ratio(lt, h)) for i, (h, lt) in enumerate(pairs)]
        table(rows, ("round", "helm --wait", "lain deploy", "lain - helm", "lain / helm"))
        helm_median = statistics.median(h for h, _ in pairs)
        lain_median = statistics.median(lt for _, lt in pairs)
        extra = statistics.median(lt - h for h, lt in pairs)
        if name == "kubesim":
            verdict = "ok" if extra < EXTRA_TARGET else "OVER"
            print(f"{name}: helm {ms(helm_median)}, lain {ms(lain_median)}: lain's extra time median {ms(extra)} "
                  f"(target < {ms(EXTRA_TARGET)}, the green light included): {verdict}")
        else:
            value = lain_median / helm_median
            verdict = "ok" if value <= RATIO_TARGET else "OVER"
            print(f"{name}: helm {ms(helm_median)}, lain {ms(lain_median)}: {value:.2f}x helm "
                  f"(target <= {RATIO_TARGET:g}x): {verdict}")
        helm_time, helm_code, lain_time, lain_code, named = crash_loop(side)
        verdict = "ok" if lain_code == 1 and named and lain_time < CRASH_TARGET else "OVER"
        print(f"{name}, a crash-looping proc: helm --wait gave up after {helm_time:.1f} s (exit {helm_code}, "
              f"--timeout {HELM_CRASH_TIMEOUT}s); lain failed in {lain_time:.1f} s (exit {lain_code}"
              f"{', naming dummy-worker CrashLoopBackOff' if named else ', NOT naming the proc and reason'}) "
              f"(target < {CRASH_TARGET:g} s): {verdict}")


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.backends import real_control_plane_missing

    os.environ.update(isolated_env())
    backends = ["kubesim"]
    missing = real_control_plane_missing()
    if missing:
        print(f"(real control plane: skipped, {missing}; `make k8s` builds it)")
    else:
        backends.append("kwok")
    for name in backends:
        print(f"-- {name} --")
        run_backend(name)
