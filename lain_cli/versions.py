"""What `lain version` reports: lain, helm, kubectl and, when asked, the cluster."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lain_cli import __version__, tools
from lain_cli.errors import LainError

if TYPE_CHECKING:
    from lain_cli.cli import GlobalOptions


UNSUPPORTED = " - unsupported"


@dataclass
class VersionReport:
    lain: str
    helm: str | None = None
    kubectl: str | None = None
    cluster: str | None = None
    cluster_name: str | None = None
    warnings: list[str] = field(default_factory=list)
    unreachable: bool = False  # the cluster was asked and did not answer

    @property
    def exit_code(self) -> int:
        """1 when the cluster could not be reached (a check in CI must see it), else 0."""
        return 1 if self.unreachable else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lain": self.lain,
            "helm": self.helm,
            "kubectl": self.kubectl,
            "cluster": {"name": self.cluster_name, "version": self.cluster, "reachable": not self.unreachable},
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
            # a helm lain refuses is still worth showing, marked as such
            setattr(report, name, _unsupported(name))
            continue
        setattr(report, name, f"{tool.version_text} ({tool.path})")
    if include_cluster and report.kubectl and not report.kubectl.endswith(UNSUPPORTED):
        _add_cluster(report, opts)
    return report


def _unsupported(name: str) -> str | None:
    """``vX.Y.Z (path) - unsupported`` for a tool that exists but that lain refuses, else None."""
    from lain_cli import proc

    try:
        path = tools.find_executable(name)
    except LainError:
        return None
    argv = [path, "version", "--short"] if name == "helm" else [path, "version", "--client"]
    result = proc.run(argv, timeout=30, check=False)
    version = tools.parse_version(result.stdout) if result.ok else None
    if version is None:
        return None
    return f"v{'.'.join(map(str, version))} ({path}){UNSUPPORTED}"


def _add_cluster(report: VersionReport, opts: GlobalOptions) -> None:
    from lain_cli import clusters, proc

    try:
        cluster = clusters.resolve(opts.cluster, namespace=opts.namespace, kube_context=opts.kube_context)
    except LainError as exc:
        report.warnings.append(f"cluster not checked: {exc.message}")
        return
    clusters.announce(cluster)
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
        report.unreachable = True
        return
    report.cluster = server
    report.warnings += cluster_warnings(tools.kubectl().version, server)


def cluster_warnings(kubectl_version: tuple[int, int, int], server: str) -> list[str]:
    """What is wrong with this kubectl against a cluster reporting ``server`` (a gitVersion)."""
    from lain_cli.lint import MIN_KUBE_VERSION

    server_v = tools.parse_version(server)
    if server_v is None:
        return [f"cannot read the cluster's version {server!r}"]
    warnings = []
    kubectl_text = "v" + ".".join(map(str, kubectl_version))
    # kubectl supports one minor version of skew either way with the API server
    if server_v[0] != kubectl_version[0] or abs(server_v[1] - kubectl_version[1]) > 1:
        warnings.append(
            f"kubectl {kubectl_text} and cluster {server} differ by more than one minor version, "
            "which kubectl does not support; use a kubectl within one minor version of the cluster"
        )
    minimum = tuple(int(part) for part in MIN_KUBE_VERSION.split("."))
    if server_v[:2] < minimum:
        warnings.append(
            f"cluster {server} is older than lain supports (Kubernetes {MIN_KUBE_VERSION}+); "
            "the manifests lain renders may use APIs it lacks"
        )
    return warnings
