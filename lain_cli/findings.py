"""One problem or warning found in an app's values, cluster file or rendered objects.

``lain lint --json`` prints a list of these; the terminal shows each as one
line.  A finding names where it is as precisely as lain knows: the file and
line, the values key, and for a rendered object its kind, name and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    message: str
    severity: str = ERROR
    file: str | None = None
    line: int | None = None
    key: str | None = None  # values key path: deployments.web.replicaCount
    object: str | None = None  # rendered object: "Deployment dummy-web"
    field: str | None = None  # its field: spec.template.spec.containers[0].ports

    def where(self) -> str:
        place = f"{self.file}:{self.line}" if self.file and self.line else self.file or ""
        if self.key:
            place = f"{place}: {self.key}" if place else self.key
        return place

    def render(self) -> str:
        """``chart/values.yaml:3: deploy: message`` (or the object and field for rendered ones)."""
        if self.object:
            text = f"{self.object}: {self.field}: {self.message}" if self.field else f"{self.object}: {self.message}"
            if self.key:
                text += f" (from values key {self.key}" + (f", {self.file}:{self.line})" if self.line
                                                           else f", {self.file})" if self.file else ")")
            return text
        place = self.where()
        return f"{place}: {self.message}" if place else self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "object": self.object,
            "field": self.field,
        }
