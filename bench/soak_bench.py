"""Soak: a failing deploy followed at once by a healthy one, many times, with
CPU-burning processes beside it, on each test backend, for two failures: a
migration hook that exits 1, and a proc whose image crash-loops.

This is where the release flow's races show (a hook follower that misjudges which
Job is this run's, a deleted Job's pod that lingers, a verdict that lands after helm
exits, a crash loop judged in the moment between two restarts).  Every failing
deploy must exit 1 naming the job or proc, its reason and its last log lines;
every healthy deploy must exit 0.  Counts are printed, nothing is timed.

``python -m bench soak`` runs both backends (the real control plane only when
``make k8s`` has built it); ``LAIN_SOAK_ROUNDS`` (default 20), ``LAIN_SOAK_BURNERS``
(default 2), ``LAIN_SOAK_BACKENDS`` (``kubesim,kwok``) and ``LAIN_SOAK_SCENARIOS``
(``hook,crash``) change what runs.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import REPO, isolated_env

FAILING_LOG = "ERROR: relation orders already exists"
CRASH_LOG = "Traceback: KeyError 'DATABASE_URL'"


@contextmanager
def cpu_burners(count: int) -> Iterator[None]:
    """``count`` processes spinning on a core each, for as long as the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


@contextmanager
def backend_cluster(name: str, workdir: Path) -> Iterator[Any]:
    """A started cluster of backend ``name``, as the e2e ``cluster`` fixture yields it."""
    from tests.kubesim.fixture import Cluster, SimThread, helm_major_from_env
    from tests.kubesim.kubeconfig import write_kubeconfig

    major = helm_major_from_env()
    if name == "kubesim":
        runner = SimThread(time_scale=0.01)
        client = runner.start()
        kubeconfig = write_kubeconfig(workdir / "kubeconfig", runner.url, "default")
        try:
            yield Cluster(url=runner.url, kubeconfig=kubeconfig, sim=client, helm_major=major)
        finally:
            runner.stop()
        return
    from tests.backends import namespaced_kubeconfig
    from tests.kwokcluster import KwokClient, KwokCluster, default_bin_dir

    kwok = KwokCluster(workdir / "kwok", name=f"lain-soak-{os.getpid()}", bin_dir=default_bin_dir())
    kwok.start()
    try:
        namespace = "soak"
        kubeconfig = namespaced_kubeconfig(Path(kwok.kubeconfig), workdir / "kubeconfig", namespace)
        client = KwokClient(kubeconfig, namespace=namespace)
        client.create_namespace(namespace)
        yield Cluster(url=str(kwok.url), kubeconfig=kubeconfig, sim=client, helm_major=major,
                      namespace=namespace, backend="kwok")
    finally:
        kwok.stop()


def failing_values(values: dict[str, Any]) -> dict[str, Any]:
    values = copy.deepcopy(values)
    values["jobs"]["migrate"]["podAnnotations"] = {
        "kubesim.lain.dev/exit-code": "1",
        "kubesim.lain.dev/logs": f"migrating 003_orders\n{FAILING_LOG}",
    }
    return values


def crashing_values(values: dict[str, Any]) -> dict[str, Any]:
    values = copy.deepcopy(values)
    values["deployments"]["worker"]["podAnnotations"] = {
        "kubesim.lain.dev/crash": "always", "kubesim.lain.dev/logs": CRASH_LOG,
    }
    return values


def judge(result: subprocess.CompletedProcess[str], wanted: tuple[str, ...]) -> str:
    """'ok', or what was wrong with a deploy that had to fail."""
    err = result.stderr
    if result.returncode != 1:
        return f"exit {result.returncode}"
    for text in wanted:
        if text not in err:
            return f"missing {text!r}"
    return "ok"


# scenario -> (the failing values, what its failure report must say)
SCENARIOS = {
    "hook": (failing_values, ("hook job dummy-migrate failed", "BackoffLimitExceeded", FAILING_LOG)),
    "crash": (crashing_values, ("Deployment dummy-worker failed: CrashLoopBackOff", CRASH_LOG)),
}


def soak(backend: str, scenario: str, rounds: int, burners: int) -> tuple[Counter[str], Counter[str], list[str]]:
    from tests.e2e.deployapp import make_app

    failing: Counter[str] = Counter()
    healthy: Counter[str] = Counter()
    samples: list[str] = []
    breaking, wanted = SCENARIOS[scenario]
    base = Path(tempfile.mkdtemp(prefix=f"lain-soak-{backend}-{scenario}-"))
    os.environ.update(isolated_env())
    with backend_cluster(backend, base) as cluster:
        app = make_app(base, cluster)
        app.lain("deploy", "--timeout", "120s", check=0)
        good = copy.deepcopy(app.values)
        with cpu_burners(burners):
            for number in range(rounds):
                app.write(breaking(good))
                bad = app.lain("deploy", "--timeout", "120s", timeout=300)
                verdict = judge(bad, wanted)
                failing[verdict] += 1
                if verdict != "ok" and len(samples) < 3:
                    samples.append(f"round {number + 1}, failing deploy: {verdict}\n{bad.stderr[-1500:]}")
                app.write(good)
                ok = app.lain("deploy", "--timeout", "120s", timeout=300)
                healthy["ok" if ok.returncode == 0 else f"exit {ok.returncode}"] += 1
                if ok.returncode != 0 and len(samples) < 3:
                    samples.append(f"round {number + 1}, healthy deploy: exit {ok.returncode}\n{ok.stderr[-1200:]}"
                                   f"\n{ok.stdout[-800:]}")
    return failing, healthy, samples


def main() -> None:
    rounds = int(os.environ.get("LAIN_SOAK_ROUNDS", "20"))
    burners = int(os.environ.get("LAIN_SOAK_BURNERS", "2"))
    wanted = os.environ.get("LAIN_SOAK_BACKENDS", "kubesim,kwok").split(",")
    scenarios = os.environ.get("LAIN_SOAK_SCENARIOS", "hook,crash").split(",")
    saved = dict(os.environ)
    for backend, scenario in [(b, s) for b in wanted for s in scenarios]:
        if backend == "kwok":
            from tests.backends import real_control_plane_missing

            missing = real_control_plane_missing()
            if missing:
                print(f"kwok: skipped ({missing})")
                continue
        started = time.monotonic()
        try:
            failing, healthy, samples = soak(backend, scenario, rounds, burners)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        what = {"hook": "failing migration", "crash": "crash-looping proc"}[scenario]
        print(f"{backend}, {what}: {rounds} rounds with {burners} CPU burners in {time.monotonic() - started:.0f} s")
        print(f"  failing deploy: {failing['ok']}/{rounds} correct (exit 1, name, reason, log lines)"
              + "".join(f"; {n}x {what}" for what, n in failing.items() if what != "ok"))
        print(f"  healthy deploy: {healthy['ok']}/{rounds} exit 0"
              + "".join(f"; {n}x {what}" for what, n in healthy.items() if what != "ok"))
        for sample in samples:
            print("  ---\n  " + sample.replace("\n", "\n  "))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
