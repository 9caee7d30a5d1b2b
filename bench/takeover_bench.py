"""What reading the cluster before rendering costs a deploy (lain_cli.takeover), and the
first line's kubeconfig read, beside the `helm history` every deploy already runs.

Against the simulator (started in this process): `lain -v deploy` of a small app, five
times, the takeover's one `kubectl get deployments,statefulsets,services,ingresses` and
the `helm history` call read from -v's timings; then the same for an app taken over
from a lain4-shaped release.  The read is made only while the history does not show
lain's own selectors applied (release_plan.live_objects_matter): 0 ms for the app lain
installed, one read per deploy for the one that keeps lain4's selectors.  The kubeconfig read of the first line is timed in process.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import REPO, ms, table
from bench.deploy_bench import RequestCounter, lain, make_app, start_simulator, values

_TIMED = re.compile(r"^\$ (\S+) .*\((\d+) ms")
RUNS = 5


def _timings(stderr: str) -> tuple[float, float]:
    """(the takeover's kubectl get, helm history) in seconds, from one `lain -v deploy`."""
    read = history = 0.0
    for line in stderr.splitlines():
        match = _TIMED.match(line)
        if not match:
            continue
        if match.group(1).endswith("kubectl") and " get deployments,statefulsets,services,ingresses " in line:
            read += int(match.group(2)) / 1000
        elif match.group(1).endswith("helm") and " history " in line:
            history += int(match.group(2)) / 1000
    return read, history


def bench_read(base: Path, kubeconfig: Path, name: str, lain4: bool) -> tuple[str, ...]:
    root = base / name / "app"
    env = make_app(root, kubeconfig, values(name, 2))
    if lain4:
        chart_values = root.parent / "lain4.yaml"
        chart_values.write_text(yaml.safe_dump({**values(name, 2), "registry": "r", "imageTag": "old"}))
        subprocess.run([env["LAIN_HELM"], "--kubeconfig", str(kubeconfig), "install", name,
                        str(REPO / "tests" / "data" / "lain4-chart"), "-f", str(chart_values)],
                       env=env, check=True, capture_output=True)
    lain(env, root, "deploy", "--timeout", "60s")
    reads, histories = [], []
    for _ in range(RUNS):
        _, result = lain(env, root, "-v", "deploy", "--timeout", "60s")
        if result.returncode != 0:
            raise SystemExit(f"deploy failed:\n{result.stderr}")
        read, history = _timings(result.stderr)
        reads.append(read)
        histories.append(history)
    read, history = statistics.median(reads), statistics.median(histories)
    return (name, ms(read), ms(history), f"{read / history:.2f}x" if history else "-")


def bench_kubeconfig_read() -> tuple[str, ...]:
    from lain_cli import kubecontext

    path = Path(tempfile.mkdtemp(prefix="lain-bench-kc-")) / "config"
    contexts = [{"name": f"ctx{i}", "context": {"cluster": f"c{i}", "user": "u"}} for i in range(20)]
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "ctx0",
                                    "contexts": contexts, "clusters": [], "users": []}))
    kubecontext.read_kubeconfig(str(path))  # imports yaml
    started = time.perf_counter()
    for _ in range(100):
        kubecontext.read_kubeconfig(str(path))
    return ("kubeconfig read (first line), 20 contexts", ms((time.perf_counter() - started) / 100), "", "")


def main() -> None:
    counter = RequestCounter()
    (runner, _client), kubeconfig = start_simulator(counter)
    base = Path(tempfile.mkdtemp(prefix="lain-bench-takeover-"))
    try:
        rows = [bench_read(base, kubeconfig, "fresh", lain4=False),
                bench_read(base, kubeconfig, "taken", lain4=True),
                bench_kubeconfig_read()]
    finally:
        runner.stop()
    table(rows, ("app", "pre-render read", "helm history (reference)", "ratio"))
