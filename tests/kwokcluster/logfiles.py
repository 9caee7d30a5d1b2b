"""Container log files in the CRI format kwok serves them from.

One folder per pod (``<root>/<namespace>/<pod>_<uid>/``) holding ``<container>.log``
(the running instance) and ``<container>.previous.log`` (the last terminated one, for
``kubectl logs --previous``).  A line is ``<RFC 3339 time> stdout F <text>``.  A new
instance replaces ``.log`` by a rename, which kwok's followers notice and reopen.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path


def cri_line(text: str, stream: str = "stdout") -> str:
    nanos = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(nanos // 1_000_000_000))
    return f"{stamp}.{nanos % 1_000_000_000:09d}Z {stream} F {text}\n"


def cri_lines(lines: Iterable[str]) -> str:
    return "".join(cri_line(line) for line in lines)


class LogStore:
    """The log folder shared by the log agent (writer) and clients (``append_log``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def pod_dir(self, namespace: str, pod: str, uid: str) -> Path:
        return self.root / namespace / f"{pod}_{uid}"

    def current(self, namespace: str, pod: str, uid: str, container: str) -> Path:
        return self.pod_dir(namespace, pod, uid) / f"{container}.log"

    def previous(self, namespace: str, pod: str, uid: str, container: str) -> Path:
        return self.pod_dir(namespace, pod, uid) / f"{container}.previous.log"

    @staticmethod
    def write(path: Path, lines: Iterable[str]) -> None:
        """Replace ``path`` atomically with ``lines``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(cri_lines(lines))
        os.replace(tmp, path)

    @staticmethod
    def append(path: Path, text: str) -> None:
        """Add ``text`` (one line per line) to ``path``; followers see it at once."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write(cri_lines(text.splitlines() or [""]))

    def remove_pod(self, namespace: str, pod: str, uid: str) -> None:
        shutil.rmtree(self.pod_dir(namespace, pod, uid), ignore_errors=True)
