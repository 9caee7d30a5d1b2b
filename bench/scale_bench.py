"""Scale on the real control plane (the ``kwok`` backend): one lain-deployed app of
10 deployments, 1, 10 and 100 replicas each (10, 100 and 1000 pods).

For each size, with the figures beside their targets:

* tracking (``lain deploy``'s rollout tracker, the same one ``lain wait`` runs): kubectl
  processes started and API requests they made per second, from the "tracking the
  rollout" line to the end (target: the same at every size).  Counted by a kubectl
  wrapper that logs each run and, at ``-v=6``, each request kubectl makes;
* ``lain status -s``: wall time (median of 3, target < 1 s) and kubectl processes (target <= 3);
* the live panel: building one report from the watch cache (median, target < 50 ms).

Then, on the smallest release: how long after a pod's status shows a failure (seen by a
separate watch here) lain prints the failure line (``ErrImagePull`` of a tag that does
not exist, ``CrashLoopBackOff`` past the restart tolerance; target < 1 s), and how long
after a failing hook's container starts lain prints its first log line (target < 1 s).
On kwok the log agent writes a container's log file before the container may start
(``tests/kwokcluster/agent.py``), so the line counts as written when the container
starts: the moment the pod status says it is running (or has run).

Skips (and says why) when ``make k8s`` has not built the control plane.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import REPO, ms, table

PROCS = 10
REPLICAS = (1, 10, 100)
STATUS_RUNS = 3
REDRAWS = 20
DEPLOY_TIMEOUT = "15m"
_REQUEST_RE = re.compile(r'^I\d{4} (\d\d):(\d\d):(\d\d\.\d+) .*(?:"Response" verb="|\] (?:GET|POST|PUT|PATCH|DELETE) http)')

WRAPPER = """#!/bin/bash
# kubectl as lain runs it, noting each run and (at -v=6) each API request it makes
echo "$(date +%s.%N) $*" >> "{calls}"
exec "{real}" -v=6 "$@" 2> >(exec tee -a "{requests}" | grep -v -E '^I[0-9]{{4}} ' >&2)
"""


def kubectl_path() -> str:
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    return str(REPO / ".venv" / "tools" / f"helm{major}" / "kubectl")


def helm_path() -> str:
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    return str(REPO / ".venv" / "tools" / f"helm{major}" / "helm")


@dataclass
class Counting:
    """A kubectl wrapper and what it recorded."""

    root: Path
    calls: Path = field(init=False)
    requests: Path = field(init=False)
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.calls, self.requests, self.path = self.root / "calls", self.root / "requests", self.root / "kubectl"
        self.path.write_text(WRAPPER.format(calls=self.calls, requests=self.requests, real=kubectl_path()))
        self.path.chmod(0o755)
        self.reset()

    def reset(self) -> None:
        self.calls.write_text("")
        self.requests.write_text("")

    def processes_between(self, start: float, end: float) -> int:
        return sum(1 for line in self.calls.read_text().splitlines() if start <= float(line.split()[0]) <= end)

    def requests_between(self, start: float, end: float) -> int:
        day = datetime.fromtimestamp(start).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        count = 0
        for line in self.requests.read_text(errors="replace").splitlines():
            match = _REQUEST_RE.match(line)
            if match:
                at = day + int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3))
                count += start <= at <= end
        return count


class Timeline:
    """A lain run whose output lines are timestamped as they arrive."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self.started = time.time()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        self.ended = time.time()
        return code

    def first(self, predicate: Callable[[str], bool]) -> float | None:
        return next((at for at, line in self.lines if predicate(line)), None)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


