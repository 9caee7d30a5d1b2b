"""``python -m tests.kwokcluster.reaper``: tears a cluster down if its owner dies.

The components are daemons (kwokctl detaches them), so a test process killed before
``KwokCluster.stop()`` would leave etcd, kube-apiserver and friends running.  The owner
starts this watchdog in a session of its own with a pipe on stdin; the first line names
the workdir (JSON, so the path is not on our command line, where :mod:`.processes` would
find it).  ``release`` on stdin means the owner cleaned up itself; end of file without it
means the owner is gone, so the watchdog ends every process under the workdir.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from .processes import terminate, under


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the owner; we clean up after it
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    header = sys.stdin.readline()
    if not header:
        return 0
    workdir = Path(json.loads(header)["workdir"])
    for line in sys.stdin:
        if line.strip() == "release":
            return 0
    left = terminate(under(workdir))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
