"""Merge + validate + chart_values() of a generated app with 1, 10 and 100 procs
(design.md §10: the whole merge+render+validate under 1 s at 100 procs, growing linearly).

Measured in-process, from reading the YAML files to ``AppContext.chart_values()``:
lain defaults, a cluster file with values, chart/values.yaml, values-<cluster>.yaml,
one -f file and --set pairs.  No git, helm or kubectl (an explicit image tag).
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

from bench.common import ms, table, time_call

SIZES = (1, 10, 100)
RUNS = 9
TARGET = 1.0

PROC = """\
  p{i}:
    replicaCount: 2
    containerPort: {port}
    command: ["/lain/app/run.py", "--proc", "p{i}"]
    env:
      PROC: p{i}
      WORKERS: 4
    resources:
      limits: {{cpu: 1000m, memory: 256Mi}}
      requests: {{cpu: 10m, memory: 128Mi}}
    readinessProbe:
      httpGet: {{path: /healthz, port: {port}}}
      periodSeconds: 5
    strategy:
      type: RollingUpdate
      rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
    hpa: {{maxReplicas: 6}}
    podAnnotations:
      prometheus.io/scrape: "true"
    volumeMounts:
      - name: data
        mountPath: /data/{{{{ appname }}}}/p{i}
"""


def write_app(root: Path, procs: int) -> None:
    chart = root / "chart"
    (chart / "clusters").mkdir(parents=True)
    (chart / "clusters" / "bench.yaml").write_text(
        "namespace: default\nregistry: registry.example.com/team\ndomain: example.com\n"
        "values:\n  env: {CLUSTER: bench}\n"
    )
    body = "".join(PROC.format(i=i, port=5000 + i) for i in range(procs))
    ingresses = "".join(f"  - host: bench-p{i}\n    deployName: p{i}\n    paths: [/]\n" for i in range(procs))
    (chart / "values.yaml").write_text(
        "appname: bench\nvolumes:\n  - name: data\n    emptyDir: {}\n"
        f"deployments:\n{body}ingresses:\n{ingresses}"
        "jobs:\n  migrate:\n    command: [migrate]\n    annotations: {helm.sh/hook: pre-upgrade}\n"
    )
    (chart / "values-bench.yaml").write_text("deployments:\n  p0:\n    replicaCount: 3\n")
    (root / "extra.yaml").write_text("env: {EXTRA: '1'}\n")


def measure(procs: int) -> list[float]:
    from lain_cli.cli import GlobalOptions
    from lain_cli.context import load_app_context

    root = Path(tempfile.mkdtemp(prefix=f"lain-bench-{procs}-"))
    write_app(root, procs)
    opts = GlobalOptions(values_files=(str(root / "extra.yaml"),), cluster="bench")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        def once() -> object:
            ctx = load_app_context(opts, sets=("env.SET=1", "deployments.p0.replicaCount=4"), image_tag="t1")
            return ctx.chart_values()

        return time_call(once, RUNS, warmup=2)
    finally:
        os.chdir(cwd)


def main() -> None:
    os.environ.pop("LAIN_CLUSTER", None)
    rows = []
    medians = {}
    for procs in SIZES:
        times = measure(procs)
        medians[procs] = statistics.median(times)
        rows.append((str(procs), ms(medians[procs]), ms(min(times)), ms(max(times)),
                     f"{medians[procs] / procs * 1000:.2f} ms"))
    table(rows, ("procs", "median", "min", "max", "per proc"))
    verdict = "ok" if medians[100] < TARGET else "OVER TARGET"
    print(f"100 procs: {ms(medians[100])} (target < {ms(TARGET)} for merge+render+validate): {verdict}")


if __name__ == "__main__":
    main()
