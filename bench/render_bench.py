"""Merge + render + validate of a generated app with 1, 10 and 100 procs.

lain's own time (loading and merging values, the values document, staging the
chart, parsing and validating the rendered objects with kubernetes-validate's
schemas) is reported apart from `helm template`'s time (design.md §10: lain's
part under 1 s at 100 procs, growing linearly).  Schema caches are cleared
before every run, as a fresh `lain lint` process starts without them.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import isolated_env, ms, table

PROC_COUNTS = (1, 10, 100)
RUNS = 5
TARGET = 1.0


def generated_values(procs: int) -> dict[str, Any]:
    """An app with ``procs`` web procs, each with a port, env, resources and probes."""
    deployments = {
        f"web{i}": {
            "replicaCount": 2,
            "containerPort": 5000 + i,
            "command": ["/lain/app/run.py", f"--proc={i}"],
            "env": {"PROC": f"web{i}", "WORKERS": 4},
            "resources": {"limits": {"cpu": "1000m", "memory": "256Mi"},
                          "requests": {"cpu": "100m", "memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 5000 + i}, "periodSeconds": 5},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        }
        for i in range(procs)
    }
    return {
        "appname": "bench",
        "env": {"APP_ENV": "bench"},
        "volumeMounts": [{"subPath": "config.yaml", "mountPath": "/lain/app/config.yaml"}],
        "deployments": deployments,
        "ingresses": [{"host": "bench", "deployName": "web0", "paths": ["/"]}],
    }


def _app_dir(procs: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix=f"lain-bench-{procs}-"))
    (root / "chart").mkdir()
    # JSON is YAML; the loader reads it like any values.yaml
    (root / "chart" / "values.yaml").write_text(json.dumps(generated_values(procs), indent=1))
    return root


def _clear_caches() -> None:
    from lain_cli import lint

    lint._validator.cache_clear()
    lint._definitions.cache_clear()


def measure(procs: int) -> dict[str, float]:
    """Seconds per phase of one merge + render + validate."""
    from lain_cli import chart, helm, lint
    from lain_cli.cli import GlobalOptions
    from lain_cli.context import load_app_context

    _clear_caches()
    phases: dict[str, float] = {}
    started = time.perf_counter()
    ctx = load_app_context(GlobalOptions(), image_tag="bench01", need_cluster=False)
    phases["merge"] = time.perf_counter() - started

    started = time.perf_counter()
    values = ctx.chart_values()
    phases["values doc"] = time.perf_counter() - started

    started = time.perf_counter()
    with chart.staged_chart(ctx.release_name, ctx.image_tag, values) as chart_dir:
        phases["staging"] = time.perf_counter() - started
        started = time.perf_counter()
        rendered = helm.render(chart_dir, ctx.release_name, namespace=ctx.namespace, kube_version="1.30")
        phases["helm template"] = time.perf_counter() - started
        started = time.perf_counter()
    phases["staging"] += time.perf_counter() - started  # the cleanup

    started = time.perf_counter()
    manifests = helm.parse_manifests(rendered)
    problems = lint.validate_manifests(manifests, "1.30")
    phases["validate"] = time.perf_counter() - started
    if problems:
        raise SystemExit("bench app does not validate: " + "; ".join(p.render() for p in problems[:3]))
    phases["objects"] = len(manifests)
    return phases


def main() -> None:
    os.environ.update(isolated_env())
    old_cwd = os.getcwd()
    lain_phases = ("merge", "values doc", "staging", "validate")
    rows = []
    per_proc = []
    for procs in PROC_COUNTS:
        app = _app_dir(procs)
        os.chdir(app)
        try:
            measure(procs)  # warm-up: imports, helm's first start
            runs = [measure(procs) for _ in range(RUNS)]
        finally:
            os.chdir(old_cwd)
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        own = statistics.median(sum(r[k] for k in lain_phases) for r in runs)
        per_proc.append(own / procs)
        verdict = "ok" if own < TARGET else f"OVER {ms(TARGET)}"
        rows.append((
            str(procs), str(int(med["objects"])),
            *(ms(med[k]) for k in lain_phases),
            ms(own), ms(med["helm template"]), verdict,
        ))
    table(rows, ("procs", "objects", *lain_phases, "lain total", "helm template", f"target {ms(TARGET)}"))
    print(f"lain's time per proc: {', '.join(f'{ms(t)} at {n}' for n, t in zip(PROC_COUNTS, per_proc, strict=True))}"
          f"  (median of {RUNS} runs; schema caches cleared before each)")
