"""The knobs the log agent needs (log lines, whether and how a container will crash),
read from pod annotations the way ``tests/kubesim/knobs.py`` reads them.

The status-changing knobs are read by the Stages themselves (``config/``); these are
the ones that decide what goes into log files, which only the harness can write.
"""

from __future__ import annotations

from typing import Any

PREFIX = "kubesim.lain.dev/"
Obj = dict[str, Any]


def knobs_of(pod: Obj) -> dict[str, str]:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return {k[len(PREFIX):]: str(v) for k, v in annotations.items() if k.startswith(PREFIX)}


def log_lines(pod: Obj, container: Obj) -> list[str]:
    """``logs-<container>`` or ``logs`` (real newlines or the two characters ``\\n``),
    else kubesim's start line."""
    knobs = knobs_of(pod)
    name = container.get("name", "")
    text = knobs.get(f"logs-{name}")
    if text is None:
        text = knobs.get("logs")
    if text:
        return text.replace("\\n", "\n").splitlines()
    return [f"kubesim: container {name} started (image {container.get('image', '')})"]


def pull_fails(pod: Obj, image: str) -> bool:
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return knobs_of(pod).get("pull") == "fail" or tag == "notfound"


def crash_code(pod: Obj) -> int | None:
    """The exit code of the main containers' first exit before a restart (restartPolicy
    Always and a ``crash`` knob, or OnFailure and a non-zero ``exit-code``), else None."""
    knobs = knobs_of(pod)
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    code_knob = knobs.get("exit-code", "")
    if policy == "Always":
        crash = knobs.get("crash", "")
        if crash in ("", "0"):
            return None
        if code_knob:
            return int(code_knob)
        return 137 if knobs.get("oom") in ("true", "1", "yes") else 1
    return int(code_knob) if policy == "OnFailure" and code_knob not in ("", "0") else None


def strings(knobs: dict[str, Any]) -> dict[str, str | None]:
    """Knob values as annotation values (``None`` removes one), like kubesim's ``_strings``;
    ``ready_after=1.5`` is ``ready-after`` (container names have no underscores)."""
    out: dict[str, str | None] = {}
    for key, value in knobs.items():
        key = PREFIX + key.removeprefix(PREFIX).replace("_", "-")
        if value is None:
            out[key] = None
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list):
            out[key] = "\n".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out
