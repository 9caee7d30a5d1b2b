"""``python -m tests.kubesim``: run the simulator standalone (used by ``make demo``).

Writes a kubeconfig, prints ``kubesim listening on http://127.0.0.1:PORT`` and serves until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from .kubeconfig import write_kubeconfig
from .sim import Simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.kubesim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig", type=Path, required=True, help="where to write the kubeconfig")
    parser.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies simulated durations (backoffs, deadlines); 0.1 is 10x faster")
    parser.add_argument("--gc-delay", type=_delay, default=None,
                        help="seconds (or LOW,HIGH) before the garbage collector acts; default 0.5,1.5")
    parser.add_argument("--controller-latency", type=_delay, default=None,
                        help="seconds (or LOW,HIGH) before a controller acts; default 0.01,0.05")
    parser.add_argument("--watch-timeout", type=_delay, default=None,
                        help="end every watch after this many seconds (or LOW,HIGH); "
                             "default: the API server's 30-60 min, scaled")
    return parser.parse_args(argv)


def _delay(text: str) -> float | tuple[float, float]:
    low, _, high = text.partition(",")
    return (float(low), float(high)) if high else float(low)


async def serve(args: argparse.Namespace) -> None:
    options = {key: value for key, value in (("gc_delay", args.gc_delay),
                                             ("controller_latency", args.controller_latency),
                                             ("watch_timeout", args.watch_timeout)) if value is not None}
    sim = Simulator(time_scale=args.time_scale, **options)
    url = await sim.start(args.host, args.port)
    write_kubeconfig(args.kubeconfig, url, args.namespace)
    print(f"kubesim listening on {url}", flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    await sim.stop()
    print("kubesim stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
