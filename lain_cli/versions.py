"""What `lain version` reports: lain, helm, kubectl and, when asked, the cluster."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lain_cli import __version__, tools
from lain_cli.errors import LainError

if TYPE_CHECKING:
    from lain_cli.cli import GlobalOptions


@dataclass
class VersionReport:
    lain: str
    helm: str | None = None
    kubectl: str | None = None
    cluster: str | None = None
    cluster_name: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lain": self.lain,
            "helm": self.helm,
            "kubectl": self.kubectl,
            "cluster": {"name": self.cluster_name, "version": self.cluster},
            "warnings": self.warnings,
        }

    def lines(self) -> list[str]:
        rows = [("lain", self.lain), ("helm", self.helm or "not found"), ("kubectl", self.kubectl or "not found")]
        if self.cluster_name is not None or self.cluster is not None:
            label = f"cluster ({self.cluster_name})" if self.cluster_name else "cluster"
            rows.append((label, self.cluster or "unreachable"))
        width = max(len(k) for k, _ in rows)
        return [f"{k.ljust(width)}  {v}" for k, v in rows]


def collect(opts: GlobalOptions, include_cluster: bool) -> VersionReport:
    report = VersionReport(lain=__version__)
    for name in ("helm", "kubectl"):
        try:
            tool = tools.get_tool(name)
        except LainError as exc:
            report.warnings.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
            continue
        setattr(report, name, f"{tool.version_text} ({tool.path})")
    if include_cluster and report.kubectl:
        _add_cluster(report, opts)
    return report


def _add_cluster(report: VersionReport, opts: GlobalOptions) -> None:
    from lain_cli import clusters, proc

    try:
        cluster = clusters.resolve(opts.cluster)
    except LainError as exc:
        report.warnings.append(f"cluster not checked: {exc.message}")
        return
    report.cluster_name = cluster.name
    result = proc.run(
        [tools.kubectl().path, *cluster.kubectl_args(), "version", "-o", "json", "--request-timeout=5s"],
        check=False,
        timeout=15,
    )
    try:
        server = json.loads(result.stdout)["serverVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        tail = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        report.warnings.append(f"cluster {cluster.name} unreachable: {tail}")
        return
    report.cluster = server
    server_v = tools.parse_version(server)
    kubectl_v = tools.kubectl().version
    if server_v and abs(server_v[1] - kubectl_v[1]) > 1:
        report.warnings.append(
            f"kubectl {tools.kubectl().version_text} and cluster {server} differ by more than one "
            "minor version, which kubectl does not support"
        )
