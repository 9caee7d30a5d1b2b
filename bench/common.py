"""Small helpers shared by the benchmarks: timing commands and printing tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.prefix) / "bin"


def byte_compile_lain() -> None:
    """Byte-compile lain's modules, as installing it does (pip and pipx compile a
    package's modules when they install it).  An editable install run with
    PYTHONDONTWRITEBYTECODE=1 (set on the build machines) would otherwise compile
    every module on every start, some 90 ms a command that no installed lain pays."""
    import compileall

    compileall.compile_dir(str(REPO / "lain_cli"), quiet=1)


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference > 0 else "-"


def isolated_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with private HOME/XDG/helm/kube dirs, like the tests use."""
    home = tempfile.mkdtemp(prefix="lain-bench-")
    env = dict(os.environ)
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=f"{home}/.config",
        XDG_CACHE_HOME=f"{home}/.cache",
        KUBECONFIG=f"{home}/.kube/config",
        KUBECACHEDIR=f"{home}/.kube/cache",
        HELM_CACHE_HOME=f"{home}/helm/cache",
        HELM_CONFIG_HOME=f"{home}/helm/config",
        HELM_DATA_HOME=f"{home}/helm/data",
        NO_COLOR="1",
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
    )
    if extra:
        env.update(extra)
    return env


def time_command(argv: Sequence[str], runs: int, env: dict[str, str], warmup: int = 2) -> list[float]:
    """Wall-clock seconds of ``runs`` executions of argv (after ``warmup`` untimed ones)."""
    for _ in range(warmup):
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return times


def time_call(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def summary(times: list[float]) -> str:
    return f"median {ms(statistics.median(times))}  min {ms(min(times))}  max {ms(max(times))}  (n={len(times)})"


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*header))
    for row in rows:
        print(fmt.format(*row))
