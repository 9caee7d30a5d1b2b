"""Big values files for the size benchmark and the size tests: real-looking, of a given size.

``app``: many procs (at most 200, the size of a big app), each with a command,
resources, a probe and an env of a few hundred variables.  ``env``: one proc
whose env has as many variables as the size takes (100,000 at 4.8 MB), the
case where the chart once took minutes.
"""

from __future__ import annotations

from pathlib import Path

MB = 1_000_000
PER_PROC = 24_000  # bytes of values per proc in the ``app`` shape
MAX_PROCS = 200

_PROC = """\
  p{i}:
    replicaCount: 2
    containerPort: 8000
    command: ["/app/run", "--proc", "p{i}", "--workers", "4"]
    resources:
      limits: {{cpu: 1000m, memory: 512Mi}}
      requests: {{cpu: 100m, memory: 256Mi}}
    readinessProbe:
      httpGet: {{path: /healthz, port: 8000}}
      periodSeconds: 5
    env:
"""


def _env_line(proc: int, index: int) -> str:
    return f"      SETTING_{proc}_{index:05d}: \"https://service-{index % 97}.internal.example.com/v1/{proc}/{index}\"\n"


def values_text(size: int, shape: str = "app") -> str:
    """A valid chart/values.yaml of about ``size`` bytes (never less)."""
    parts = ["appname: big\ndeployments:\n"]
    total = len(parts[0])
    if shape == "env":
        head = _PROC.format(i=0)
        parts.append(head)
        total += len(head)
        index = 0
        while total < size:
            line = _env_line(0, index)
            parts.append(line)
            total += len(line)
            index += 1
        return "".join(parts)
    procs = max(1, min(MAX_PROCS, size // PER_PROC))
    per_proc = (size - total) // procs + 1
    for proc in range(procs):
        head = _PROC.format(i=proc)
        parts.append(head)
        written = len(head)
        index = 0
        while written < per_proc:
            line = _env_line(proc, index)
            parts.append(line)
            written += len(line)
            index += 1
        total += written
    return "".join(parts)


def write_app(root: Path, size: int, shape: str = "app") -> Path:
    """An app directory at ``root`` whose chart/values.yaml has about ``size`` bytes."""
    (root / "chart").mkdir(parents=True, exist_ok=True)
    (root / "chart" / "values.yaml").write_text(values_text(size, shape))
    return root
