"""Knobs: how a test makes a pod fail to pull, crash, never become ready, print logs, or a job fail.

Sources, later ones winning: pod annotations ``kubesim.lain.dev/<knob>`` (so an app's
``podAnnotations`` can set them), overrides by label selector, overrides by pod name (the
latter two set through the admin HTTP API or the Python API).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .selectors import labels_match, parse_label_selector

PREFIX = "kubesim.lain.dev/"
KNOWN = ("pull", "crash", "oom", "ready", "ready-after", "logs", "unschedulable", "exit-code",
         "duration", "stop-after", "stop-exit-code", "run")


@dataclass(frozen=True)
class Knobs:
    """The effective knobs of one pod."""

    raw: dict[str, str] = field(default_factory=dict)

    def _get(self, key: str) -> str | None:
        return self.raw.get(key)

    def pull_fails(self, image: str) -> bool:
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        return self._get("pull") == "fail" or tag == "notfound"

    @property
    def crashes(self) -> float:
        """How many times a container crashes before it stays up (``inf`` for always)."""
        value = self._get("crash")
        if value is None or value == "":
            return 0
        if value in ("always", "true"):
            return math.inf
        return float(int(value))

    @property
    def oom(self) -> bool:
        return self._get("oom") in ("true", "1", "yes")

    @property
    def never_ready(self) -> bool:
        return self._get("ready") in ("never", "false")

    @property
    def ready_after(self) -> float:
        return float(self._get("ready-after") or 0)

    @property
    def unschedulable(self) -> bool:
        return self._get("unschedulable") in ("true", "1", "yes")

    @property
    def exit_code(self) -> int | None:
        value = self._get("exit-code")
        return int(value) if value not in (None, "") else None

    @property
    def duration(self) -> float | None:
        value = self._get("duration")
        return float(value) if value not in (None, "") else None

    @property
    def stop_after(self) -> float | None:
        """Seconds the containers take to exit once the pod is deleted (``never``: ignore SIGTERM)."""
        value = self._get("stop-after")
        if value in (None, ""):
            return None
        return math.inf if value in ("never", "ignore") else float(value)

    @property
    def stop_exit_code(self) -> int | None:
        value = self._get("stop-exit-code")
        return int(value) if value not in (None, "") else None

    def log_lines(self, container: str) -> list[str]:
        text = self._get(f"logs-{container}")
        if text is None:
            text = self._get("logs")
        if not text:
            return []
        return text.replace("\\n", "\n").splitlines()


@dataclass
class KnobTable:
    """Overrides set at run time, merged over pod annotations by :meth:`for_pod`."""

    by_name: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    by_selector: list[tuple[str | None, str, dict[str, str]]] = field(default_factory=list)
    version: int = 0

    def set_for_pod(self, namespace: str, name: str, knobs: dict[str, Any]) -> None:
        self.by_name.setdefault((namespace, name), {}).update(_strings(knobs))
        self.version += 1

    def set_for_selector(self, namespace: str | None, selector: str, knobs: dict[str, Any]) -> None:
        parse_label_selector(selector)
        self.by_selector.append((namespace, selector, _strings(knobs)))
        self.version += 1

    def for_pod(self, pod: dict[str, Any]) -> Knobs:
        meta = pod.get("metadata", {})
        raw = {k[len(PREFIX):]: str(v) for k, v in (meta.get("annotations") or {}).items() if k.startswith(PREFIX)}
        labels = meta.get("labels") or {}
        for namespace, selector, knobs in self.by_selector:
            if (namespace is None or namespace == meta.get("namespace")) and labels_match(
                parse_label_selector(selector), labels
            ):
                raw.update(knobs)
        raw.update(self.by_name.get((meta.get("namespace", ""), meta.get("name", "")), {}))
        return Knobs({k: v for k, v in raw.items() if v is not None})


def _strings(knobs: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in knobs.items():
        key = key.removeprefix(PREFIX)
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = "\n".join(value) if isinstance(value, list) else str(value)
    return out
