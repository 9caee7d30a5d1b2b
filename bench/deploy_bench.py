"""Deploy benchmarks against the simulator (started in this process).

1. lain's own overhead in ``lain deploy`` of an app of 1 and of 100 procs: wall
   time minus every helm call, the rollout tracking and the green-light check
   that follows it (all read from ``lain -v``'s timings; the green light is shown
   on its own).  Target (design.md §10): under 150 ms median.
2. Failure latency: from the moment a pod's status shows an image that does
   not exist (seen by a listener inside the simulator) to the moment lain
   prints its failure verdict for that proc.
3. Cost of tracking: API requests (counted by the simulator's HTTP server)
   and kubectl processes per second while ``lain wait`` follows a release of
   1, 10 and 50 pods that never become ready: constant in the number of pods.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import REPO, VENV_BIN, isolated_env, ms, table

LAIN = str(VENV_BIN / "lain")
_HELM_LINE = re.compile(r"^\$ \S*/helm .*\((\d+) ms")
_ROLLOUT_LINE = re.compile(r"rollout tracked in (\d+) ms")
_GREEN_LINE = re.compile(r"green light checked in (\d+) ms")


class RequestCounter:
    """Timestamps of every HTTP request the simulator serves."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()

    def between(self, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for t in self.times if start <= t <= end)


def start_simulator(counter: RequestCounter) -> tuple[Any, Path]:
    from aiohttp import web

    from tests.kubesim import sim as simmod
    from tests.kubesim.fixture import SimThread
    from tests.kubesim.kubeconfig import write_kubeconfig

    original = simmod.build_app

    def counting_app(sim: Any) -> web.Application:
        app = original(sim)

        @web.middleware
        async def count(request: web.Request, handler: Any) -> web.StreamResponse:
            with counter.lock:
                counter.times.append(time.monotonic())
            return await handler(request)

        app.middlewares.append(count)
        return app

    simmod.build_app = counting_app
    runner = SimThread(time_scale=0.05)
    client = runner.start()
    home = Path(tempfile.mkdtemp(prefix="lain-bench-kube-"))
    kubeconfig = write_kubeconfig(home / "kubeconfig", runner.url, "default")
    return (runner, client), kubeconfig


def make_app(root: Path, kubeconfig: Path, values: dict[str, Any]) -> dict[str, str]:
    (root / "chart").mkdir(parents=True, exist_ok=True)
    clusters = root.parent / "clusters"
    clusters.mkdir(exist_ok=True)
    (clusters / "sim.yaml").write_text(
        yaml.safe_dump({"kubeconfig": str(kubeconfig), "namespace": "default", "registry": "registry.example.com/team"})
    )
    (root / "chart" / "values.yaml").write_text(yaml.safe_dump(values))
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    env = isolated_env(
        {
            "LAIN_CLUSTERS_DIR": str(clusters),
            "LAIN_CLUSTER": "sim",
            "LAIN_HELM": str(REPO / ".venv" / "tools" / f"helm{major}" / "helm"),
            "LAIN_KUBECTL": str(REPO / ".venv" / "tools" / f"helm{major}" / "kubectl"),
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
    )
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
        subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)
    return env


OVERHEAD_TARGET = 0.150
OVERHEAD_RUNS = 11


def many_procs(appname: str, procs: int) -> dict[str, Any]:
    """An app of ``procs`` one-pod web procs."""
    return {"appname": appname,
            "deployments": {f"web{i}": {"replicaCount": 1, "containerPort": 5000} for i in range(procs)}}


