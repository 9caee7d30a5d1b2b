"""Importing, while a command waits, the modules it needs after the wait.

A deploy spends most of its time waiting for helm and the cluster; the modules of
its last phase (the green light: lain_cli.status, the panel's summary, the
proxied log scan) are imported then, in a daemon thread, instead of after the
rollout, on the way to the verdict.  Only modules whose imports form no cycle
with what the main thread imports meanwhile belong here (Python's per-module
import locks then simply make the main thread wait for a module being loaded).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Sequence

# what helm's run (and the start notice) need: imported while the lock is taken and the history read
RELEASE_MODULES = ("lain_cli.rollout", "lain_cli.chart", "lain_cli.notify")
# what the rollout and the green light need (imported while helm runs)
GREEN_LIGHT_MODULES = ("lain_cli.tracking.workloads", "lain_cli.status", "lain_cli.panel", "lain_cli.kubeproxy")


def in_background(modules: Sequence[str], *, delay: float = 0.0) -> threading.Thread:
    """Start importing ``modules``, after ``delay`` seconds (to leave the interpreter to
    the main thread while it starts what it waits for); the thread, for a caller
    that wants to join it."""

    def load() -> None:
        if delay:
            time.sleep(delay)
        for name in modules:
            with contextlib.suppress(Exception):  # the main thread's own import reports any error
                importlib.import_module(name)

    thread = threading.Thread(target=load, name="warm-imports", daemon=True)
    thread.start()
    return thread