class PodWatch:
    """The bench's own watch of the app's pods: when a pod was first seen in a state."""

    def __init__(self, cluster: Any, selector: str, predicate: Callable[[dict[str, Any]], bool]) -> None:
        from lain_cli.watch import ReleaseWatch

        self.seen: float | None = None
        self._predicate = predicate
        self._watch = ReleaseWatch(cluster, selector, kinds=("pods",), with_events=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PodWatch:
        self._watch.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watch.stop()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set() and self.seen is None:
            since = self._watch.generation
            if any(self._predicate(p) for p in self._watch.objects("pods")):
                self.seen = time.time()
                return
            self._watch.wait_for_change(0.5, since=since)


def _waiting_reason(pod: dict[str, Any]) -> str:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return ""


def _restarts(pod: dict[str, Any]) -> int:
    return max((int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or []),
               default=0)


def values_for(replicas: int, **extra: Any) -> dict[str, Any]:
    deployments: dict[str, Any] = {f"p{i}": {"replicaCount": replicas, **extra} for i in range(PROCS)}
    return {"appname": "dummy", "deployments": deployments}


class Bench:
    def __init__(self, kwok: Any, work: Path) -> None:
        self.kwok = kwok
        self.counting = Counting(work / "count")
        self.lain = str(Path(sys.prefix) / "bin" / "lain")
        self.namespace = ""
        self.use_namespace(work, "scale-failures")
        self.profiles: list[tuple[str, str]] = []
        self.breakdowns: list[tuple[str, list[str]]] = []
        self.verdicts: dict[str, float] = {}  # the tracker's "[failed: ...]" progress line

    def use_namespace(self, work: Path, namespace: str) -> None:
        """A fresh namespace and app for the next measurement; the previous one is deleted
        (its pods go at once on kwok), so a release of 1000 pods fits the node's 1000."""
        from lain_cli.clusters import Cluster
        from tests.backends import namespaced_kubeconfig
        from tests.e2e.deployapp import make_app

        if self.namespace:
            subprocess.run([kubectl_path(), "--kubeconfig", str(self.kwok.kubeconfig), "delete", "namespace",
                            self.namespace, "--wait=true", "--timeout=120s"], capture_output=True, check=False)
        self.namespace = namespace
        self.kwok.client().create_namespace(namespace)
        folder = work / namespace
        kubeconfig = namespaced_kubeconfig(Path(self.kwok.kubeconfig), folder / "kube" / "config", namespace)
        os.environ["KUBECONFIG"] = str(kubeconfig)
        self.app = make_app(folder, SimpleNamespace(kubeconfig=kubeconfig, namespace=namespace))
        self.app.env.update(LAIN_KUBECTL=kubectl_path(), LAIN_HELM=helm_path(), KUBECONFIG=str(kubeconfig))
        self.cluster = Cluster(name="sim", namespace=namespace, kubeconfig=str(kubeconfig))

    def run(self, *args: str, counted: bool = False) -> Timeline:
        env = dict(self.app.env)
        if counted:
            env["LAIN_KUBECTL"] = str(self.counting.path)
        return Timeline([self.lain, *args], self.app.root, env)

    def deploy(self, values: dict[str, Any], *, counted: bool = False, timeout: float = 900) -> tuple[int, Timeline]:
        self.app.write(values)
        run = self.run("deploy", "--timeout", DEPLOY_TIMEOUT, counted=counted)
        return run.wait(timeout), run

    # -- per size -----------------------------------------------------------------------
    def size(self, replicas: int) -> dict[str, Any]:
        pods = replicas * PROCS
        self.counting.reset()
        code, run = self.deploy(values_for(replicas), counted=True)
        if code != 0:
            raise RuntimeError(f"lain deploy of {pods} pods exited {code}:\n{run.text()[-3000:]}")
        start = run.first(lambda line: "tracking the rollout" in line) or run.started
        seconds = max(run.ended - start, 1e-3)
        procs = self.counting.processes_between(start, run.ended)
        reqs = self.counting.requests_between(start, run.ended)
        status_times, status_procs = self.status_runs()
        redraw = self.redraw(pods)
        print(f"  {pods} pods: tracked {seconds:.1f} s, {procs} kubectl processes, {reqs} API requests; "
              f"status -s {ms(statistics.median(status_times))} ({status_procs} kubectl); redraw {ms(redraw)}",
              flush=True)
        return {"pods": pods, "tracking": seconds, "procs": procs, "reqs": reqs,
                "status": statistics.median(status_times), "status_procs": status_procs, "redraw": redraw}

    def status_runs(self) -> tuple[list[float], int]:
        self.run("status", "-s").wait(60)  # kubectl's version is cached after this
        times = []
        for _ in range(STATUS_RUNS):
            started = time.perf_counter()
            self.run("status", "-s").wait(60)
            times.append(time.perf_counter() - started)
        if statistics.median(times) >= 1:
            run = self.run("--verbose", "status", "-s")
            run.wait(60)
            self.breakdowns.append(("`lain --verbose status -s`: when each line arrived, from the start",
                                    [f"{(at - run.started) * 1000:6.0f} ms  {line[:150]}" for at, line in run.lines
                                     if line.startswith("$ ")] + [f"{(run.ended - run.started) * 1000:6.0f} ms  exit"]))
        self.counting.reset()
        before = time.time()
        self.run("status", "-s", counted=True).wait(60)
        return times, self.counting.processes_between(before, time.time())

    def redraw(self, pods: int) -> float:
        from bench.status_bench import BenchContext
        from lain_cli import panel
        from lain_cli import status as st
        from lain_cli.labels import app_selector
        from lain_cli.watch import ReleaseWatch

        ctx = BenchContext(self.cluster, namespace=self.namespace, values=self.app.values,
                           procs={name: "deployment" for name in self.app.values["deployments"]})
        with ReleaseWatch(self.cluster, app_selector(ctx), kinds=panel.WATCH_KINDS) as watch:
            deadline = time.monotonic() + 60
            while len(watch.objects("pods")) < pods and time.monotonic() < deadline:
                watch.wait_for_change(1)
            checks = panel.BackgroundChecks(ctx, lambda: [])
            tol = st.status_tolerances()
            times = []
            for _ in range(REDRAWS):
                started = time.perf_counter()
                panel.snapshot_report(ctx, watch, checks, tol)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            if median > 0.05:
                self.profiles.append((f"panel redraw at {pods} pods", _profile(
                    lambda: panel.snapshot_report(ctx, watch, checks, tol))))
            return median

    # -- failures -----------------------------------------------------------------------
    def failure_latency(self, name: str, annotations: dict[str, str], image_tag: str | None,
                        shows: Callable[[dict[str, Any]], bool]) -> tuple[float | None, str]:
        values = values_for(1)
        values["deployments"]["p0"]["podAnnotations"] = annotations
        if image_tag:
            values["deployments"]["p0"]["imageTag"] = image_tag
        with PodWatch(self.cluster, "app.kubernetes.io/component=p0", shows) as seen:
            code, run = self.deploy(values, timeout=300)
            time.sleep(0.2)
        verdict = run.first(lambda line: "p0:" in line and "[failed:" in line)
        printed = run.first(lambda line: "Deployment dummy-p0 failed" in line)
        if verdict is not None and seen.seen is not None:
            self.verdicts[name] = verdict - seen.seen
        if code == 0 or printed is None or seen.seen is None:
            return None, f"{name}: lain exited {code}, failure line {'seen' if printed else 'missing'}"
        if printed - seen.seen >= 1:
            self.breakdowns.append((f"{name}: lain's output from 1 s before the pod showed it (0 ms) to the failure line",
                                    [f"{(at - seen.seen) * 1000:+6.0f} ms  {line[:150]}" for at, line in run.lines
                                     if seen.seen - 1 <= at <= printed]))
        return printed - seen.seen, ""

    def hook_latency(self) -> tuple[float | None, float | None, str]:
        line = "hook-first-line: connecting to the database"
        values = values_for(1)
        values["jobs"] = {"migrate": {
            "annotations": {"helm.sh/hook": "pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation"},
            "backoffLimit": 0, "command": ["sh", "-c", "migrate"],
            "podAnnotations": {"kubesim.lain.dev/logs": f"{line}\nERROR: no database",
                               "kubesim.lain.dev/exit-code": "1", "kubesim.lain.dev/duration": "1.0"}}}

        def started(pod: dict[str, Any]) -> bool:
            from lain_cli.tracking.objects import started_containers

            return "migrate" in str((pod.get("metadata") or {}).get("name")) and bool(started_containers(pod))

        with PodWatch(self.cluster, "app.kubernetes.io/component=migrate", started) as seen:
            code, run = self.deploy(values, timeout=300)
        printed = run.first(lambda text: line in text)
        failed_job = run.first(lambda text: "hook job dummy-migrate failed" in text)
        if printed is None or seen.seen is None:
            return None, None, f"hook: lain exited {code}; first line {'seen' if printed else 'missing'}"
        return printed - seen.seen, (run.ended - failed_job) if failed_job else None, ""


def _profile(fn: Callable[[], object]) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(12)
    return out.getvalue()


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.backends import real_control_plane_missing

    missing = real_control_plane_missing()
    if missing:
        print(f"skipped: {missing}")
        return
    from tests.kwokcluster import KwokCluster

    work = Path(tempfile.mkdtemp(prefix="lain-scale-bench-"))
    home = work / "home"
    for key, sub in (("HOME", ""), ("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"),
                     ("KUBECACHEDIR", ".kube/cache"), ("HELM_CACHE_HOME", "helm/cache"),
                     ("HELM_CONFIG_HOME", "helm/config"), ("HELM_DATA_HOME", "helm/data")):
        os.environ[key] = str(home / sub)
    os.environ["LAIN_KUBECTL"], os.environ["LAIN_HELM"] = kubectl_path(), helm_path()
    os.environ["NO_COLOR"] = "1"
    kwok = KwokCluster(work / "kwok", f"lain-scale-{os.getpid()}", time_scale=0.1)
    try:
        kwok.start()
        bench = Bench(kwok, work)
        sizes = os.environ.get("LAIN_SCALE_REPLICAS")
        replicas = tuple(int(r) for r in sizes.split(",")) if sizes else REPLICAS
        failures = _failures(bench)
        rows = []
        for count in replicas:
            bench.use_namespace(work, f"scale-{count * PROCS}")
            rows.append(bench.size(count))
        _report(rows, failures, bench.profiles)
        for title, lines in bench.breakdowns:
            print(f"\n{title}:")
            print("\n".join(f"  {line}" for line in lines))
    finally:
        kwok.stop()
        shutil.rmtree(work, ignore_errors=True)


def _failures(bench: Bench) -> dict[str, Any]:
    from lain_cli.tracking import Tolerances

    code, run = bench.deploy(values_for(1))
    if code != 0:
        raise RuntimeError(f"the first deploy exited {code}:\n{run.text()[-3000:]}")
    hook, hook_end, hook_note = bench.hook_latency()
    pull, pull_note = bench.failure_latency(
        "ErrImagePull", {}, "notfound", lambda p: _waiting_reason(p) in ("ErrImagePull", "ImagePullBackOff"))
    limit = Tolerances().max_restarts
    crash, crash_note = bench.failure_latency(
        "CrashLoopBackOff", {"kubesim.lain.dev/crash": "always"}, None,
        lambda p: _waiting_reason(p) == "CrashLoopBackOff" and _restarts(p) > limit)
    print(f"  failures measured: pull {pull}, crash {crash}, hook {hook}", flush=True)
    return {"verdicts": dict(bench.verdicts), "hook": hook, "hook_end": hook_end, "pull": pull, "crash": crash, "limit": limit,
            "notes": [n for n in (hook_note, pull_note, crash_note) if n]}


def _report(rows: list[dict[str, Any]], failures: dict[str, Any], profiles: list[tuple[str, str]]) -> None:
    print("tracking (lain deploy's rollout tracker; `lain wait` runs the same one), 10 procs:")
    table([(str(r["pods"]), f"{r['tracking']:.1f} s", str(r["procs"]), f"{r['procs'] / r['tracking']:.2f}",
            str(r["reqs"]), f"{r['reqs'] / r['tracking']:.2f}") for r in rows],
          ("pods", "tracked for", "kubectl procs", "procs/s", "API requests", "requests/s"))
    base = rows[0]
    for r in rows[1:]:
        print(f"  {r['pods']} vs {base['pods']} pods: kubectl processes x{r['procs'] / max(base['procs'], 1):.2f}, "
              "API requests/s "
              f"x{(r['reqs'] / r['tracking']) / max(base['reqs'] / base['tracking'], 1e-9):.2f} (target: x1, constant)")
    print()
    table([(str(r["pods"]), ms(r["status"]), f"< 1000 ms {_verdict(r['status'] < 1)}", str(r["status_procs"]),
            f"<= 3 {_verdict(r['status_procs'] <= 3)}", ms(r["redraw"]), f"< 50 ms {_verdict(r['redraw'] < 0.05)}")
           for r in rows],
          ("pods", "status -s (median)", "target", "kubectl procs", "target", "panel redraw", "target"))
    print()

    def latency(value: float | None) -> str:
        return "not measured" if value is None else f"{ms(value)}  (< 1000 ms {_verdict(value < 1)})"

    verdicts = failures["verdicts"]
    print("after the pod status shows the failure (seen by the bench's own watch):")
    print(f"  ErrImagePull (tag not found): verdict (`[failed: ...]`) {latency(verdicts.get('ErrImagePull'))}; "
          f"failure report {latency(failures['pull'])}")
    print(f"  CrashLoopBackOff past {failures['limit']} restarts: verdict {latency(verdicts.get('CrashLoopBackOff'))}; "
          f"failure report {latency(failures['crash'])}")
    print(f"failing hook: first log line after its container started: {latency(failures['hook'])}")
    if failures["hook_end"] is not None:
        print(f"  (from 'hook job ... failed' to lain's exit: {ms(failures['hook_end'])})")
    for note in failures["notes"]:
        print(f"  note: {note}")
    for title, text in profiles:
        print(f"\nprofile: {title} (5 runs, by cumulative time)\n{text}")
