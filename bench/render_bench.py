"""Rendering a generated app of 1, 10, 100 and 300 procs.

1. ``lain template`` as a user runs it, beside the ``helm template`` call inside it
   (its time read from ``lain -v``): design.md §10 wants at most 1.3x.
2. In process, where lain's time goes: loading, merging and schema-checking the
   values (under 100 ms at 100 procs), the values document, staging the chart, and
   (for ``lain lint``) parsing and validating the rendered objects with
   kubernetes-validate's schemas; the curve should be linear.  Schema caches are
   cleared before every run, as a fresh ``lain lint`` process starts without them.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import VENV_BIN, isolated_env, ms, ratio, table

PROC_COUNTS = (1, 10, 100, 300)
RUNS = 5
MERGE_TARGET = 0.100  # values merge and schema check at 100 procs
RATIO_TARGET = 1.3  # lain template / the helm template inside it
_HELM_TEMPLATE = re.compile(r"^\$ \S*helm template .*\((\d+) ms")


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


def command_times(app: Path, env: dict[str, str]) -> tuple[float, float]:
    """Median wall time of ``lain -v template`` in ``app`` and of the helm template inside it."""
    walls, helms = [], []
    for run in range(RUNS + 1):
        started = time.perf_counter()
        result = subprocess.run([str(VENV_BIN / "lain"), "-v", "template"], cwd=app, env=env,
                                capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - started
        match = next((m for ln in result.stderr.splitlines() if (m := _HELM_TEMPLATE.match(ln))), None)
        if result.returncode != 0 or match is None:
            raise SystemExit(f"lain template failed:\n{result.stderr[-2000:]}")
        if run:  # the first run warms the tool-version cache
            walls.append(wall)
            helms.append(int(match.group(1)) / 1000)
    return statistics.median(walls), statistics.median(helms)


def main() -> None:
    env = isolated_env()
    os.environ.update(env)
    old_cwd = os.getcwd()
    lain_phases = ("merge", "values doc", "staging", "validate")
    command_rows = []
    rows = []
    per_proc = []
    merge_at_100 = 0.0
    for procs in PROC_COUNTS:
        app = _app_dir(procs)
        wall, helm_time = command_times(app, env)
        verdict = "ok" if wall <= RATIO_TARGET * helm_time else "OVER"
        command_rows.append((str(procs), ms(wall), ms(helm_time), ms(wall - helm_time), ratio(wall, helm_time), verdict))
        os.chdir(app)
        try:
            measure(procs)  # warm-up: imports, helm's first start
            runs = [measure(procs) for _ in range(RUNS)]
        finally:
            os.chdir(old_cwd)
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        own = statistics.median(sum(r[k] for k in lain_phases) for r in runs)
        per_proc.append(own / procs)
        if procs == 100:
            merge_at_100 = med["merge"]
        rows.append((
            str(procs), str(int(med["objects"])),
            *(ms(med[k]) for k in lain_phases),
            ms(own), ms(med["helm template"]),
        ))
    table(command_rows, ("procs", "lain template", "helm template in it", "lain's part", "ratio",
                         f"target {RATIO_TARGET:g}x"))
    print()
    table(rows, ("procs", "objects", *lain_phases, "lain total", "helm template"))
    print(f"lain's in-process time per proc: "
          f"{', '.join(f'{ms(t)} at {n}' for n, t in zip(PROC_COUNTS, per_proc, strict=True))}"
          f"  (median of {RUNS} runs; schema caches cleared before each)")
    verdict = "ok" if merge_at_100 < MERGE_TARGET else "OVER"
    print(f"values merge and schema check at 100 procs: {ms(merge_at_100)} (target < {ms(MERGE_TARGET)}): {verdict}")
