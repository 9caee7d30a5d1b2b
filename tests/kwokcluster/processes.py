"""The processes a cluster started, found by their command line, and how to end them.

kwokctl forks every component as a daemon of its own session (ppid 1) and keeps pid
files; what it started is recognisable by its command line: the binaries run from the
cluster's own folder (``<workdir>/kwok/clusters/<name>/bin/...``) and their flags name
files under the workdir; commands run by ``kubectl exec`` work in a folder under it.
Only those processes are ever signalled, by pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    argv: tuple[str, ...]

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name if self.argv else "?"


def under(folder: Path) -> list[Proc]:
    """Live processes whose executable, an argument or the working directory lies in ``folder``."""
    prefix = str(folder.resolve()).rstrip("/") + "/"
    found = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = Path(entry.path, "cmdline").read_bytes()
            state = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":  # a zombie is already dead; its parent reaps it
            continue
        argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
        try:
            cwd = os.readlink(Path(entry.path, "cwd")) + "/"
        except OSError:
            cwd = ""
        if cwd.startswith(prefix) or any(arg.startswith(prefix) or f"={prefix}" in arg for arg in argv):
            found.append(Proc(int(entry.name), argv))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def terminate(procs: list[Proc], grace: float = 5.0) -> list[Proc]:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the ones still alive after that."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p.pid) for p in procs):
        time.sleep(0.05)
    for proc in procs:
        if _alive(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p.pid) for p in procs):
        time.sleep(0.05)
    return [p for p in procs if _alive(p.pid)]
