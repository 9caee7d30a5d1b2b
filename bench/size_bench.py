"""`lain lint` and `lain template` of a 1 MB and a 4.8 MB values file (issue 16).

The values (bench/bigvalues.py, shape ``app``) are those of a big app: 40
procs at 1 MB, 200 at 4.8 MB, each with a command, resources, a probe and an
env of a few hundred variables.  (An env of 100,000 variables, where the
chart's env template was once quadratic, is refused now: no container starts
with it; tests/test_big_values.py renders one through the chart directly.)
Each command runs as a user runs it, a new lain process in an app directory
with a git commit, no cluster.  The YAML loading alone is timed apart, with
ruamel's round-trip loader (what lain used before) beside it.  Target: every
command in seconds: under 15 CPU seconds (lain's and helm's, which do not
grow with the load of the machine as wall time does) at 4.8 MB.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.bigvalues import MB, write_app
from bench.common import VENV_BIN, isolated_env, table

SIZES = ((1 * MB, "1 MB"), (int(4.8 * MB), "4.8 MB"))
SHAPES = ("app",)
RUNS = 2
TARGET = 15.0


def _app(size: int, shape: str) -> Path:
    root = write_app(Path(tempfile.mkdtemp(prefix=f"lain-bench-size-{shape}-")), size, shape)
    git = ["git", "-C", str(root), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "values"], check=True)
    return root


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(argv: list[str], root: Path, env: dict[str, str]) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (lain's and helm's) of RUNS runs."""
    walls, cpus = [], []
    for _ in range(RUNS):
        started, cpu = time.perf_counter(), _children_cpu()
        result = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed in {root}:\n{result.stderr}")
    return statistics.median(walls), statistics.median(cpus)


def _load_times(root: Path) -> tuple[float, float]:
    from lain_cli import yamlload

    text = (root / "chart" / "values.yaml").read_text()
    started = time.perf_counter()
    yamlload.parse(text, "values.yaml")
    fast = time.perf_counter() - started
    started = time.perf_counter()
    yamlload.parse_reference(text, "values.yaml")
    return fast, time.perf_counter() - started


def main() -> None:
    env = isolated_env()
    env.pop("LAIN_CLUSTER", None)
    lain = str(VENV_BIN / "lain")
    rows = []
    worst = 0.0
    for shape in SHAPES:
        for size, label in SIZES:
            root = _app(size, shape)
            lint, lint_cpu = _time([lain, "lint"], root, env)
            template, template_cpu = _time([lain, "template"], root, env)
            fast, ruamel = _load_times(root)
            worst = max(worst, lint_cpu, template_cpu)
            rows.append((shape, label, f"{lint:.1f} s", f"{lint_cpu:.1f} s", f"{template:.1f} s",
                         f"{template_cpu:.1f} s", f"{fast:.2f} s", f"{ruamel:.1f} s"))
    table(rows, ("shape", "values", "lint", "(cpu)", "template", "(cpu)", "YAML load", "(ruamel rt)"))
    verdict = "ok" if worst < TARGET else "OVER TARGET"
    load = os.getloadavg()[0]
    print(f"most CPU: {worst:.1f} s (target < {TARGET:.0f} CPU seconds for lint and template at 4.8 MB; "
          f"wall times depend on the machine's load, here {load:.1f} on {os.cpu_count()} CPUs): {verdict}")


if __name__ == "__main__":
    main()