def values(appname: str, replicas: int, pod_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    web: dict[str, Any] = {"replicaCount": replicas, "containerPort": 5000}
    if pod_annotations:
        web["podAnnotations"] = pod_annotations
    return {"appname": appname, "deployments": {"web": web, "worker": {"replicaCount": 1}}}


def lain(env: dict[str, str], cwd: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run([LAIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return time.perf_counter() - started, result


def helm_seconds(stderr: str) -> float:
    """The helm calls of one ``lain -v deploy`` up to the end of the rollout; the green
    light's own (it reads the history again) are inside its time already."""
    total = 0
    for line in stderr.splitlines():
        if _ROLLOUT_LINE.search(line):
            break
        if m := _HELM_LINE.match(line):
            total += int(m.group(1))
    return total / 1000


def bench_overhead(base: Path, kubeconfig: Path) -> None:
    rows: list[tuple[str, ...]] = []
    medians = []
    for procs in (1, 100):
        name = f"overhead{procs}"
        root = base / name / "app"
        app_values = many_procs(name, procs)
        env = make_app(root, kubeconfig, app_values)
        lain(env, root, "deploy", "--timeout", "120s")  # first install, warms caches
        overheads: list[float] = []
        for run in range(OVERHEAD_RUNS):
            # a real change each time, so every deploy rolls pods out
            app_values["deployments"]["web0"]["podAnnotations"] = {"bench/run": str(run)}
            (root / "chart" / "values.yaml").write_text(yaml.safe_dump(app_values))
            wall, result = lain(env, root, "-v", "deploy", "--timeout", "120s")
            if result.returncode != 0:
                raise SystemExit(f"deploy failed:\n{result.stderr}")
            helm = helm_seconds(result.stderr)
            rollout_match = _ROLLOUT_LINE.search(result.stderr)
            rollout = int(rollout_match.group(1)) / 1000 if rollout_match else 0.0
            green_match = _GREEN_LINE.search(result.stderr)
            green = int(green_match.group(1)) / 1000 if green_match else 0.0
            overhead = wall - helm - rollout - green
            overheads.append(overhead)
            rows.append((str(procs), ms(wall), ms(helm), ms(rollout), ms(green), ms(overhead)))
        medians.append((procs, statistics.median(overheads)))
    table(rows, ("procs", "total", "helm calls", "rollout", "green light", "lain overhead"))
    for procs, median in medians:
        verdict = "ok" if median < OVERHEAD_TARGET else "OVER"
        print(f"lain's own overhead in deploy, {procs} proc{'s' if procs > 1 else ''}: median {ms(median)} "
              f"(target < {ms(OVERHEAD_TARGET)}): {verdict}")


def bench_failure_latency(base: Path, kubeconfig: Path, sim: Any) -> None:
    root = base / "latency" / "app"
    env = make_app(root, kubeconfig, values("latency", 2))
    lain(env, root, "deploy", "--timeout", "60s")
    latencies = []
    for attempt in range(3):
        seen: dict[str, float] = {}

        def listener(event: Any, seen: dict[str, float] = seen) -> None:
            obj = event.obj
            if obj.get("kind") != "Pod" or "web" not in obj["metadata"]["name"] or "bad" in seen:
                return
            for cs in (obj.get("status") or {}).get("containerStatuses") or []:
                reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
                if reason in ("ErrImagePull", "ImagePullBackOff"):
                    seen["bad"] = time.monotonic()

        sim.call(lambda listener=listener: sim.raw.store.listeners.append(listener))
        try:
            bad = values("latency", 2)
            bad["deployments"]["web"]["imageTag"] = "notfound"
            bad["deployments"]["web"]["podAnnotations"] = {"bench/attempt": str(attempt)}
            (root / "chart" / "values.yaml").write_text(yaml.safe_dump(bad))
            process = subprocess.Popen(
                [LAIN, "deploy", "--timeout", "60s"], cwd=root, env=env, stderr=subprocess.PIPE, text=True
            )
            verdict_at = None
            assert process.stderr is not None
            for line in process.stderr:
                if "[failed:" in line and verdict_at is None:
                    verdict_at = time.monotonic()
            process.wait()
        finally:
            sim.call(lambda listener=listener: sim.raw.store.listeners.remove(listener))
        if verdict_at is None or "bad" not in seen:
            raise SystemExit("the failure was not detected")
        latencies.append(verdict_at - seen["bad"])
        # back to a good state for the next attempt
        (root / "chart" / "values.yaml").write_text(yaml.safe_dump(values("latency", 2)))
        lain(env, root, "deploy", "--timeout", "60s")
    table([(str(i + 1), ms(v)) for i, v in enumerate(latencies)], ("attempt", "pod shows ErrImagePull -> lain's verdict"))
    print(f"failure recognised: median {ms(statistics.median(latencies))} after the pod state (target < 2 s)")


def bench_tracking_cost(base: Path, kubeconfig: Path, counter: RequestCounter) -> None:
    rows = []
    window = 6.0
    for pods in (1, 10, 50):
        root = base / f"cost{pods}" / "app"
        name = f"cost{pods}"
        env = make_app(root, kubeconfig, values(name, pods, {"kubesim.lain.dev/ready": "never"}))
        lain(env, root, "deploy", "--no-wait", "--timeout", "60s")
        started = time.monotonic()
        _wall, result = lain(env, root, "-v", "wait", "--timeout", f"{window:g}s")
        ended = time.monotonic()
        processes = sum(1 for ln in result.stderr.splitlines() if re.match(r"^\$ \S*/kubectl ", ln))
        total = counter.between(started, ended)
        steady = counter.between(started + 2.0, ended - 0.2)
        steady_rate = steady / max(0.1, (ended - 0.2) - (started + 2.0))
        rows.append((str(pods), str(processes), str(total), f"{steady_rate:.2f}"))
    table(rows, ("pods", "kubectl processes", "API requests", "requests/s in steady state"))
    print(f"(each `lain wait` ran {window:g}s; processes and requests do not grow with the pods)")


def main() -> None:
    counter = RequestCounter()
    (runner, sim), kubeconfig = start_simulator(counter)
    base = Path(tempfile.mkdtemp(prefix="lain-bench-deploy-"))
    try:
        print("-- overhead of lain deploy --")
        bench_overhead(base, kubeconfig)
        print("\n-- failure latency --")
        bench_failure_latency(base, kubeconfig, sim)
        print("\n-- tracking cost vs number of pods --")
        bench_tracking_cost(base, kubeconfig, counter)
    finally:
        runner.stop()
