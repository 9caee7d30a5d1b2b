"""``python -m tests.kwokcluster``: run a kwok cluster standalone.

Writes the admin kubeconfig to ``--kubeconfig``, prints ``kwok cluster listening on
https://127.0.0.1:PORT`` and keeps the cluster (and its log agent) up until SIGINT or
SIGTERM, then stops everything it started.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from .binaries import default_bin_dir
from .cluster import KwokCluster, KwokClusterError
from .kubeconfig import write_kubeconfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.kwokcluster", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True, help="where to write the admin kubeconfig")
    parser.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    parser.add_argument("--bin-dir", type=Path, default=None,
                        help=f"the control plane binaries (default {default_bin_dir()})")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="kwokctl state, logs (default: a temporary folder, removed on exit)")
    parser.add_argument("--name", default="lain", help="the kwokctl cluster name")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies simulated durations (back-offs); 0.01 is the tests' setting")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the cluster")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kwokcluster-"))
    done = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    cluster = KwokCluster(workdir, args.name, args.bin_dir, time_scale=args.time_scale)
    try:
        cluster.start(timeout=args.timeout)
    except (KwokClusterError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        write_kubeconfig(args.kubeconfig, cluster.api.credentials, f"kwok-{args.name}", args.namespace,
                         log_root=cluster.log_store.root)
        print(f"kwok cluster listening on {cluster.url} (started in {cluster.startup_seconds:.1f} s)", flush=True)
        while not done.wait(1.0):
            cluster.check()
    except KwokClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print("kwok cluster stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
