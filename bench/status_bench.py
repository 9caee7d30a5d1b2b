"""Cost of one `lain status` refresh for 1, 10 and 100 pods (design.md §10: constant).

For each size a simulator runs a Deployment with that many ready pods.  Two
ways of refreshing are measured:

* one-shot (``lain status -s``/``--json``): kubectl processes started and HTTP
  requests made by one :func:`lain_cli.status.collect`, and its wall time
  (one LIST and one log scan up to 10 pods; beyond, the log scan samples 10
  pods, one kubectl each, because kubectl reads a selector's pods one by one
  under its 5 requests/s client limit);
* live panel: processes the :class:`~lain_cli.watch.ReleaseWatch` started (once,
  not per refresh) and kubectl processes per redraw (0: redraws read the watch's
  cache), and the time to build one report from the cache.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ms, table

SIZES = (1, 10, 100)
RUNS = 5


@dataclass
class BenchContext:
    cluster: Any
    appname: str = "dummy"
    release_name: str = "dummy"
    namespace: str = "default"
    values: dict[str, Any] = field(default_factory=lambda: {
        "ingresses": [{"host": "dummy", "deployName": "web", "paths": ["/"]}]})
    procs: dict[str, str] = field(default_factory=lambda: {"web": "deployment"})

    def require_cluster(self) -> Any:
        return self.cluster


class Counter:
    """Counts processes started through lain_cli.proc and HTTP requests made by status."""

    def __init__(self) -> None:
        self.processes = 0
        self.requests = 0

    def install(self) -> None:
        from lain_cli import proc
        from lain_cli import status as st

        real_run, real_check = proc.run, st.check_endpoint

        def run(*args: Any, **kwargs: Any) -> Any:
            self.processes += 1
            return real_run(*args, **kwargs)

        def check(*args: Any, **kwargs: Any) -> Any:
            self.requests += 1
            return real_check(*args, **kwargs)

        proc.run = run  # type: ignore[assignment]
        st.check_endpoint = check  # type: ignore[assignment]


def _env() -> None:
    home = tempfile.mkdtemp(prefix="lain-status-bench-")
    for key, sub in (("HOME", ""), ("XDG_CACHE_HOME", ".cache"), ("KUBECACHEDIR", ".kube/cache")):
        os.environ[key] = os.path.join(home, sub)
    os.environ["KUBECONFIG"] = os.path.join(home, ".kube", "config")
    os.environ.setdefault("LAIN_INGRESS_ADDRESS", "127.0.0.1:9")
    repo = Path(__file__).resolve().parent.parent
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    os.environ.setdefault("LAIN_KUBECTL", str(repo / ".venv" / "tools" / f"helm{major}" / "kubectl"))


def measure(size: int, counter: Counter) -> tuple[str, ...]:
    from lain_cli import panel
    from lain_cli import status as st
    from lain_cli.clusters import Cluster
    from lain_cli.logs import release_selector
    from lain_cli.watch import ReleaseWatch
    from tests.e2e.statusapp import deployment, is_ready, pods_of
    from tests.kubesim.fixture import SimThread
    from tests.kubesim.kubeconfig import write_kubeconfig

    runner = SimThread()
    sim = runner.start()
    try:
        kubeconfig = write_kubeconfig(Path(os.environ["KUBECONFIG"]), runner.url, "default")
        ctx = BenchContext(Cluster(name="bench", namespace="default", kubeconfig=str(kubeconfig)))
        sim.create(deployment("web", replicas=size))
        sim.wait_for(lambda: len(pods_of(_Sim(sim), "web")) == size
                     and all(is_ready(p) for p in pods_of(_Sim(sim), "web")), timeout=60, message="pods")
        st.collect(ctx)  # warm-up (tool version cache)
        times, procs, reqs = [], [], []
        for _ in range(RUNS):
            counter.processes = counter.requests = 0
            started = time.perf_counter()
            report = st.collect(ctx)
            times.append(time.perf_counter() - started)
            procs.append(counter.processes)
            reqs.append(counter.requests)
        assert len(report.pods) == size
        with ReleaseWatch(ctx.cluster, release_selector(ctx.release_name), kinds=panel.WATCH_KINDS) as watch:
            while len(watch.objects("pods")) < size:
                watch.wait_for_change(1)
            time.sleep(1.0)  # every watch process has started
            started_procs = watch.stats.processes_started
            checks = panel.BackgroundChecks(ctx, lambda: {})
            counter.processes = 0
            redraws = []
            for _ in range(RUNS * 4):
                t0 = time.perf_counter()
                panel.snapshot_report(ctx, watch, checks, st.status_tolerances())
                redraws.append(time.perf_counter() - t0)
            per_redraw = counter.processes / len(redraws)
        return (str(size), f"{statistics.median(procs):g}", f"{statistics.median(reqs):g}",
                ms(statistics.median(times)), str(started_procs), f"{per_redraw:g}", ms(statistics.median(redraws)))
    finally:
        runner.stop()


class _Sim:
    def __init__(self, sim: Any) -> None:
        self.sim = sim


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    _env()
    counter = Counter()
    counter.install()
    rows = [measure(size, counter) for size in SIZES]
    table(rows, ("pods", "one-shot: kubectl procs", "HTTP reqs", "wall", "panel: watch procs (once)",
                 "kubectl procs/redraw", "redraw build"))
    print("panel background: 1 log scan every 10 s + 1 HTTP request per endpoint every 5 s, whatever the pod count")
