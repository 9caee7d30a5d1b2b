"""How lain talks to the person (or CI log) on the other end.

Progress and diagnostics go to stderr; a command's actual result (rendered
manifests, ``--json`` documents, ``env show``) goes to stdout so it can be
piped.  Without a TTY every progress line starts with a timestamp, so CI logs
show where time went; on a TTY lines are colored unless ``--no-color`` or
``NO_COLOR`` says otherwise.  rich is only imported by the live panel.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, TextIO

_color: bool | None = None
_json_output = False
# Hook-log followers and watches print from threads: one write per line, under a lock.
_write_lock = threading.Lock()

_STYLES = {"step": "36", "ok": "32", "warn": "33", "error": "31", "dim": "2"}


def configure(*, color: bool | None = None, json_output: bool = False) -> None:
    """Apply the global ``--no-color`` / ``--json`` options."""
    global _color, _json_output
    _color = color
    _json_output = json_output


def json_requested() -> bool:
    return _json_output


def is_tty(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(stream: TextIO | None = None) -> bool:
    if _color is not None:
        return _color
    if os.environ.get("NO_COLOR"):
        return False
    return is_tty(stream or sys.stderr)


def interactive() -> bool:
    """True when a person is at a terminal (stdin and stdout are TTYs)."""
    return is_tty(sys.stdout) and is_tty(sys.stdin)


def _paint(text: str, style: str, stream: TextIO) -> str:
    if not use_color(stream):
        return text
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def _emit(prefix: str, message: str, style: str) -> None:
    stream = sys.stderr
    stamp = "" if is_tty(stream) else time.strftime("%H:%M:%S ")
    text = "".join(f"{stamp}{_paint(prefix, style, stream)}{line}\n" for line in message.splitlines() or [""])
    with _write_lock:
        stream.write(text)
        stream.flush()


def step(message: str) -> None:
    """A progress line: something lain is doing now."""
    _emit("» ", message, "step")


def info(message: str) -> None:
    _emit("  ", message, "dim")


def success(message: str) -> None:
    _emit("✓ ", message, "ok")


def warn(message: str) -> None:
    _emit("warning: ", message, "warn")


def failure(message: str) -> None:
    _emit("✗ ", message, "error")


def short_age(seconds: float | None, unknown: str = "-") -> str:
    """A compact age like kubectl's: ``45s``, ``5m``, ``2h``, ``3d`` (``unknown`` for None)."""
    if seconds is None:
        return unknown
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def out(text: str = "") -> None:
    """Result text for stdout."""
    print(text, flush=True)


def out_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str), flush=True)


def passthrough(line: str) -> None:
    """A line of another program's output (a job's log), as it came: stdout, or stderr
    with ``--json`` (stdout then holds the JSON document only)."""
    stream = sys.stderr if _json_output else sys.stdout
    with _write_lock:
        stream.write(line + "\n")
        stream.flush()
