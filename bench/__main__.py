"""Run every ``bench/*_bench.py`` module's ``main()`` in name order.

``python -m bench`` runs them all; ``python -m bench startup values`` runs the
named ones.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = sorted(p.stem for p in here.glob("*_bench.py"))
    if argv:
        wanted = {a if a.endswith("_bench") else f"{a}_bench" for a in argv}
        unknown = wanted - set(names)
        if unknown:
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}")
            return 2
        names = [n for n in names if n in wanted]
    from bench.common import byte_compile_lain

    byte_compile_lain()
    print("lain's modules byte-compiled, as an installed lain has them (pip/pipx compile on install)")
    for name in names:
        print(f"\n== {name.removesuffix('_bench')} ==", flush=True)
        started = time.monotonic()
        importlib.import_module(f"bench.{name}").main()
        print(f"({time.monotonic() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
