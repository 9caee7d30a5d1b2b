"""Startup time of `lain --help`, `lain --version` and `lain version --client`,
next to `helm version` measured in the same run (design.md §10: under 150 ms)."""

from __future__ import annotations

import statistics

from bench.common import VENV_BIN, isolated_env, ms, summary, table, time_command

RUNS = 15
TARGET = 0.150


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
    rows = []
    for label, argv in cases:
        times = time_command(argv, RUNS, env)
        verdict = ""
        if label.startswith("lain"):
            verdict = "ok" if statistics.median(times) < TARGET else f"OVER {ms(TARGET)}"
        rows.append((label, summary(times), verdict))
    table(rows, ("command", "wall time", f"target {ms(TARGET)}"))
