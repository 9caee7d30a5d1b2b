"""Startup time of `lain --help`, `lain --version` and `lain version --client`,
next to `helm version` measured in the same run (design.md §10: under 150 ms and
at most 1.5x `helm version`)."""

from __future__ import annotations

import statistics

from bench.common import VENV_BIN, isolated_env, ms, ratio, summary, table, time_command

RUNS = 15
TARGET = 0.150
TARGET_RATIO = 1.5


def main() -> None:
    env = isolated_env()
    lain = str(VENV_BIN / "lain")
    helm = str(VENV_BIN / "helm")
    cases = [
        ("lain --help", [lain, "--help"]),
        ("lain --version", [lain, "--version"]),
        ("lain version --client", [lain, "version", "--client"]),
        ("helm version", [helm, "version", "--short"]),
    ]
    timed = [(label, time_command(argv, RUNS, env)) for label, argv in cases]
    reference = statistics.median(timed[-1][1])
    rows = []
    for label, times in timed:
        verdict = ""
        if label.startswith("lain"):
            median = statistics.median(times)
            fast = median < TARGET and median <= TARGET_RATIO * reference
            verdict = "ok" if fast else "OVER"
        rows.append((label, summary(times), ratio(statistics.median(times), reference), verdict))
    table(rows, ("command", "wall time", "x helm version", f"target {ms(TARGET)} and {TARGET_RATIO:g}x"))
